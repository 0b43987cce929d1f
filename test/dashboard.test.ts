// The dashboard end to end, in real headless Chromium (Debian's, driven by
// playwright-core): a real collector with a token, a real instrumented service, bounded
// load. The page must show the REST API's numbers, follow the load live, change the
// agent's settings (asking for the token once) and show the acknowledgement, show a
// bad regular expression's error inline, dump a recording, and log no console error.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { request } from 'undici';
import { drained, waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit, sendJson } from './helpers/http.js';
import { AgentClient, counters } from './helpers/ingest-client.js';
import { startService, waitFor, type Service } from './helpers/service-process.js';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'dashboard-test-token';
const outDir = fileURLToPath(new URL('../../test-output/', import.meta.url));
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: install Debian's chromium package (.ci/run does) to run the dashboard test`;

interface Logged { text: string; url: string }

describe('dashboard in headless Chromium', { skip, timeout: 60_000 }, () => {
  let collector: CollectorProcess;
  let service: Service;
  let browser: Browser;
  let page: Page;
  const consoleErrors: Logged[] = [];
  const requested: string[] = [];
  /** Requests sent so far to the instrumented service. */
  let sent = 0;

  const load = async (paths: string[]): Promise<void> => {
    const statuses = await hit(service.url, paths);
    sent += statuses.length;
  };
  const rest = async <T = any>(path: string): Promise<T> => (await getJson<T>(collector.url + path)).body;

  before(async () => {
    collector = await startCollectorProcess({ token: TOKEN });
    service = await startService('http-app.mjs', {
      env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_FLUSH_MS: '100', NODEFLIGHT_TOKEN: TOKEN, NODEFLIGHT_SERVICE: 'shop' },
    });
    // A second service, from a scripted agent that sends one batch, reports 3 events
    // lost, and leaves.
    const other = await AgentClient.connect(collector.url, TOKEN);
    await other.handshake('billing-agent', 'billing');
    await other.batch(1, [{ path: '/invoices/1', route: '/invoices/:id', durationMs: 3 }, { path: '/invoices/2', route: '/invoices/:id', durationMs: 4 }], counters(2, { dropped: 3 }));
    await other.close();

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push({ text: m.text(), url: m.location().url });
    });
    page.on('pageerror', (e) => consoleErrors.push({ text: `uncaught: ${e.stack ?? e.message}`, url: '' }));
    page.on('request', (r) => requested.push(r.url()));
  });

  after(async () => {
    await browser?.close();
    await service?.stop();
    await collector?.stop();
  });

  /** The routes table as shown: id and every column's data-value. */
  const shownRoutes = (): Promise<Array<Record<string, string>>> =>
    page.$$eval('#routes-table tbody tr', (rows) => rows.map((tr) => {
      const row: Record<string, string> = { id: (tr as HTMLElement).dataset.routeId! };
      for (const cell of tr.querySelectorAll<HTMLElement>('[data-col]')) row[cell.dataset.col!] = cell.dataset.value!;
      return row;
    }));

  test('the routes table shows the numbers the REST API gives', async () => {
    const paths = Array.from({ length: 240 }, (_, i) => ['/orders/' + i, '/sleep/3', '/status/500', '/status/404', '/health', '/sleep/1'][i % 6]!);
    await load(paths);
    await waitForAgent(collector.url, service.child.pid!, drained(sent));
    await page.goto(`${collector.url}/`);
    await page.waitForSelector('#live-status[data-state="live"]');

    const { routes } = await rest<{ routes: any[] }>('/v1/routes');
    assert.equal(routes.length, 5);
    const expected = routes.map((r) => ({
      id: r.id,
      service: r.service,
      method: r.method,
      route: r.route,
      count: String(r.count),
      errors: String(r.count ? Math.min(1, ((r.status['5xx'] ?? 0) + r.aborted) / r.count) : 0),
      p50: String(r.latencyMs.p50),
      p90: String(r.latencyMs.p90),
      p99: String(r.latencyMs.p99),
      p999: String(r.latencyMs.p999),
      max: String(r.latencyMs.max),
    })).sort((a, b) => a.id.localeCompare(b.id));
    const strip = ({ rate: _rate, ...row }: Record<string, string>) => row;
    const shown = await waitFor(async () => {
      const rows = (await shownRoutes()).map(strip).sort((a, b) => a.id!.localeCompare(b.id!));
      return JSON.stringify(rows) === JSON.stringify(expected) ? rows : undefined;
    }, 5000, () => 'the routes table never matched GET /v1/routes');
    assert.equal(shown.length, 5);
    // Shown text too: the count of the busiest route, grouped as people read it.
    const orders = routes.find((r) => r.route === '/orders/:id');
    assert.equal(await page.textContent(`tr[data-route-id="${orders.id}"] [data-col="count"]`), String(orders.count));
    assert.equal(await page.textContent(`tr[data-route-id="${orders.id}"] [data-col="errors"]`), '0%');
    const failing = routes.find((r) => r.route === '/status/:id');
    assert.equal(await page.textContent(`tr[data-route-id="${failing.id}"] [data-col="errors"]`), '50.0%');
  });

  test('the agents table lists every agent and warns about the events one of them dropped', async () => {
    const { agents } = await rest<{ agents: any[] }>('/v1/agents');
    assert.equal(agents.length, 2);
    const shown = await page.$$eval('#agents-table tbody tr', (rows) => rows.map((tr) => {
      const col = (c: string) => tr.querySelector<HTMLElement>(`[data-col="${c}"]`)!;
      return [(tr as HTMLElement).dataset.agentId, col('state').textContent, col('service').textContent, col('pid').textContent, col('node').textContent, col('recorded').dataset.value, col('dropped').dataset.value];
    }));
    assert.deepEqual(shown.sort(), agents.map((a) => [a.id, a.connected ? 'connected' : 'disconnected', a.service, String(a.pid), a.nodeVersion, String(a.counters.recorded), String(a.counters.dropped)]).sort());
    assert.match(String(await page.textContent('#agents-warning')), /^⚠ 3 recorded events were dropped by billing · test-host:4242: /);
    assert.equal(await page.isVisible('#agents-warning'), true);
    assert.equal(await page.textContent('#overview dd[data-key="dropped"]'), '3');
  });

  test('headers sort by mouse and keyboard; the service filter narrows the table', async () => {
    const order = async (col: string) => (await shownRoutes()).map((r) => r[col]!);
    await page.click('th[data-key="p99"] button');
    assert.equal(await page.getAttribute('th[data-key="p99"]', 'aria-sort'), 'descending');
    const p99 = (await order('p99')).map(Number);
    assert.deepEqual(p99, [...p99].sort((a, b) => b - a));

    await page.focus('th[data-key="route"] button');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute('th[data-key="route"]', 'aria-sort'), 'ascending');
    const names = await order('route');
    assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b)));
    await page.keyboard.press('Space');
    assert.equal(await page.getAttribute('th[data-key="route"]', 'aria-sort'), 'descending');
    assert.equal(await page.getAttribute('th[data-key="p99"]', 'aria-sort'), null);

    await page.selectOption('#service-filter', 'billing');
    assert.deepEqual(await order('service'), ['billing']);
    await page.selectOption('#service-filter', 'shop');
    assert.deepEqual([...new Set(await order('service'))], ['shop']);
    await page.selectOption('#service-filter', '');
    assert.equal((await shownRoutes()).length, 5);
  });

  test('the charts of a selected route follow the load', async () => {
    const { routes } = await rest<{ routes: any[] }>('/v1/routes');
    const sleep = routes.find((r) => r.route === '/sleep/:id');
    await page.click(`tr[data-route-id="${sleep.id}"] button.link`);
    assert.equal(await page.getAttribute(`tr[data-route-id="${sleep.id}"]`, 'aria-current'), 'true');
    // The selection is in the address, so a reload (or a shared link) shows the same route.
    assert.equal(new URLSearchParams(new URL(page.url()).hash.slice(1)).get('route'), sleep.id);
    await page.waitForFunction((n) => Number(document.getElementById('latency-chart')!.dataset.events) === n, sleep.count);
    const points = Number(await page.getAttribute('#latency-chart', 'data-points'));
    assert.ok(Number(await page.getAttribute('#hdr-chart', 'data-points')) > 10);
    assert.ok(await page.$('#latency-chart canvas'), 'uPlot drew the chart');

    // Bounded load until the chart has shown more events twice and a new interval (5 s) began.
    const seen = new Set<string>();
    let stop = false;
    const loading = (async () => {
      for (let i = 0; i < 60 && !stop; i++) await load(Array.from({ length: 20 }, () => '/sleep/2'));
    })();
    try {
      await waitFor(async () => {
        const events = Number(await page.getAttribute('#latency-chart', 'data-events'));
        if (events > sleep.count) seen.add(String(events));
        const now = Number(await page.getAttribute('#latency-chart', 'data-points'));
        return seen.size >= 2 && now > points ? true : undefined;
      }, 12_000, () => `the latency chart did not follow the load: ${[...seen]} events, ${points} points at first`);
    } finally {
      stop = true;
      await loading;
    }
  });

  test('a settings change from the page reaches the agent, asks for the token once, and is acknowledged', async () => {
    const agent = await waitForAgent(collector.url, service.child.pid!, drained(sent));
    await page.selectOption('#settings-scope', '');
    await page.fill('#settings-path-filter', '/orders/.*');
    await page.fill('#settings-threshold', '0');
    await page.click('#settings-apply');
    // The collector has a token and the tab has none yet: the page asks.
    await page.waitForSelector('#token-dialog[open]');
    await page.fill('#token-input', TOKEN);
    await page.click('#token-save');
    await page.waitForSelector(`#ack-table tr[data-agent-id="${agent.id}"][data-state="acknowledged"]`, { timeout: 5000 });
    assert.equal(await page.textContent('#token-button'), 'Token ✓');

    const applied = await waitForAgent(collector.url, service.child.pid!, (a) => a.settings.pathFilter === '/orders/.*');
    await load([...Array.from({ length: 10 }, (_, i) => `/orders/${i}`), ...Array.from({ length: 15 }, () => '/health')]);
    const after = await waitForAgent(collector.url, service.child.pid!, (a) => a.counters.filtered >= applied.counters.filtered + 15 && drained(applied.counters.recorded + 10)(a));
    assert.equal(after.counters.filtered, applied.counters.filtered + 15);
    assert.equal(after.counters.recorded, applied.counters.recorded + 10);
    // The agents table shows it too.
    await page.waitForSelector(`#agents-table tr[data-agent-id="${agent.id}"] [data-col="filtered"][data-value="${after.counters.filtered}"]`);
  });

  test('a bad regular expression is refused with the collector\'s error shown inline', async () => {
    const before = (await rest('/v1/settings')).settings;
    await page.fill('#settings-path-filter', '([a-z');
    await page.click('#settings-apply');
    await page.waitForSelector('#settings-errors:not([hidden])');
    const { status, body } = await sendJson('PUT', `${collector.url}/v1/settings`, { pathFilter: '([a-z', thresholdMs: 0 }, { authorization: `Bearer ${TOKEN}` });
    assert.equal(status, 400);
    const shown = await page.$$eval('#settings-errors li', (items) => items.map((li) => li.textContent));
    assert.deepEqual(shown, body.errors);
    assert.equal(await page.getAttribute('#settings-path-filter', 'aria-invalid'), 'true');
    assert.deepEqual((await rest('/v1/settings')).settings, before, 'nothing changed');
    // Typing again clears the mark.
    await page.fill('#settings-path-filter', '.*');
    assert.equal(await page.getAttribute('#settings-path-filter', 'aria-invalid'), null);
  });

  test('a recording dump started from the page completes and downloads', async () => {
    await page.click('#recording-start');
    const item = await page.waitForSelector('#recording-list li[data-status="COMPLETED"]', { timeout: 10_000 });
    const id = await item.getAttribute('data-request-id');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#recording-list li[data-request-id="${id}"] a`)]);
    const file = await download.path();
    const direct = await fetch(`${collector.url}/v1/recordings/${id}/file`);
    assert.equal(direct.status, 200);
    assert.deepEqual(readFileSync(file), Buffer.from(await direct.arrayBuffer()));
  });

  test('a hidden tab leaves the live feed and comes back to it when shown', async () => {
    const setHidden = (hidden: boolean) => page.evaluate((h) => {
      Object.defineProperty(document, 'hidden', { value: h, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
    await setHidden(true);
    await page.waitForSelector('#live-status[data-state="paused"]');
    await setHidden(false);
    await page.waitForSelector('#live-status[data-state="live"]');
    // A reload keeps the route chosen before.
    const chosen = await page.getAttribute('#routes-table tr[aria-current="true"]', 'data-route-id');
    await page.reload();
    await page.waitForSelector(`#routes-table tr[aria-current="true"][data-route-id="${chosen}"]`);
  });

  test('no console errors but the two refusals the page was made to meet; nothing secret or external requested', async () => {
    mkdirSync(outDir, { recursive: true });
    // The screenshot shows a request in flight (the service's stop ends it).
    request(`${service.url}/sleep/60000`).then((r) => r.body.dump(), () => undefined);
    await page.waitForSelector('#inflight-table tbody tr', { timeout: 20_000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${outDir}dashboard.png`, fullPage: true });
    // Chromium logs a failed fetch as a console error: the bad regular expression's 400
    // must be the only one (the 401 that made the page ask for the token, if logged,
    // at most once). Anything else is a failure.
    const refused = (status: number) => (e: Logged) => e.text.includes(`status of ${status}`) && e.url === `${collector.url}/v1/settings`;
    assert.deepEqual(consoleErrors.filter((e) => !refused(401)(e) && !refused(400)(e)), []);
    assert.equal(consoleErrors.filter(refused(400)).length, 1, JSON.stringify(consoleErrors));
    assert.ok(consoleErrors.filter(refused(401)).length <= 1, JSON.stringify(consoleErrors));
    assert.ok(requested.length > 10);
    for (const url of requested) {
      assert.ok(url.startsWith(`${collector.url}/`), `external request: ${url}`);
      assert.ok(!url.includes(TOKEN), `the token in a URL: ${url}`);
    }
  });
});
