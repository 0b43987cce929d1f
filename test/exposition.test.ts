// The three exposition formats of /metrics: what the Accept header selects, the protobuf
// decoded with Prometheus' own metrics.proto (parsed here from the vendored file, not from
// the collector's descriptor), native buckets that hold their values, and exemplars
// within Prometheus' label budget.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { startCollector, type Collector } from '../collector/index.js';
import { EXEMPLAR_LABEL_BUDGET, fitExemplarLabels, negotiate } from '../collector/api/exposition.js';
import { METRICS_PROTO } from '../collector/api/metrics-proto.js';
import { BUCKET_WIDTH, bucketUpper, SCHEMA } from '../collector/stats/native-histogram.js';
import { AgentClient } from './helpers/ingest-client.js';
import { findTool, promtool } from './helpers/prometheus.js';
import { random } from './helpers/random.js';

const PROTO = fileURLToPath(new URL('../../collector/api/metrics.proto', import.meta.url));
const PROTOBUF_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';
/** What Prometheus 2.42 sends, with and without --enable-feature=native-histograms (read off a scrape). */
const PROM_NATIVE = `${PROTOBUF_ACCEPT},application/openmetrics-text;version=1.0.0;q=0.8,`
  + 'application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROM_CLASSIC = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

test('the descriptor the collector encodes with is metrics.proto as protobufjs parses it', () => {
  const parsed = protobuf.parse(readFileSync(PROTO, 'utf8')).root.toJSON();
  assert.deepEqual(JSON.parse(JSON.stringify(METRICS_PROTO)), JSON.parse(JSON.stringify(parsed)));
  assert.match(readFileSync(PROTO, 'utf8'), /^\/\/ Copyright 2013 Prometheus Team\n\/\/ Licensed under the Apache License, Version 2\.0/);
});

test('Accept: protobuf or OpenMetrics as Prometheus asks, the highest q first, text otherwise', () => {
  assert.equal(negotiate(PROM_NATIVE).name, 'protobuf');
  assert.equal(negotiate(PROM_CLASSIC).name, 'openmetrics');
  assert.equal(negotiate(`${PROTOBUF_ACCEPT};q=0.7,application/openmetrics-text;q=0.5,text/plain;q=0.3`).name, 'protobuf');
  assert.equal(negotiate(undefined).name, 'text');
  assert.equal(negotiate('').name, 'text');
  assert.equal(negotiate('application/json').name, 'text');
  assert.equal(negotiate('text/plain;q=0.9, application/openmetrics-text;q=0.5').name, 'text');
  assert.equal(negotiate('application/openmetrics-text;version=2.0.0, text/plain;q=0.1').name, 'text', 'an OpenMetrics version it does not speak');
  assert.equal(negotiate('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text').name, 'text', 'only the delimited encoding');
  assert.equal(negotiate(`${PROTOBUF_ACCEPT};q=0, text/plain`).name, 'text', 'q=0 refuses');
});

test('exemplar labels fit the 128-character budget: the path is cut, by code points', () => {
  const agent = 'agent-1';
  const long = `/${'é'.repeat(200)}😀/x`;
  const [a, p] = fitExemplarLabels([['agent', agent], ['path', long]]);
  assert.equal(a![1], agent);
  const used = [...'agent', ...agent, ...'path', ...p![1]].length;
  assert.equal(used, EXEMPLAR_LABEL_BUDGET);
  assert.ok(long.startsWith(p![1]));
  assert.deepEqual(fitExemplarLabels([['agent', 'a'], ['path', '/short']]), [['agent', 'a'], ['path', '/short']]);
});

let collector: Collector;
let agent: AgentClient;
const DURATIONS: number[] = [];
const END = 1_800_000_000_000;

before(async () => {
  collector = await startCollector({ port: 0 });
  agent = await AgentClient.connect(collector.url);
  await agent.handshake('expo-agent', 'expo');
  // Four decades of durations, microsecond resolution, and one slow request with a long path.
  const r = random(3);
  for (let i = 0; i < 2000; i++) DURATIONS.push(Math.round(10 ** (r() * 4 - 1) * 1000) / 1000);
  const rows = DURATIONS.map((durationMs, i) => ({ durationMs, route: '/d/:id', path: `/d/${i}`, start: END - durationMs + i }));
  rows.push({ durationMs: 4321, route: '/d/:id', path: `/d/${'x'.repeat(300)}`, start: END });
  DURATIONS.push(4321);
  await agent.batch(1, rows);
});
after(async () => {
  await agent.close();
  await collector.close();
});

