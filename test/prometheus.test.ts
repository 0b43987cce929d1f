// /metrics against a real Prometheus: a collector process, an instrumented service
// under a known latency mix, Prometheus scraping the collector every second, then
// PromQL through Prometheus's HTTP API. Also: promtool accepts the real exposition,
// the example alert rules evaluate on it, and every dashboard query answers.
//
// Prometheus 2.42 starts a counter series at its first scrape (it cannot know the
// events before it), so a route must exist before the measured load: one warm-up
// request per route, a scrape of it (the baseline), then the load. The histogram_quantile
// query is evaluated at baseline + 1 minute - 1 ms, so that its [1m] window starts 1 ms
// before the baseline sample: rate() then extrapolates every bucket by the same factor
// (to 1 ms), and the quantile is that of the load's events alone. Should the load and
// its scrapes take longer than that on a busy machine, the window grows to hold them
// (the test waits for the series, never for a clock). The bound checked:
// Prometheus's p99 lies within the fixed bucket that holds the collector's own HDR p99
// of the same events (the route's histogram after the load minus the one at the
// baseline), widened only by HDR's 0.1 % precision where that p99 sits on a bound.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Histogram } from 'hdr-histogram-js';
import { decodeHdr } from '../cli/merge.js';
import { BUCKETS } from '../collector/stats/route-stats.js';
import { drained, waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit } from './helpers/http.js';
import { examplesDir, missingTools, promtool, startPrometheus, type PrometheusServer } from './helpers/prometheus.js';
import { exposedNames, metricNames } from './helpers/promql.js';
import { startService, waitFor, type Service } from './helpers/service-process.js';

const skip = missingTools('prometheus', 'promtool');
const SERVICE = 'prom-app';
const p99Query = (range: string): string => `histogram_quantile(0.99, sum by (le, route) (rate(nodeflight_http_server_request_duration_seconds_bucket[${range}])))`;

/** 90 % of /sleep/:ms sleep 5 ms and 10 % 35 ms, so its p99 is one of the 35 ms requests. */
function load(): string[] {
  const sleep = Array.from({ length: 360 }, (_, i) => (i % 10 === 9 ? '/sleep/35' : '/sleep/5'));
  const orders = Array.from({ length: 400 }, (_, i) => `/orders/${i + 1}`);
  const status = Array.from({ length: 200 }, (_, i) => `/status/${i % 10 === 0 ? 500 : i % 10 === 1 ? 404 : 200}`);
  const paths: string[] = [];
  for (let i = 0; i < 400; i++) for (const list of [sleep, orders, status]) if (i < list.length) paths.push(list[i]!);
  return paths;
}
const WARM_UP = ['/sleep/1', '/orders/0', '/status/200'];
const LOAD = load();

interface RouteJson { id: string; route: string; count: number; status: Record<string, number>; latencyMs: { p99: number } }

/** [lower, upper] in seconds of the fixed bucket holding `ms`; the +Inf bucket answers as its lower bound, as histogram_quantile does. */
function bucketOf(ms: number): [number, number] {
  let lower = 0;
  for (const [upper] of BUCKETS) {
    if (ms <= upper) return [lower / 1000, upper / 1000];
    lower = upper;
  }
  return [lower / 1000, lower / 1000];
}

/** Where Prometheus's p99 may be, given the collector's HDR p99 `ms` of the same events. */
function allowed(ms: number): [number, number] {
  // HDR reports the top of the value's bucket: at most 0.1 % (and 1 µs of rounding) above it.
  // rate() extrapolates each bucket series on its own (its zero clamp depends on each
  // series' first value), so when scrapes interleave with the load the interpolated p99
  // can cross into the next bucket up: one bucket of resolution is allowed above.
  const top = bucketOf(ms + 0.001)[1];
  return [bucketOf(ms / 1.001 - 0.001)[0], bucketOf(top * 1000 * 1.0001)[1]];
}

function byLabel(samples: Array<{ metric: Record<string, string>; value: [number, string] }>, label: string): Record<string, number> {
  return Object.fromEntries(samples.map((s) => [s.metric[label], Number(s.value[1])]));
}

