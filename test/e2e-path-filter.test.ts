// Path filters cannot stall the host: the filters that backtracked for seconds on a
// crafted path, set by environment or pushed live through a real collector, leave a
// real instrumented service answering; a filter that cannot be matched in linear time
// is refused where it is set (a warning at start, a 400 from the collector).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { waitForAgent } from './helpers/agents.js';
import { startCollectorProcess } from './helpers/collector-process.js';
import { getJson, sendJson } from './helpers/http.js';
import { startService, waitFor, type Service } from './helpers/service-process.js';

/** A backtracking engine blocks the loop for seconds on each of these; a linear one for microseconds. */
const HEALTH_WITHIN_MS = 2000;
const TEST = { timeout: 30_000 };

/**
 * Sends the crafted request three times at once and, once the first is answered (its
 * finish, where the filter runs, comes next), a /health request that must be answered
 * within the bound: a backtracking engine blocks the loop for each of the three in turn.
 */
async function nastyThenHealth(svc: Service, nastyPath: string): Promise<void> {
  const answered = Array.from({ length: 3 }, async () => {
    const nasty = await request(svc.url + nastyPath);
    await nasty.body.dump();
    return nasty.statusCode;
  });
  await Promise.race(answered);
  const started = Date.now();
  let health;
  try {
    health = await request(`${svc.url}/health`, { signal: AbortSignal.timeout(HEALTH_WITHIN_MS) });
  } catch (err) {
    assert.fail(`/health was not answered within ${HEALTH_WITHIN_MS} ms after ${JSON.stringify(nastyPath.slice(0, 30))}... (${(err as Error).name}); the filter blocked the event loop`);
  }
  await health.body.dump();
  assert.equal(health.statusCode, 200);
  assert.ok(Date.now() - started < HEALTH_WITHIN_MS, `/health took ${Date.now() - started} ms`);
  assert.deepEqual(await Promise.all(answered), [200, 200, 200]);
}

test('NODEFLIGHT_PATH_FILTER=/(a*){12}: a 24-character path does not stall the service', TEST, async (t) => {
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_PATH_FILTER: '/(a*){12}' } });
  t.after(() => svc.stop());
  await nastyThenHealth(svc, '/' + 'a'.repeat(22) + '!');
  assert.equal(svc.stderr(), '', 'the filter is accepted without a warning');
});

test('NODEFLIGHT_PATH_FILTER=/api/.*/.*/.*/x: a path of 2,043 slashes does not stall the service', TEST, async (t) => {
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_PATH_FILTER: '/api/.*/.*/.*/x' } });
  t.after(() => svc.stop());
  await nastyThenHealth(svc, '/api/' + '/'.repeat(2043));
  assert.equal(svc.stderr(), '');
});

test('.*.*.*.*.*.*.*x pushed live with PUT /v1/settings: the service keeps answering and records by it', TEST, async (t) => {
  const collector = await startCollectorProcess();
  t.after(() => collector.stop());
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'filter-svc', NODEFLIGHT_FLUSH_MS: '50' } });
  t.after(() => svc.stop());
  const agent = await waitForAgent(collector.url, svc.child.pid!, (a) => a.connected);
  const filter = '.*.*.*.*.*.*.*x';
  const put = await sendJson('PUT', `${collector.url}/v1/settings?service=filter-svc`, { pathFilter: filter });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  await waitFor(async () => {
    const { body } = await getJson(`${collector.url}/v1/agents/${agent.id}/settings`);
    return body.acknowledged.version === put.body.version ? true : undefined;
  }, 10_000, () => 'the agent did not acknowledge the filter');

  await nastyThenHealth(svc, '/' + 'a'.repeat(70));
  // The filter still works: the nasty paths and /health are filtered out, /orders/x is recorded.
  const ok = await request(`${svc.url}/orders/x`);
  await ok.body.dump();
  const a = await waitForAgent(collector.url, svc.child.pid!, (x) => x.counters.recorded === 1 && x.counters.filtered === 4 && x.received === 1);
  assert.equal(a.counters.dropped, 0);
  const { body } = await getJson(`${collector.url}/v1/events?service=filter-svc&limit=5`);
  assert.deepEqual(body.events.map((e: { path: string }) => e.path), ['/orders/x']);
});

test('a filter a linear engine cannot match: 400 from the collector with the reason, the agent keeps its filter', TEST, async (t) => {
  const collector = await startCollectorProcess();
  t.after(() => collector.stop());
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'refuse-svc', NODEFLIGHT_PATH_FILTER: '/orders/.*' } });
  t.after(() => svc.stop());
  const agent = await waitForAgent(collector.url, svc.child.pid!, (a) => a.connected);
  const refused: Array<[string, RegExp]> = [
    ['/(a)\\1', /backreferences .* cannot be matched in linear time/],
    ['/a(?=b)', /lookahead .* cannot be matched in linear time/],
    ['/x{5000}', /program of 5001 instructions .*at most 4096/],
  ];
  for (const [pathFilter, reason] of refused) {
    const put = await sendJson('PUT', `${collector.url}/v1/settings?service=refuse-svc`, { pathFilter });
    assert.equal(put.status, 400, pathFilter);
    assert.equal(put.body.errors.length, 1);
    assert.match(put.body.errors[0], reason);
  }
  const { body } = await getJson(`${collector.url}/v1/agents/${agent.id}/settings`);
  assert.equal(body.acknowledged.settings.pathFilter, '/orders/.*');
  assert.equal(svc.stderr(), '');
});

test('a refused NODEFLIGHT_PATH_FILTER: one [nodeflight] warning with the reason, and the default filter', TEST, async (t) => {
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_PATH_FILTER: '/(a)\\1' } });
  t.after(() => svc.stop());
  await nastyThenHealth(svc, '/orders/1');
  const lines = svc.stderr().split('\n').filter(Boolean);
  assert.equal(lines.length, 1, svc.stderr());
  assert.match(lines[0]!, /^\[nodeflight\] NODEFLIGHT_PATH_FILTER "\/\(a\)\\\\1" .*backreferences .* cannot be matched in linear time.*; using the default \(\.\*\)$/);
});
