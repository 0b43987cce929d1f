// Debian's Chromium, headless, for the dashboard tests; .ci/run installs it.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/** For describe(): false, or why the dashboard tests cannot run here. */
export const chromiumSkip: false | string = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium package (.ci/run does) to run the dashboard test`;

export interface OpenPage {
  browser: Browser;
  page: Page;
  /** Console errors and uncaught exceptions of the page, as they come. */
  errors: string[];
}

/** A browser with one 1440x900 page whose errors are collected. */
export async function openPage(): Promise<OpenPage> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return { browser, page, errors };
}
