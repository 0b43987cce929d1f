// `nodeflight merge`: one workload split across two collectors, merged from their HDR
// histograms, gives the percentiles of one collector that saw all of it, exactly.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { drained, waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit } from './helpers/http.js';
import { AgentClient, counters, type Row } from './helpers/ingest-client.js';
import { random } from './helpers/random.js';
import { cleanEnv, repoRoot, startService } from './helpers/service-process.js';

const bin = fileURLToPath(new URL('../cli/nodeflight.js', import.meta.url));

function merge(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, 'merge', ...args], { cwd: repoRoot, env: cleanEnv(), timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const started: CollectorProcess[] = [];
async function collector(): Promise<CollectorProcess> {
  const c = await startCollectorProcess();
  started.push(c);
  return c;
}
after(async () => { await Promise.all(started.map((c) => c.stop())); });

interface Sent { service: string; rows: Row[] }

/** AgentSeries `batches` in order through one scripted agent per service. */
async function send(url: string, agentId: string, batches: Sent[]): Promise<void> {
  const agents = new Map<string, { client: AgentClient; seq: number; sent: number }>();
  for (const b of batches) {
    let a = agents.get(b.service);
    if (!a) {
      a = { client: await AgentClient.connect(url), seq: 0, sent: 0 };
      await a.client.handshake(`${agentId}-${b.service}`, b.service);
      agents.set(b.service, a);
    }
    a.sent += b.rows.length;
    const ack = await a.client.batch(++a.seq, b.rows, counters(a.sent));
    assert.equal(ack.t, 'ack');
  }
  for (const a of agents.values()) await a.client.close();
}

type RouteRow = { id: string; service: string; method: string; route: string; count: number; status: Record<string, number>; aborted: number; latencyMs: Record<string, number> };

async function routesOf(url: string): Promise<RouteRow[]> {
  return (await getJson<{ routes: RouteRow[] }>(`${url}/v1/routes`)).body.routes;
}

const pick = (r: RouteRow) => ({ id: r.id, service: r.service, method: r.method, route: r.route, count: r.count, status: r.status, aborted: r.aborted });

/**
 * Percentiles, min and max must be equal (merge reports a percentile as at most the
 * exact max); mean and stddev are sums in another order, equal to a float's rounding.
 */
function assertSameLatency(merged: Record<string, number>, one: Record<string, number>, what: string): void {
  for (const k of ['min', 'max']) assert.equal(merged[k], one[k], `${what} ${k}`);
  for (const k of ['p50', 'p75', 'p90', 'p95', 'p99', 'p999']) assert.equal(merged[k], Math.min(one[k]!, one.max!), `${what} ${k}`);
  for (const k of ['mean', 'stddev']) assert.ok(Math.abs(merged[k]! - one[k]!) <= 1e-3, `${what} ${k}: ${merged[k]} vs ${one[k]}`);
}

test('a workload split over two collectors merges into exactly what one collector that saw it all reports', async () => {
  const [a, b, all] = await Promise.all([collector(), collector(), collector()]);
  // 40,000 events over two services and five routes, a log-uniform body with a long
  // tail, in 40 batches; A gets the even batches, B the odd ones, the third all of them.
  const r = random(7);
  const routes: Array<[string, string, string]> = [
    ['shop', 'GET', '/items/:id'], ['shop', 'POST', '/items'], ['shop', 'GET', '/search'], ['admin', 'GET', '/users/:id'], ['admin', 'DELETE', '/users/:id'],
  ];
  const batches: Sent[] = [];
  for (let k = 0; k < 40; k++) {
    const [service, method, route] = routes[k % routes.length]!;
    const rows: Row[] = Array.from({ length: 1000 }, (_, i) => ({
      method, route, path: route.replace(':id', String(i)),
      durationMs: Math.round((Math.exp(Math.log(0.05) + r() * Math.log(4000)) + (r() < 0.01 ? r() * 3000 : 0)) * 1e4) / 1e4,
      status: r() < 0.03 ? 503 : r() < 0.1 ? 404 : 200,
      aborted: r() < 0.005,
    }));
    batches.push({ service, rows });
  }
  await Promise.all([
    send(a.url, 'split-a', batches.filter((_, k) => k % 2 === 0)),
    send(b.url, 'split-b', batches.filter((_, k) => k % 2 === 1)),
    send(all.url, 'whole', batches),
  ]);

  const res = await merge(['--json', a.url, b.url]);
  assert.equal(res.code, 0, res.stderr);
  const merged = JSON.parse(res.stdout) as { collectors: string[]; routes: Array<RouteRow & { collectors: number }> };
  assert.deepEqual(merged.collectors, [a.url, b.url]);
  const whole = await routesOf(all.url);
  assert.equal(whole.length, 5);
  assert.deepEqual(merged.routes.map(pick), whole.map(pick), 'the same routes, ids, counts and statuses');
  for (const [i, m] of merged.routes.entries()) {
    assert.equal(m.collectors, 2);
    assertSameLatency(m.latencyMs, whole[i]!.latencyMs, `${m.service} ${m.method} ${m.route}`);
  }
  // Each half alone is not the whole: the test would catch a merge that took one side.
  const halfA = await routesOf(a.url);
  assert.ok(halfA.every((h) => h.count < whole.find((w) => w.id === h.id)!.count));

  const text = await merge([a.url, b.url]);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'Routes over 2 collector(s) (latency in ms, exact HDR merge)');
  assert.match(lines[1]!, /^service +method +route +count +5xx +collectors +p50 +p90 +p99 +p99\.9 +max$/);
  assert.equal(lines.length, 2 + whole.length);
  for (const w of whole) {
    const row = lines.find((l) => l.split(/ +/).slice(0, 3).join(' ') === `${w.service} ${w.method} ${w.route}`);
    assert.ok(row, `a row for ${w.service} ${w.method} ${w.route}`);
    const cells = row.split(/ +/);
    assert.deepEqual(cells.slice(3, 6), [String(w.count), String(w.status['5xx']), '2']);
    assert.equal(cells[8], Math.min(w.latencyMs.p99!, w.latencyMs.max!).toFixed(3));
  }

  const filtered = JSON.parse((await merge(['--json', '--service', 'admin', a.url, b.url])).stdout);
  assert.deepEqual(filtered.routes.map((x: RouteRow) => x.service), ['admin', 'admin']);
});

