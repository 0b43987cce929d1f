// The dashboard's runtime panel in real headless Chromium: a service that stalls its
// loop and allocates shows its samples in the panel's charts, the latest figures, and
// its pauses (which the latency chart marks), with no console error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkip, openPage } from './helpers/chromium.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { hit } from './helpers/http.js';
import { startService, type Service } from './helpers/service-process.js';

describe('dashboard runtime panel in headless Chromium', { skip: chromiumSkip, timeout: 60_000 }, () => {
  let collector: CollectorProcess;
  let service: Service;
  let browser: Browser;
  let page: Page;
  let errors: string[] = [];

  before(async () => {
    collector = await startCollectorProcess();
    service = await startService('streams-app.mjs', {
      env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_FLUSH_MS: '100', NODEFLIGHT_RUNTIME_PERIOD_MS: '250', NODEFLIGHT_SERVICE: 'runtime-shop' },
    });
    ({ browser, page, errors } = await openPage());
  });

  after(async () => {
    await browser?.close();
    await service?.stop();
    await collector?.stop();
  });

  test('samples, latest figures and pauses of the selected service\'s agent', async () => {
    await hit(service.url, ['/block/120', '/alloc/10', '/sleep/5', '/alloc/10'], 1);
    await page.goto(`${collector.url}/`);
    await page.waitForFunction(() => Number(document.getElementById('runtime-summary')!.dataset.samples) >= 3, undefined, { timeout: 20_000 });
    assert.ok(Number(await page.getAttribute('#runtime-loop-chart', 'data-points')) >= 3);
    assert.ok(Number(await page.getAttribute('#runtime-memory-chart', 'data-points')) >= 3);
    assert.ok(await page.$('#runtime-loop-chart canvas'), 'uPlot drew the loop chart');
    const summary = (await page.textContent('#runtime-summary'))!;
    assert.match(summary, /heap [\d.]+ of [\d.]+ MB, RSS [\d.]+ MB/);
    assert.match(summary, /[1-9]\d* GC pauses/);
    assert.match(summary, /[1-9]\d* stalls?/);
    assert.match((await page.textContent('#runtime-agent'))!, /runtime-shop/);
    // Next to the process's CPU, the recorder's own share of it, as the agent measures it.
    await page.waitForFunction(() => document.getElementById('runtime-summary')!.textContent!.includes('the recorder'), undefined, { timeout: 20_000 })
      .catch(async () => assert.fail(`no recorder cost in: ${await page.textContent('#runtime-summary')}`));
    // Four requests: none had its hooks timed (1 in 256), so no per-request figure yet.
    const cost = /CPU ([\d.]+)% \(the recorder: ([\d.]+)% of it\)/.exec((await page.textContent('#runtime-summary'))!);
    assert.ok(cost, await page.textContent('#runtime-summary') ?? '');
    assert.ok(Number(cost[2]) > 0 && Number(cost[2]) <= 100, cost[0]);
    assert.deepEqual(errors, []);
  });
});