const scrape = (accept: string) => fetch(`${collector.url}/metrics`, { headers: { accept } });

test('protobuf: delimited MetricFamily messages; native buckets at schema 7 that hold every value', async () => {
  const res = await scrape(PROM_NATIVE);
  assert.equal(res.headers.get('content-type'), 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited');
  const root = protobuf.parse(readFileSync(PROTO, 'utf8')).root;
  root.addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!);
  const MetricFamily = root.lookupType('io.prometheus.client.MetricFamily');
  const reader = protobuf.Reader.create(new Uint8Array(await res.arrayBuffer()));
  const families = new Map<string, any>();
  while (reader.pos < reader.len) {
    const f = MetricFamily.toObject(MetricFamily.decodeDelimited(reader), { longs: Number, defaults: false });
    families.set(f.name, f);
  }
  assert.ok(families.has('nodeflight_collector_events_received_total'));
  assert.equal(families.get('nodeflight_collector_events_received_total').metric[0].counter.value, DURATIONS.length);
  const h = families.get('nodeflight_http_server_request_duration_seconds').metric[0].histogram;
  assert.equal(h.schema, SCHEMA);
  assert.equal(h.sampleCount, DURATIONS.length);
  // Spans and deltas back to (bucket index, count).
  const counts = new Map<number, number>();
  let index = 0;
  let count = 0;
  let k = 0;
  h.positiveSpan.forEach((s: { offset?: number; length: number }, i: number) => {
    index += (s.offset ?? 0) + (i === 0 ? 0 : 1);
    for (let j = 0; j < s.length; j++, k++) {
      if (j > 0) index++;
      count += h.positiveDelta[k];
      counts.set(index, count);
    }
  });
  assert.equal(k, h.positiveDelta.length);
  const expected = new Map<number, number>();
  for (const ms of DURATIONS) {
    // Each value's own bucket, or the next one when it lies within half an HDR width of the bound.
    let i = Math.ceil(Math.log2(ms / 1000) * 2 ** SCHEMA);
    if (!counts.has(i)) i += ms / 1000 > bucketUpper(i) * (1 - 2 ** -11) ? 1 : -1;
    expected.set(i, (expected.get(i) ?? 0) + 1);
  }
  let moved = 0;
  for (const [i, n] of expected) moved += Math.abs((counts.get(i) ?? 0) - n);
  assert.equal([...counts.values()].reduce((a, b) => a + b, 0), DURATIONS.length);
  assert.ok(moved <= DURATIONS.length * 0.05, `${moved / 2} of ${DURATIONS.length} values counted one bucket over, at most a few near the bounds`);
  for (const i of counts.keys()) assert.ok(bucketUpper(i) / bucketUpper(i - 1) - 1 <= BUCKET_WIDTH + 1e-12);
  // Classic buckets with the slowest request of each as exemplar.
  const top = h.bucket.find((b: any) => b.upperBound === 5);
  assert.equal(top.exemplar.value, 4.321);
  assert.equal(Number(top.exemplar.timestamp.seconds) * 1000 + top.exemplar.timestamp.nanos / 1e6, END + 4321);
  const labels = Object.fromEntries(top.exemplar.label.map((l: any) => [l.name, l.value]));
  assert.equal(labels.agent, 'expo-agent');
  assert.ok(labels.path.startsWith('/d/xxx'));
  assert.equal([...'agent', ...labels.agent, ...'path', ...labels.path].length, EXEMPLAR_LABEL_BUDGET);
});

