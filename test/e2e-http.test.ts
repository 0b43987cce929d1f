// A plain node:http service, instrumented as a user would, streaming to a real
// collector process; the collector's numbers are checked against what was sent.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { drained, waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit } from './helpers/http.js';
import { startService, type Service } from './helpers/service-process.js';

let collector: CollectorProcess;
before(async () => { collector = await startCollectorProcess(); });
after(async () => { await collector.stop(); });

interface RouteView { id: string; service: string; method: string; route: string; count: number; status: Record<string, number>; latencyMs: Record<string, number> }

async function routesOf(service: string): Promise<RouteView[]> {
  return (await getJson<{ routes: RouteView[] }>(`${collector.url}/v1/routes?service=${encodeURIComponent(service)}`)).body.routes;
}

test('every request becomes one event; counts, statuses and percentiles per route are exact', async (t) => {
  const svc: Service = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'e2e-http', NODEFLIGHT_FLUSH_MS: '50' } });
  t.after(() => svc.stop());
  // A known latency distribution: 30 requests at 5 ms, 10 at 40 ms; plus ids and errors.
  const paths = [
    ...Array.from({ length: 30 }, () => '/sleep/5'), ...Array.from({ length: 10 }, () => '/sleep/40'),
    ...Array.from({ length: 25 }, (_, i) => `/orders/${1000 + i}?expand=items`),
    ...Array.from({ length: 4 }, () => '/status/503'), ...Array.from({ length: 3 }, () => '/status/404'),
  ];
  await hit(svc.url, paths, 4);
  const agent = await waitForAgent(collector.url, svc.child.pid!, drained(paths.length));
  assert.equal(agent.counters.recorded, paths.length);
  assert.equal(agent.counters.dropped, 0);
  assert.equal(agent.received, paths.length);

  const routes = await routesOf('e2e-http');
  const byName = new Map(routes.map((r) => [r.route, r]));
  assert.deepEqual([...byName.keys()].sort(), ['/orders/:id', '/sleep/:id', '/status/:id']);
  assert.equal(byName.get('/orders/:id')!.count, 25);
  assert.equal(byName.get('/status/:id')!.status['5xx'], 4);
  assert.equal(byName.get('/status/:id')!.status['4xx'], 3);
  const sleep = byName.get('/sleep/:id')!;
  assert.equal(sleep.count, 40);
  assert.equal(sleep.status['2xx'], 40);
  // Server-side durations are never less than the sleep (upper bounds would be a timed test).
  // libuv starts a timer from its cached loop time, so it can fire a little under its delay.
  assert.ok(sleep.latencyMs.min >= 4, `min ${sleep.latencyMs.min}`);
  assert.ok(sleep.latencyMs.p50 >= 4, `p50 ${sleep.latencyMs.p50}`);
  assert.ok(sleep.latencyMs.p99 >= 39, `p99 ${sleep.latencyMs.p99}`);

  // The percentiles are those of the very events recorded, within HDR's 3 digits.
  const { body } = await getJson<{ events: Array<{ durationMs: number; route: string; path: string }> }>(`${collector.url}/v1/events?service=e2e-http&route=${encodeURIComponent('/sleep/:id')}&limit=1000`);
  const durations = body.events.map((e) => e.durationMs).sort((a, b) => a - b);
  assert.equal(durations.length, 40);
  for (const [p, key] of [[50, 'p50'], [90, 'p90'], [99, 'p99']] as const) {
    const exact = durations[Math.max(0, Math.ceil((p / 100) * durations.length) - 1)]!;
    const got = sleep.latencyMs[key]!;
    assert.ok(Math.abs(got - exact) <= exact * 0.001 + 0.002, `${key}: collector ${got} vs exact ${exact}`);
  }
  assert.ok(Math.abs(sleep.latencyMs.max - durations[durations.length - 1]!) <= durations[durations.length - 1]! * 0.001 + 0.002);
  const orders = (await getJson<{ events: Array<{ path: string }> }>(`${collector.url}/v1/events?service=e2e-http&route=${encodeURIComponent('/orders/:id')}&limit=5`)).body.events;
  assert.equal(orders.length, 5);
  for (const e of orders) assert.match(e.path, /^\/orders\/10\d\d$/, 'paths are kept without their query string');
});

test('path filter and threshold from the environment decide what is recorded; the rest is counted as filtered', async (t) => {
  const svc = await startService('http-app.mjs', {
    // A threshold far above the fast requests: a 1 ms request of a fresh process on a
    // loaded machine once took over 20 ms.
    env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'e2e-filter', NODEFLIGHT_FLUSH_MS: '50', NODEFLIGHT_PATH_FILTER: '/sleep/.*', NODEFLIGHT_THRESHOLD_MS: '150' },
  });
  t.after(() => svc.stop());
  const paths = ['/sleep', '/sleep/1', '/sleep/1', '/sleep/300', '/sleep/300', '/sleep/300', '/orders/1', '/orders/2', '/x/sleep/300'];
  await hit(svc.url, paths, 3);
  const agent = await waitForAgent(collector.url, svc.child.pid!, (a) => a.counters.recorded + a.counters.filtered === paths.length && drained(0)(a));
  assert.equal(agent.counters.recorded, 3, 'only /sleep/300 is both matched (whole path) and slow enough');
  assert.equal(agent.counters.filtered, 6);
  const routes = await routesOf('e2e-filter');
  assert.deepEqual(routes.map((r) => [r.route, r.count]), [['/sleep/:id', 3]]);
});

test('a request whose client goes away before the response is recorded as aborted', async (t) => {
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'e2e-abort', NODEFLIGHT_FLUSH_MS: '50' } });
  t.after(() => svc.stop());
  const { request } = await import('undici');
  const ac = new AbortController();
  const pending = request(`${svc.url}/hang`, { signal: ac.signal }).catch((e: Error) => e);
  await new Promise((r) => setTimeout(r, 100));
  ac.abort();
  assert.ok((await pending) instanceof Error);
  await waitForAgent(collector.url, svc.child.pid!, drained(1));
  const { body } = await getJson<{ events: Array<{ path: string; aborted: boolean; durationMs: number }> }>(`${collector.url}/v1/events?service=e2e-abort`);
  assert.equal(body.events.length, 1);
  assert.equal(body.events[0]!.path, '/hang');
  assert.equal(body.events[0]!.aborted, true);
  assert.ok(body.events[0]!.durationMs > 0 && body.events[0]!.durationMs < 60_000);
});

test('a CommonJS service instrumented with --require streams too', async (t) => {
  const svc = await startService('commonjs-app.cjs', { preload: 'require', env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'e2e-cjs', NODEFLIGHT_FLUSH_MS: '50' } });
  t.after(() => svc.stop());
  await hit(svc.url, ['/a/1', '/a/2', '/a/3']);
  await waitForAgent(collector.url, svc.child.pid!, drained(3));
  assert.deepEqual((await routesOf('e2e-cjs')).map((r) => [r.route, r.count]), [['/a/:id', 3]]);
});
