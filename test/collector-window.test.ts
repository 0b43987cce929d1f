// Time-driven behaviour with the collector in-process and its clock injected: windows
// over interval histograms, EWMA rates, intervals for charts, and the memory caps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCollector } from '../collector/index.js';
import { getJson } from './helpers/http.js';
import { AgentClient, type Row } from './helpers/ingest-client.js';

/** A multiple of the 5 s interval, so that interval boundaries are easy to reason about. */
const T0 = 1_700_000_000_000;

async function setup(t: import('node:test').TestContext, opts: { maxRoutes?: number; maxRecentEvents?: number } = {}) {
  let now = T0;
  const collector = await startCollector({ port: 0, clock: () => now, ...opts });
  t.after(() => collector.close());
  const agent = await AgentClient.connect(collector.url);
  t.after(() => agent.close());
  await agent.handshake('clock-agent', 'clock-svc');
  let seq = 0;
  return {
    collector,
    send: (rows: Row[]) => agent.batch(++seq, rows),
    advance: (ms: number) => { now += ms; },
    routes: async (query = ''): Promise<any[]> => (await getJson(`${collector.url}/v1/routes?service=clock-svc${query}`)).body.routes,
  };
}

const rows = (n: number, durationMs: number, route = '/slow'): Row[] => Array.from({ length: n }, () => ({ durationMs, path: route }));

test('window=60s answers for recent traffic only; no window is everything since start', async (t) => {
  const c = await setup(t);
  await c.send(rows(50, 100));
  c.advance(120_000);
  await c.send(rows(30, 1));

  const [all] = await c.routes();
  assert.equal(all.count, 80);
  assert.equal(all.latencyMs.max, 100);
  const [recent] = await c.routes('&window=60s');
  assert.equal(recent.count, 30);
  assert.equal(recent.latencyMs.max, 1);
  assert.equal((await c.routes('&window=5m'))[0].count, 80);

  // An interval is in the window if it overlaps it: 60 s before T0 + 120 s is interval 12 after T0's.
  const detail = (await getJson(`${c.collector.url}/v1/routes/${all.id}?window=60s`)).body;
  assert.equal(detail.count, 30);
  assert.equal(detail.intervals.length, 13);
  assert.equal(detail.intervals[0].start, T0 + 60_000);
  assert.deepEqual(detail.intervals.at(-1), { start: T0 + 120_000, end: T0 + 120_000, count: 30, p50: 1, p99: 1, max: 1 });
  assert.deepEqual(detail.intervals[0], { start: T0 + 60_000, end: T0 + 65_000, count: 0, p50: null, p99: null, max: null });
  const full = (await getJson(`${c.collector.url}/v1/routes/${all.id}`)).body;
  assert.equal(full.intervals[0].start, T0, 'intervals start where the route did');
  assert.deepEqual(full.intervals[0], { start: T0, end: T0 + 5000, count: 50, p50: 100.031, p99: 100.031, max: 100 });

  c.advance(400_000);
  assert.deepEqual(await c.routes('&window=5m'), [], 'a route without events in the window is left out');
  assert.equal((await c.routes())[0].count, 80);
  const quiet = (await getJson(`${c.collector.url}/v1/routes/${all.id}?window=60s`)).body;
  assert.equal(quiet.count, 0);
  assert.equal(quiet.latencyMs, null);
  assert.deepEqual(quiet.histogram, []);
});