test('OpenMetrics: counter families without _total, an exemplar on each bucket that had events, # EOF', async () => {
  const res = await scrape(PROM_CLASSIC);
  assert.equal(res.headers.get('content-type'), 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  const text = await res.text();
  assert.ok(text.endsWith('\n# EOF\n'));
  assert.match(text, /^# TYPE nodeflight_http_server_requests counter$/m);
  assert.match(text, /^nodeflight_http_server_requests_total\{service="expo",method="GET",route="\/d\/:id",status_class="2xx"\} 2001$/m);
  assert.match(text, /^# HELP nodeflight_collector_route_overflow_events Events counted under a service's \\"other\\" route/m);
  const top = text.split('\n').find((l) => l.startsWith('nodeflight_http_server_request_duration_seconds_bucket{') && l.includes('le="5"'))!;
  assert.match(top, / 2001 # \{agent="expo-agent",path="\/d\/x+"\} 4\.321 1800000004\.321$/);
  // Text 0.0.4 carries no exemplars.
  const plain = await (await scrape('text/plain')).text();
  assert.doesNotMatch(plain, / # \{/);
  assert.doesNotMatch(plain, /# EOF/);
});

test('a bucket\'s exemplar is its slowest event until it is a minute old; then the next event of the bucket takes its place', async () => {
  let now = Date.UTC(2026, 0, 1);
  const c = await startCollector({ port: 0, clock: () => now });
  const a = await AgentClient.connect(c.url);
  try {
    await a.handshake('age-agent', 'age');
    const exemplar = async (): Promise<string> => {
      const text = await (await fetch(`${c.url}/metrics`, { headers: { accept: PROM_CLASSIC } })).text();
      return text.split('\n').find((l) => l.startsWith('nodeflight_http_server_request_duration_seconds_bucket{') && l.includes('le="0.1"'))!.split(' # ')[1]!;
    };
    await a.batch(1, [{ durationMs: 90, route: '/a', path: '/a/slow' }, { durationMs: 60, route: '/a', path: '/a/fast' }]);
    assert.match(await exemplar(), /path="\/a\/slow"\} 0\.09 /);
    now += 30_000;
    await a.batch(2, [{ durationMs: 70, route: '/a', path: '/a/later' }]);
    assert.match(await exemplar(), /path="\/a\/slow"\}/, 'slower and recent: it stays');
    now += 35_000;
    await a.batch(3, [{ durationMs: 55, route: '/a', path: '/a/new' }]);
    assert.match(await exemplar(), /path="\/a\/new"\} 0\.055 /, 'over a minute old: the next event replaces it');
    await a.batch(4, [{ durationMs: 80, route: '/a', path: '/a/newer' }, { durationMs: 75, route: '/a', path: '/a/x' }]);
    assert.match(await exemplar(), /path="\/a\/newer"\} 0\.08 /);
  } finally {
    await a.close();
    await c.close();
  }
});

test('label values and HELP escaped as the text formats require: quote, backslash, line feed', async (t) => {
  const c = await startCollector({ port: 0 });
  const a = await AgentClient.connect(c.url);
  try {
    await a.handshake('ag"\\\n1', 'sh"op\\\nx');
    await a.batch(1, [{ durationMs: 7, route: '/r"\\\n', path: '/p"\\\n/x' }]);
    const get = async (accept: string) => (await fetch(`${c.url}/metrics`, { headers: { accept } })).text();
    const labels = 'service="sh\\"op\\\\\\nx",method="GET",route="/r\\"\\\\\\n"';
    const plain = await get('text/plain');
    assert.ok(plain.includes(`nodeflight_http_server_requests_total{${labels},status_class="2xx"} 1\n`), plain.slice(0, 2000));
    assert.ok(plain.includes('nodeflight_collector_agents{service="sh\\"op\\\\\\nx",state="connected"} 1\n'));
    const open = await get(PROM_CLASSIC);
    const bucket = `nodeflight_http_server_request_duration_seconds_bucket{${labels},le="0.01"} 1 # {agent="ag\\"\\\\\\n1",path="/p\\"\\\\\\n/x"} 0.007 `;
    assert.ok(open.includes(bucket), open.slice(0, 3000));
    // Each sample on one line: no raw line feed escaped a value.
    for (const text of [plain, open]) {
      for (const line of text.split('\n')) assert.match(line, /^(#.*|[a-z_]+(\{.*\})? \S+( # \{.*\} \S+ \S+)?|)$/, line);
    }
    if (findTool('promtool') === null) return t.diagnostic('promtool not on PATH: its parse of the text skipped');
    const r = promtool(['check', 'metrics'], plain);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((r.stdout + r.stderr).trim(), '', 'no lint findings');
  } finally {
    await a.close();
    await c.close();
  }
});