describe('a real Prometheus scraping a collector', { skip: skip ?? false }, () => {
  let collector: CollectorProcess;
  let service: Service;
  let prom: PrometheusServer;
  let baseline: number;
  /** When the quantile is evaluated, and the window that reaches back just before the baseline. */
  let at: number;
  let range: string;
  let h0: Map<string, Histogram>;
  let statuses: number[];

  const routes = async (): Promise<RouteJson[]> => (await getJson<{ routes: RouteJson[] }>(`${collector.url}/v1/routes?service=${SERVICE}`)).body.routes;
  const hdrs = async (): Promise<Map<string, Histogram>> => {
    const out = new Map<string, Histogram>();
    for (const r of await routes()) out.set(r.route, decodeHdr((await getJson(`${collector.url}/v1/routes/${r.id}`)).body.hdr));
    return out;
  };
  /** The newest sample time of the route series, in seconds, once Prometheus holds `n` events of the service. */
  const counted = async (n: number): Promise<number> => {
    let seen: unknown;
    return prom.until(async () => {
      const [count] = await prom.query(`sum(nodeflight_http_server_request_duration_seconds_count{service="${SERVICE}"})`);
      const [time] = await prom.query(`max(timestamp(nodeflight_http_server_request_duration_seconds_count{service="${SERVICE}"}))`);
      seen = [count, time];
      return Number(count?.value[1]) === n && time !== undefined ? Number(time.value[1]) : undefined;
    }, () => `Prometheus never held ${n} events of ${SERVICE}; last seen [count, sample time]: ${JSON.stringify(seen)}`);
  };

  before(async () => {
    collector = await startCollectorProcess();
    prom = await startPrometheus({ targets: [new URL(collector.url).host], ruleFiles: [join(examplesDir, 'nodeflight-alerts.yml')] });
    service = await startService('http-app.mjs', {
      env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_FLUSH_MS: '100', NODEFLIGHT_SERVICE: SERVICE, NODEFLIGHT_ROUTES: '/sleep/:ms,/orders/:id,/status/:code' },
    });
    const warm = await hit(service.url, WARM_UP, 1);
    await waitForAgent(collector.url, service.child.pid!, drained(WARM_UP.length));
    // The baseline: the newest sample once Prometheus holds the warm-up.
    baseline = await counted(WARM_UP.length);
    h0 = await hdrs();
    statuses = [...warm, ...await hit(service.url, LOAD, 8)];
    await waitForAgent(collector.url, service.child.pid!, drained(WARM_UP.length + LOAD.length), 60_000);
    const last = await counted(WARM_UP.length + LOAD.length);
    const seconds = Math.max(60, Math.ceil(last - baseline + 0.001));
    range = seconds === 60 ? '1m' : `${seconds}s`;
    at = baseline + seconds - 0.001;
  });

  after(async () => {
    await service?.stop();
    await prom?.stop();
    await collector?.stop();
  });

  test('counts in Prometheus equal the requests sent and the collector\'s counts, exactly', async () => {
    const total = WARM_UP.length + LOAD.length;
    assert.deepEqual(await prom.query(`sum(nodeflight_http_server_requests_total{service="${SERVICE}"})`).then((s) => Number(s[0]!.value[1])), total);
    const mine = await routes();
    const counts = byLabel(await prom.query(`sum by (route) (nodeflight_http_server_request_duration_seconds_count{service="${SERVICE}"})`), 'route');
    assert.deepEqual(counts, Object.fromEntries(mine.map((r) => [r.route, r.count])));
    assert.deepEqual(counts, { '/sleep/:ms': 361, '/orders/:id': 401, '/status/:code': 201 });
    const classes = byLabel(await prom.query(`sum by (status_class) (nodeflight_http_server_requests_total{service="${SERVICE}"})`), 'status_class');
    const sent: Record<string, number> = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
    for (const s of statuses) sent[`${Math.floor(s / 100)}xx`]!++;
    assert.deepEqual(classes, sent);
    assert.deepEqual(sent, { '1xx': 0, '2xx': total - 40, '3xx': 0, '4xx': 20, '5xx': 20 });
    const received = await prom.query('nodeflight_collector_events_received_total');
    assert.equal(Number(received[0]!.value[1]), total);
    const agents = byLabel(await prom.query(`nodeflight_collector_agents{service="${SERVICE}"}`), 'state');
    assert.deepEqual(agents, { connected: 1, disconnected: 0 });
  });

  test('histogram_quantile(0.99) over rate()[1m] lies in the fixed bucket of the collector\'s own p99', async (t) => {
    if (range !== '1m') t.diagnostic(`the load and its scrapes took over a minute: window ${range}`);
    const p99 = byLabel(await prom.query(p99Query(range), at), 'route');
    const h1 = await hdrs();
    const since = await routes();
    assert.deepEqual(Object.keys(p99).sort(), ['/orders/:id', '/sleep/:ms', '/status/:code']);
    for (const [route, value] of Object.entries(p99)) {
      // The collector's histogram of the same events: after the load minus the baseline.
      const h = h1.get(route)!;
      h.subtract(h0.get(route)!);
      assert.equal(h.totalCount, LOAD.filter((p) => p.startsWith(route.slice(0, route.indexOf(':')))).length, `${route}: the load's events`);
      const ms = h.getValueAtPercentile(99) / 1000;
      const [lo, hi] = allowed(ms);
      assert.ok(value >= lo - 1e-9 && value <= hi + 1e-9, `${route}: Prometheus p99 ${value} s, collector p99 ${ms} ms, bucket [${lo}, ${hi}] s`);
      if (route === '/sleep/:ms') {
        assert.ok(ms >= 35, `the p99 of /sleep/:ms is one of its 35 ms requests, got ${ms} ms`);
        // The warm-up added one fast request: the collector's p99 since start, from
        // /v1/routes, is the same request, so the same bound holds for it.
        const fromRoutes = since.find((r) => r.route === route)!.latencyMs.p99;
        const [lo2, hi2] = allowed(fromRoutes);
        assert.ok(value >= lo2 - 1e-9 && value <= hi2 + 1e-9, `${route}: Prometheus p99 ${value} s, /v1/routes p99 ${fromRoutes} ms`);
      }
    }
  });

  test('promtool check metrics accepts the real exposition', async () => {
    const text = await (await fetch(`${collector.url}/metrics`)).text();
    assert.match(text, /nodeflight_http_server_request_duration_seconds_bucket\{service="prom-app"/);
    const r = promtool(['check', 'metrics'], text);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((r.stdout + r.stderr).trim(), '', 'no lint findings');
  });

  test('the example alert rules evaluate on the real metrics; the 5xx-ratio alert is pending for /status/:code', async () => {
    const exposed = exposedNames(await (await fetch(`${collector.url}/metrics`)).text());
    let last: any[] = [];
    const alerts = await waitFor(async () => {
      last = (await prom.rules()).flatMap((g) => g.rules);
      const evaluated = last.length > 0 && last.every((r) => r.health === 'ok' && !r.lastEvaluation.startsWith('0001-'));
      const pending = last.find((r) => r.name === 'NodeflightRouteErrorRatioHigh')?.state === 'pending';
      return evaluated && pending ? last : undefined;
    }, 20_000, () => `rules: ${JSON.stringify(last.map((r) => [r.name, r.health, r.state, r.lastError]))}`);
    assert.equal(alerts.length, 7);
    for (const r of alerts) {
      for (const name of metricNames(r.query)) assert.ok(exposed.has(name) || name === 'up', `${r.name} reads ${name}, which the collector does not expose`);
    }
    const ratio = alerts.find((r) => r.name === 'NodeflightRouteErrorRatioHigh')!;
    assert.deepEqual(ratio.alerts.map((a: any) => [a.labels.route, a.state, Number(a.value).toFixed(3)]), [['/status/:code', 'pending', '0.100']]);
    for (const name of ['NodeflightAgentsDroppingEvents', 'NodeflightAgentsDisconnected', 'NodeflightCollectorDown', 'NodeflightRouteCapReached', 'NodeflightFramesRejected']) {
      assert.equal(alerts.find((r) => r.name === name)!.state, 'inactive', name);
    }
  });

  test('every query of the Grafana dashboard answers with data', async () => {
    const dashboard = JSON.parse(readFileSync(join(examplesDir, 'grafana-dashboard.json'), 'utf8'));
    const exprs: string[] = dashboard.panels.flatMap((p: any) => (p.targets ?? []).map((t: any) => t.expr));
    assert.ok(exprs.length >= 10);
    for (const expr of exprs) {
      const q = expr.replaceAll('$__rate_interval', range).replace(/\$(instance|service|route)\b/g, '.*');
      const result = await prom.query(q, at);
      assert.ok(result.length > 0, `no data for ${q}`);
    }
  });
});
