// The dashboard in an incident, in real headless Chromium: requests in flight listed
// live, the one open longer than its route's p99 highlighted; then its process is
// SIGKILLed, and the gone agent stays selectable in the runtime panel, marked with how
// it ended, its samples and the request it had open.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import { waitForAgent } from './helpers/agents.js';
import { chromiumSkip, openPage } from './helpers/chromium.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit } from './helpers/http.js';
import { startService, type Service } from './helpers/service-process.js';

describe('dashboard in an incident, in headless Chromium', { skip: chromiumSkip, timeout: 90_000 }, () => {
  let collector: CollectorProcess;
  let doomed: Service;
  let survivor: Service;
  let browser: Browser;
  let page: Page;
  let errors: string[] = [];
  const env = (collector: string) => ({ NODEFLIGHT_COLLECTOR: collector, NODEFLIGHT_FLUSH_MS: '100', NODEFLIGHT_RUNTIME_PERIOD_MS: '250', NODEFLIGHT_SERVICE: 'incident-shop' });

  before(async () => {
    collector = await startCollectorProcess();
    doomed = await startService('http-app.mjs', { env: env(collector.url) });
    survivor = await startService('http-app.mjs', { env: env(collector.url) });
    await waitForAgent(collector.url, survivor.child.pid!, (a) => a.connected);
    ({ browser, page, errors } = await openPage());
  });

  after(async () => {
    await browser?.close();
    await doomed?.stop();
    await survivor?.stop();
    await collector?.stop();
  });

  test('open requests are listed live; the one older than its route p99 is highlighted', async () => {
    await hit(doomed.url, Array.from({ length: 20 }, () => '/sleep/1'));
    request(`${doomed.url}/sleep/60000`).then((r) => r.body.dump(), () => undefined);
    request(`${survivor.url}/hang`).then((r) => r.body.dump(), () => undefined);
    await page.goto(`${collector.url}/`);
    const read = () => page.$$eval('#inflight-table tbody tr', (trs) => trs.map((tr) => ({
      path: tr.querySelector('[data-col="path"]')!.textContent, route: tr.querySelector('[data-col="route"]')!.textContent, over: tr.classList.contains('over-p99'),
    })));
    // A snapshot taken while the short requests ran may show one of them for a flush: wait for both long ones.
    await page.waitForFunction(() => document.querySelectorAll('#inflight-table tbody tr').length === 2
      && document.querySelector('#inflight-table tr.over-p99 [data-col="path"]')?.textContent === '/sleep/60000', undefined, { timeout: 20_000 })
      .catch(async (err) => assert.fail(`${err.message}; rows: ${JSON.stringify(await read())}`));
    assert.deepEqual(await read(), [{ path: '/sleep/60000', route: '/sleep/:id', over: true }, { path: '/hang', route: '/hang', over: false }]);
    assert.match((await page.textContent('#inflight-summary'))!, /^2 open; 1 older than their route's p99$/);
    assert.equal(await page.isHidden('#inflight-empty'), true);
    // Live: the age goes on growing.
    const age = Number(await page.getAttribute('#inflight-table tr.over-p99 [data-col="age"]', 'data-value'));
    await page.waitForFunction((a) => Number(document.querySelector('#inflight-table tr.over-p99 [data-col="age"]')?.getAttribute('data-value')) > a + 500, age, { timeout: 10_000 });
    assert.deepEqual(errors, []);
  });

  test('a SIGKILLed agent stays selectable in the runtime panel, marked gone, with its samples and open request', async () => {
    await page.waitForFunction(() => Number(document.getElementById('runtime-summary')!.dataset.samples) >= 3, undefined, { timeout: 20_000 });
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const gone = await page.waitForSelector('#runtime-agent option[data-gone="reset"]', { state: 'attached', timeout: 20_000 })
      .catch(async (err) => assert.fail(`${err.message}; options: ${await page.innerHTML('#runtime-agent')}; agents: ${JSON.stringify((await getJson(`${collector.url}/v1/agents`)).body)}`));
    assert.match((await gone.textContent())!, new RegExp(`incident-shop · .*:${doomed.child.pid} · gone \\(reset, \\d\\d:\\d\\d:\\d\\d\\)`));
    assert.equal(await page.$$eval('#runtime-agent option', (o) => o.length), 2, 'the connected agent and the gone one');
    await page.selectOption('#runtime-agent', await gone.getAttribute('value'));
    await page.waitForSelector('#runtime-gone[data-reason="reset"]', { timeout: 10_000 });
    const banner = (await page.textContent('#runtime-gone'))!;
    assert.match(banner, /^Disconnected at \d\d:\d\d:\d\d\.\d{3}: reset \(the connection ended without a close frame.*\); 1 open at its last snapshot: GET \/sleep\/60000 \([\d,.]+ ms\)/);
    await page.waitForFunction(() => Number(document.getElementById('runtime-summary')!.dataset.samples) >= 3, undefined, { timeout: 10_000 });
    assert.match((await page.textContent('#runtime-summary'))!, /^at its end: heap/);
    assert.equal(await page.isHidden('#runtime-empty'), true);
    // The gone agent's request is no longer "in flight now".
    await page.waitForFunction(() => document.querySelectorAll('#inflight-table tbody tr').length === 1, undefined, { timeout: 10_000 });
    assert.deepEqual(errors, []);
  });
});
