// Exact counts and HDR percentiles against an exact sort of the same values, and the
// Prometheus exposition of the same events, from the real collector process.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson } from './helpers/http.js';
import { AgentClient, type Row } from './helpers/ingest-client.js';
import { random } from './helpers/random.js';

const SERVICE = 'pct-svc';
/** A service name that needs every escape of the Prometheus label format. */
const ODD_SERVICE = 'we"ird\\svc\nline';
const N = 20_000;

/** Mostly a few milliseconds, with a long tail up to seconds, at sub-millisecond precision. */
function durations(): number[] {
  const r = random(42);
  return Array.from({ length: N }, () => {
    const base = Math.exp(Math.log(0.2) + r() * Math.log(100)); // 0.2 .. 20 ms, log-uniform
    const tail = r() < 0.02 ? 100 + r() * 4000 : 0;
    return Math.round((base + tail) * 10_000) / 10_000;
  });
}

const values = durations();
const statuses = values.map((_, i) => [200, 201, 302, 404, 503][i % 5]!);
let collector: CollectorProcess;

before(async () => {
  collector = await startCollectorProcess();
  const agent = await AgentClient.connect(collector.url);
  await agent.handshake('pct-agent', SERVICE);
  const rows: Row[] = values.map((d, i) => ({ durationMs: d, path: `/items/${i}`, route: '/items/:id', status: statuses[i], aborted: i % 100 === 0 }));
  let seq = 0;
  for (let i = 0; i < rows.length; i += 5000) await agent.batch(++seq, rows.slice(i, i + 5000));
  await agent.close();
  const odd = await AgentClient.connect(collector.url);
  await odd.handshake('odd-agent', ODD_SERVICE);
  await odd.batch(1, [{ durationMs: 3, path: '/x"y\\z', route: '/x"y\\z' }]);
  await odd.close();
});
after(async () => { assert.equal(await collector.stop(), 0); });

const exactUs = values.map((d) => Math.max(1, Math.round(d * 1000))).sort((a, b) => a - b);
/** The value at a percentile by the rank rule HdrHistogram uses. */
const exactAt = (p: number): number => exactUs[Math.max(1, Math.ceil((p / 100) * N - 1e-9)) - 1]!;

function assertClose(actualMs: number, expectedUs: number, what: string): void {
  const tolerance = expectedUs * 0.001 + 1;
  assert.ok(Math.abs(actualMs * 1000 - expectedUs) <= tolerance, `${what}: ${actualMs} ms vs exact ${expectedUs / 1000} ms`);
}

test('counts are exact and percentiles match an exact sort within HDR precision', async () => {
  const { body } = await getJson(`${collector.url}/v1/routes?service=${SERVICE}`);
  assert.equal(body.routes.length, 1);
  const r = body.routes[0];
  assert.equal(r.count, N);
  assert.deepEqual(r.status, { '1xx': 0, '2xx': N * 2 / 5, '3xx': N / 5, '4xx': N / 5, '5xx': N / 5 });
  assert.equal(r.aborted, N / 100);
  const pcts: Array<[string, number]> = [['p50', 50], ['p75', 75], ['p90', 90], ['p95', 95], ['p99', 99], ['p999', 99.9]];
  for (const [key, p] of pcts) assertClose(r.latencyMs[key], exactAt(p), key);
  assertClose(r.latencyMs.min, exactUs[0]!, 'min');
  assertClose(r.latencyMs.max, exactUs[N - 1]!, 'max');
  const mean = exactUs.reduce((a, b) => a + b, 0) / N;
  assertClose(r.latencyMs.mean, mean, 'mean');
  const sd = Math.sqrt(exactUs.reduce((a, b) => a + (b - mean) ** 2, 0) / N);
  assert.ok(Math.abs(r.latencyMs.stddev * 1000 - sd) <= sd * 0.01, `stddev ${r.latencyMs.stddev} vs ${sd / 1000}`);

  const detail = (await getJson(`${collector.url}/v1/routes/${r.id}`)).body;
  let previous = { percentile: -1, valueMs: 0, count: 0 };
  for (const point of detail.histogram) {
    assert.ok(point.percentile > previous.percentile && point.valueMs >= previous.valueMs && point.count >= previous.count);
    if (point.percentile < 100) assertClose(point.valueMs, exactAt(point.percentile), `p${point.percentile}`);
    previous = point;
  }
  assert.deepEqual(previous, { percentile: 100, valueMs: previous.valueMs, count: N });
  assert.ok(detail.histogram.length > 50, 'enough points for a percentile plot');
  assert.match(detail.hdr, /^[A-Za-z0-9+/]+=*$/);
});