test('the list and the detail give the same latency figures, since start and for windows', async (t) => {
  // The list computes them in JS from encoded counts, the detail asks the merged wasm histogram.
  const c = await setup(t);
  // Long before the rest, so that windows over /c are made of its interval snapshots.
  await c.send(rows(1, 1, '/c'));
  for (let k = 0; k < 20; k++) {
    await c.send(Array.from({ length: 40 }, (_, i) => ({ durationMs: 0.001 + ((i * 7919 + k * 104_729) % 90_000) / 97, path: i % 3 ? '/a' : '/b' })));
    c.advance(5000);
  }
  await c.send(rows(7, 12.3456, '/c'));
  const compare = async (when: string, query: string): Promise<void> => {
    const list = await c.routes(query);
    assert.equal(list.length, 3);
    for (const r of list) {
      const detail = (await getJson(`${c.collector.url}/v1/routes/${r.id}?${query.slice(1)}`)).body;
      assert.deepEqual(r.latencyMs, detail.latencyMs, `${when}: ${r.route} ${query}`);
    }
  };
  for (const query of ['', '&window=60s', '&window=5m', '&window=7s']) await compare('asked first', query);
  // The list reuses a route's last answer while nothing moved, so one window is asked
  // over and over, as a dashboard does.
  const w = '&window=7s';
  await compare('asked again, nothing new', w);
  c.advance(4000);
  await compare('later, the window moved on', w);
  // Without new events the interval in progress closes while the 7 s window still
  // covers it: /c's raw min and max (12.346) become its bucket's edges (12.344, 12.351).
  c.advance(1500);
  await compare('after the interval closed', w);
  await c.send(rows(3, 0.5, '/c'));
  await compare('after new events', w);
});

test('rates are Dropwizard EWMAs ticked every 5 s of the injected clock', async (t) => {
  const c = await setup(t);
  await c.send(rows(50, 2));
  assert.deepEqual((await c.routes())[0].rate, { m1: 0, m5: 0, m15: 0 }, 'no tick yet');
  c.advance(5000);
  assert.deepEqual((await c.routes())[0].rate, { m1: 10, m5: 10, m15: 10 }, 'the first tick sets the rate: 50 events / 5 s');
  c.advance(60_000);
  const { rate } = (await c.routes())[0];
  assert.ok(Math.abs(rate.m1 - 10 * Math.exp(-1)) < 1e-9, `one idle minute decays m1 by 1/e: ${rate.m1}`);
  assert.ok(Math.abs(rate.m5 - 10 * Math.exp(-1 / 5)) < 1e-9);
  assert.ok(Math.abs(rate.m15 - 10 * Math.exp(-1 / 15)) < 1e-9);
});

test('past the route cap, new routes fold into one `other` route per service, counted', async (t) => {
  const c = await setup(t, { maxRoutes: 2 });
  await c.send([...rows(1, 1, '/a'), ...rows(1, 1, '/b'), ...rows(3, 1, '/c'), ...rows(4, 1, '/d')]);
  await c.send(rows(2, 1, '/a'));
  const routes = await c.routes();
  assert.deepEqual(routes.map((r) => `${r.method} ${r.route} ${r.count}`), ['GET /a 3', 'GET /b 1', '* other 7']);
  const { body } = await getJson(`${c.collector.url}/v1/overview`);
  assert.equal(body.routes, 3);
  assert.equal(body.routesOverflowed, 7);
  const events = (await getJson(`${c.collector.url}/v1/events?route=${routes[2].id}`)).body.events;
  assert.equal(events.length, 7);
  assert.equal(events[0].route, '/d', 'raw events keep the route the agent named');
});

test('the event memory keeps only the newest events', async (t) => {
  const c = await setup(t, { maxRecentEvents: 5 });
  await c.send(Array.from({ length: 8 }, (_, i) => ({ durationMs: i, path: `/e/${i}` })));
  await c.send([{ durationMs: 8, path: '/e/8' }]);
  const events = (await getJson(`${c.collector.url}/v1/events?limit=1000`)).body.events;
  assert.deepEqual(events.map((e: any) => e.path), ['/e/8', '/e/7', '/e/6', '/e/5', '/e/4']);
});

test('close() ends agent connections with 1001 and stops listening', async () => {
  const collector = await startCollector({ port: 0 });
  const agent = await AgentClient.connect(collector.url);
  await agent.handshake('closing-agent', 'closing-svc');
  await collector.close();
  assert.equal((await agent.closed).code, 1001);
  await assert.rejects(getJson(`${collector.url}/v1/overview`), /ECONNREFUSED/);
});

test('startCollector refuses a non-loopback host without a token', async () => {
  await assert.rejects(startCollector({ host: '0.0.0.0', port: 0 }), /refusing to listen on 0\.0\.0\.0 without a token/);
});