test('the same service restarted onto another collector: merged percentiles equal those of every event replayed into one collector', async () => {
  const [a, b, all] = await Promise.all([collector(), collector(), collector()]);
  // A known latency mix: mostly fast, a tenth sleeps 20 ms, a few 5xx and 404.
  const paths = Array.from({ length: 300 }, (_, i) => (i % 10 === 3 ? '/sleep/20' : i % 25 === 0 ? '/status/503' : i % 7 === 0 ? '/status/404' : `/orders/${i}`));
  const env = { NODEFLIGHT_FLUSH_MS: '100', NODEFLIGHT_SERVICE: 'shop', NODEFLIGHT_ROUTES: '/sleep/:ms,/status/:code' };
  for (const c of [a, b]) {
    const svc = await startService('http-app.mjs', { env: { ...env, NODEFLIGHT_COLLECTOR: c.url } });
    try {
      await hit(svc.url, paths, 4);
      await waitForAgent(c.url, svc.child.pid!, drained(paths.length));
    } finally {
      await svc.stop();
    }
  }
  // Replay the raw events both collectors hold into the third, as one agent.
  const events = [];
  for (const c of [a, b]) {
    const got = (await getJson<{ events: any[] }>(`${c.url}/v1/events?limit=1000`)).body.events;
    assert.equal(got.length, paths.length, 'the collector still holds every raw event');
    events.push(...got.reverse());
  }
  const rows: Row[] = events.map((e) => ({ durationMs: e.durationMs, method: e.method, path: e.path, route: e.route, status: e.status, aborted: e.aborted, start: e.start }));
  await send(all.url, 'replay', [{ service: 'shop', rows: rows.slice(0, 300) }, { service: 'shop', rows: rows.slice(300) }]);

  const res = await merge(['--json', a.url, `${b.url}/`]);
  assert.equal(res.code, 0, res.stderr);
  const merged = JSON.parse(res.stdout).routes as RouteRow[];
  const whole = await routesOf(all.url);
  assert.deepEqual(merged.map(pick), whole.map(pick));
  assert.deepEqual(merged.map((m) => m.route), ['/orders/:id', '/sleep/:ms', '/status/:code']);
  assert.equal(merged.reduce((n, m) => n + m.count, 0), 2 * paths.length);
  for (const [i, m] of merged.entries()) assertSameLatency(m.latencyMs, whole[i]!.latencyMs, m.route);
  // The sleeping tenth dominates /sleep/:ms: its median is near the 20 ms asked for. (Not
  // at least 20: libuv times the sleep from the loop's clock, cached when the iteration
  // that read the request began, which under load is milliseconds before its start.)
  assert.ok(merged[1]!.latencyMs.p50! >= 15, `p50 ${merged[1]!.latencyMs.p50}`);
});

test('bad URLs and unreachable collectors: one clear line, a non-zero exit, no stack trace', async () => {
  const c = await collector();
  const svc = await startService('http-app.mjs', { preload: 'none' });
  try {
    const cases: Array<[string[], number, RegExp]> = [
      [[], 2, /expected at least one collector URL/],
      [['--bogus', c.url], 2, /Unknown option '--bogus'/],
      [['127.0.0.1:8081'], 2, /"127\.0\.0\.1:8081" is not a URL; expected a collector's base URL such as http:\/\/127\.0\.0\.1:8081$/m],
      [['not a url'], 2, /is not a URL; expected a collector's base URL/],
      [['ws://127.0.0.1:8081'], 2, /is not an http:\/\/ or https:\/\/ URL/],
      [[c.url, `${c.url}/`], 2, /is given twice/],
      [[`${c.url}?x=1`], 2, /without a query/],
      [[c.url, 'http://127.0.0.1:1'], 1, /cannot read http:\/\/127\.0\.0\.1:1\/v1\/routes: connection refused/],
      [[svc.url], 1, /answered 200 with .*, not JSON: is this a nodeflight collector\?/],
      [[`${c.url}/nope`], 1, /\/nope\/v1\/routes answered 404: no such endpoint/],
      [['--window', 'soon', c.url], 1, /answered 400/],
    ];
    for (const [args, code, message] of cases) {
      const res = await merge(args);
      assert.equal(res.code, code, `${args.join(' ')}: ${res.stderr}`);
      assert.equal(res.stdout, '');
      assert.match(res.stderr, /^nodeflight merge: /);
      assert.match(res.stderr, message);
      assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
    }
  } finally {
    await svc.stop();
  }
});