interface Sample { name: string; labels: Record<string, string>; value: number }

/** A strict reader of the text format 0.0.4: every sample belongs to a family declared by HELP and TYPE. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  assert.ok(text.endsWith('\n'));
  for (const line of text.slice(0, -1).split('\n')) {
    let m = /^# HELP (\w+) .+$/.exec(line);
    if (m) { helps.add(m[1]!); continue; }
    m = /^# TYPE (\w+) (counter|gauge|histogram|summary)$/.exec(line);
    if (m) { assert.ok(helps.has(m[1]!), `HELP before TYPE for ${m[1]}`); types.set(m[1]!, m[2]!); continue; }
    m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `sample line: ${line}`);
    const labels: Record<string, string> = {};
    const labelRe = /(\w+)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
    let l: RegExpExecArray | null;
    let consumed = 0;
    while ((l = labelRe.exec(m[2] ?? '')) !== null) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = labelRe.lastIndex;
    }
    assert.equal(consumed, (m[2] ?? '').length, `labels parse: ${line}`);
    const family = [...types.keys()].find((f) => m![1] === f || m![1]!.startsWith(`${f}_`));
    assert.ok(family, `sample ${m[1]} has a declared family`);
    samples.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return { types, samples };
}

test('/metrics: exact fixed buckets, counters and HDR summary quantiles for the same events', async () => {
  const res = await request(`${collector.url}/metrics`);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const { types, samples } = parseExposition(await res.body.text());
  assert.equal(types.get('nodeflight_http_server_request_duration_seconds'), 'histogram');
  assert.equal(types.get('nodeflight_http_server_request_latency_seconds'), 'summary');
  assert.equal(types.get('nodeflight_http_server_requests_total'), 'counter');
  const mine = (name: string) => samples.filter((s) => s.name === name && s.labels.service === SERVICE);

  const buckets = mine('nodeflight_http_server_request_duration_seconds_bucket');
  assert.equal(buckets.length, 14);
  assert.equal(buckets.at(-1)!.labels.le, '+Inf');
  for (let i = 0; i < buckets.length; i++) {
    const le = buckets[i]!.labels.le === '+Inf' ? Infinity : Number(buckets[i]!.labels.le);
    assert.equal(buckets[i]!.value, values.filter((d) => d <= le * 1000).length, `bucket le=${buckets[i]!.labels.le}`);
    if (i > 0) assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, 'buckets are cumulative');
  }
  assert.equal(mine('nodeflight_http_server_request_duration_seconds_count')[0]!.value, N);
  const sum = values.reduce((a, b) => a + b, 0) / 1000;
  assert.ok(Math.abs(mine('nodeflight_http_server_request_duration_seconds_sum')[0]!.value - sum) < 1e-6);

  const requests = mine('nodeflight_http_server_requests_total');
  assert.deepEqual(Object.fromEntries(requests.map((s) => [s.labels.status_class, s.value])), { '1xx': 0, '2xx': 8000, '3xx': 4000, '4xx': 4000, '5xx': 4000 });
  assert.deepEqual(requests[1]!.labels, { service: SERVICE, method: 'GET', route: '/items/:id', status_class: '2xx' });

  const quantiles = mine('nodeflight_http_server_request_latency_seconds');
  assert.deepEqual(quantiles.map((s) => s.labels.quantile), ['0.5', '0.9', '0.99', '0.999']);
  for (const q of quantiles) assertClose(q.value * 1000, exactAt(Number(q.labels.quantile) * 100), `quantile ${q.labels.quantile}`);
  assert.equal(mine('nodeflight_http_server_request_latency_seconds_count')[0]!.value, N);

  const odd = samples.find((s) => s.name === 'nodeflight_http_server_requests_total' && s.labels.service === ODD_SERVICE && s.value > 0);
  assert.deepEqual(odd?.labels, { service: ODD_SERVICE, method: 'GET', route: '/x"y\\z', status_class: '2xx' }, 'labels escaped and read back');

  const one = (name: string) => samples.filter((s) => s.name === name).map((s) => s.value);
  assert.deepEqual(one('nodeflight_collector_events_received_total'), [N + 1]);
  assert.deepEqual(one('nodeflight_collector_events_dropped_total'), [0]);
  assert.deepEqual(one('nodeflight_collector_frames_rejected_total'), [0]);
  assert.deepEqual(one('nodeflight_collector_routes'), [2]);
  assert.equal(one('nodeflight_collector_agents_connected').length, 1);
});
