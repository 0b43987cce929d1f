// GET /metrics in the Prometheus text format 0.0.4. Latency is exposed twice: as a
// histogram with fixed buckets counted exactly at ingest (so PromQL can sum it across
// collectors and services) and as a summary whose quantiles come from the HDR
// histograms (exact to 3 digits, but not aggregatable). Values are since start.
//
// Names follow Prometheus's conventions (base units: seconds; counters end in _total)
// and `promtool check metrics` accepts the output (test/prometheus.test.ts). Label
// cardinality is bounded by the collector's caps: at most `maxRoutes` (2,000) routes,
// past which a service's new routes are counted under route="other", method="*". A
// route is 27 series (5 status classes, 14 buckets, sum and count; 4 quantiles, sum
// and count). The agent and in-flight gauges are 2 series per service each, and the registry holds at
// most `maxAgents` (1,000) agents.
import type { AgentRegistry } from '../ingest/agents.js';
import type { Aggregator } from '../stats/aggregator.js';
import type { Histogram } from '../stats/histogram.js';
import type { InflightStore } from '../stats/inflight-store.js';
import { statusCounts } from './route-view.js';
import { BUCKETS, COUNT, QUEUED, QUEUED_MS, type RouteStats } from '../stats/route-stats.js';
import { renderSeriesMetrics } from './series-metrics.js';
import type { SeriesStore } from '../stats/series-store.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const QUANTILES = [0.5, 0.9, 0.99, 0.999];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function family(name: string, type: string, help: string, samples: string[]): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${samples.join('')}`;
}

/**
 * Both states for every service, zeros included, so that an alert can see a service
 * whose agents all went away. Bounded: the registry holds at most `maxAgents` agents.
 */
function agentSamples(agents: AgentRegistry): string[] {
  const byService = new Map<string, [connected: number, disconnected: number]>();
  for (const a of agents.list()) {
    let n = byService.get(a.service);
    if (n === undefined) byService.set(a.service, (n = [0, 0]));
    n[a.link === null ? 1 : 0]++;
  }
  const samples: string[] = [];
  for (const [service, [connected, disconnected]] of [...byService].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const s = escapeLabel(service);
    samples.push(
      `nodeflight_collector_agents{service="${s}",state="connected"} ${connected}\n`,
      `nodeflight_collector_agents{service="${s}",state="disconnected"} ${disconnected}\n`,
    );
  }
  return samples;
}

/** What each connected agent reports it spends, and what it lost (agent-cost.ts); 9 series an agent. */
function agentCostFamilies(agents: AgentRegistry): string[] {
  const cpu: string[] = [];
  const share: string[] = [];
  const perRequest: string[] = [];
  const bytes: string[] = [];
  const lost: string[] = [];
  for (const a of agents.list()) {
    const c = a.cost.latest;
    if (a.link === null || c === undefined) continue;
    const labels = `service="${escapeLabel(a.service)}",agent="${escapeLabel(a.id)}"`;
    const j = a.cost.json()!;
    cpu.push(`nodeflight_agent_cpu_seconds_total{${labels}} ${c.workUs / 1e6}\n`);
    if (j.shareOfProcess !== null) share.push(`nodeflight_agent_process_cpu_share_ratio{${labels}} ${j.shareOfProcess}\n`);
    perRequest.push(`nodeflight_agent_request_hook_seconds{${labels}} ${c.nsPerRequest / 1e9}\n`);
    bytes.push(`nodeflight_agent_sent_bytes_total{${labels}} ${c.bytesSent}\n`);
    const loss = { events: a.counters.dropped, ...a.streamsDropped };
    for (const [stream, n] of Object.entries(loss)) lost.push(`nodeflight_agent_data_lost_total{${labels},stream="${stream}"} ${n}\n`);
  }
  return [
    family('nodeflight_agent_cpu_seconds_total', 'counter', 'Estimated main-thread CPU time the agent spent (sampled hooks, flush, timers), as it reports.', cpu),
    family('nodeflight_agent_process_cpu_share_ratio', 'gauge', 'The agent\'s share of its process\'s CPU time over the last reports (up to 10 s).', share),
    family('nodeflight_agent_request_hook_seconds', 'gauge', 'Estimated hook work per HTTP request (start + finish), sampled.', perRequest),
    family('nodeflight_agent_sent_bytes_total', 'counter', 'Bytes the agent wrote to the collector, resends included.', bytes),
    family('nodeflight_agent_data_lost_total', 'counter', 'Rows the agent recorded and lost before they were delivered, by stream (as JFR\'s jdk.DataLoss).', lost),
  ];
}

/**
 * Requests open now and the age of the oldest, per service of the connected agents, zeros
 * included, so that an alert can fire on a request stuck for minutes. An agent's snapshot
 * is a flush or two old; ages are counted to now. Bounded as agentSamples.
 */
function inflightSamples(
  agents: AgentRegistry, inflight: InflightStore, now: number,
): { open: string[]; oldest: string[] } {
  const byService = new Map<string, [open: number, oldestMs: number]>();
  for (const a of agents.list()) {
    if (a.link === null) continue;
    let n = byService.get(a.service);
    if (n === undefined) byService.set(a.service, (n = [0, 0]));
    const s = inflight.get(a.id);
    if (s === undefined) continue;
    n[0] += s.open;
    const first = s.requests[0];
    if (first !== undefined) n[1] = Math.max(n[1], first.ageMs, now - first.start);
  }
  const open: string[] = [];
  const oldest: string[] = [];
  for (const [service, [n, ms]] of [...byService].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const s = escapeLabel(service);
    open.push(`nodeflight_http_server_requests_in_flight{service="${s}"} ${n}\n`);
    oldest.push(`nodeflight_http_server_oldest_request_in_flight_seconds{service="${s}"} ${ms / 1000}\n`);
  }
  return { open, oldest };
}

export interface MetricsSource {
  agg: Aggregator;
  agents: AgentRegistry;
  rejectedFrames: number;
  now: number;
  /** Requests open now (inflight-store.ts). */
  inflight?: InflightStore;
  /** Outbound calls, runtime and pauses (series-metrics.ts). */
  series?: SeriesStore;
}

/** One route's lines of the three request families. */
interface RouteLines {
  /** The route's events since start when rendered: the lines hold until it changes. */
  count: number;
  requests: string;
  durations: string;
  latencies: string;
  /** Only for routes that had a request arrive during a stall. */
  queued: string;
  queuedSeconds: string;
  withWait: string;
}

/**
 * The lines of routes that had no event since the last scrape are reused: building
 * them merges two ~94 KB HDR histograms and walks them for 4 quantiles, ~0.17 ms a
 * route (measured, 1,000 routes: 174 ms a scrape), while an idle route's lines cannot
 * have changed. Kept with the route (a WeakMap), ~3 KB each.
 */
const rendered = new WeakMap<RouteStats, RouteLines>();

/** A histogram's series over the fixed BUCKETS: cumulative bucket counts, +Inf, sum (s) and count. */
function bucketLines(name: string, labels: string, buckets: ArrayLike<number>, sumSeconds: number, count: number): string {
  let out = '';
  let cumulative = 0;
  BUCKETS.forEach(([, le], i) => {
    cumulative += buckets[i]!;
    out += `${name}_bucket{${labels},le="${le}"} ${cumulative}\n`;
  });
  return out + `${name}_bucket{${labels},le="+Inf"} ${count}\n${name}_sum{${labels}} ${sumSeconds}\n${name}_count{${labels}} ${count}\n`;
}

function routeLines(r: RouteStats, now: number, h: Histogram, counts: Float64Array): RouteLines {
  r.advance(now);
  r.collect(null, h, counts);
  const labels = `service="${escapeLabel(r.service)}",method="${escapeLabel(r.method)}",route="${escapeLabel(r.route)}"`;
  let requests = '';
  // 1xx-5xx even at zero: a counter that appears only with its first 5xx hides that
  // first burst from rate(), since Prometheus takes a new series' first value as its
  // starting point. `unknown` (status outside 100-599) only once it happened.
  for (const [cls, n] of Object.entries(statusCounts(counts))) {
    requests += `nodeflight_http_server_requests_total{${labels},status_class="${cls}"} ${n}\n`;
  }
  const count = counts[COUNT]!;
  const sum = r.sumMs / 1000;
  const durations = bucketLines('nodeflight_http_server_request_duration_seconds', labels, r.buckets, sum, count);
  let latencies = '';
  for (const q of QUANTILES) {
    latencies += `nodeflight_http_server_request_latency_seconds{${labels},quantile="${q}"} ${h.getValueAtPercentile(q * 100) / 1e6}\n`;
  }
  latencies +=
    `nodeflight_http_server_request_latency_seconds_sum{${labels}} ${sum}\n` +
    `nodeflight_http_server_request_latency_seconds_count{${labels}} ${count}\n`;
  let queued = '';
  let queuedSeconds = '';
  let withWait = '';
  const w = r.withWait;
  if (w !== null) {
    queued = `nodeflight_http_server_requests_queued_total{${labels}} ${counts[QUEUED]!}\n`;
    queuedSeconds = `nodeflight_http_server_request_queued_seconds_total{${labels}} ${counts[QUEUED_MS]! / 1000}\n`;
    withWait = bucketLines('nodeflight_http_server_request_duration_with_wait_seconds', labels, w.buckets, w.sumMs / 1000, count);
  }
  return { count, requests, durations, latencies, queued, queuedSeconds, withWait };
}

export function renderMetrics({ agg, agents, rejectedFrames, now, series, inflight }: MetricsSource): string {
  const requests: string[] = [];
  const durations: string[] = [];
  const latencies: string[] = [];
  const queued: string[] = [];
  const queuedSeconds: string[] = [];
  const withWait: string[] = [];
  for (const r of agg.list()) {
    let lines = rendered.get(r);
    if (lines === undefined || lines.count !== r.countSinceStart()) {
      lines = routeLines(r, now, agg.scratch, agg.scratchCounts);
      rendered.set(r, lines);
    }
    requests.push(lines.requests);
    durations.push(lines.durations);
    latencies.push(lines.latencies);
    queued.push(lines.queued);
    queuedSeconds.push(lines.queuedSeconds);
    withWait.push(lines.withWait);
  }
  return [
    family('nodeflight_http_server_requests_total', 'counter', 'HTTP requests served, by route and status class.', requests),
    family('nodeflight_http_server_request_duration_seconds', 'histogram', 'HTTP request duration, fixed buckets counted exactly at ingest.', durations),
    family('nodeflight_http_server_request_latency_seconds', 'summary', 'HTTP request duration quantiles from HDR histograms (3 significant digits), since start.', latencies),
    family('nodeflight_http_server_requests_queued_total', 'counter', 'HTTP requests that arrived during an event-loop stall (timed from after it), for routes that had one.', queued),
    family('nodeflight_http_server_request_queued_seconds_total', 'counter', 'Upper bound of the time those requests waited in the stall before Node parsed them.', queuedSeconds),
    family('nodeflight_http_server_request_duration_with_wait_seconds', 'histogram', 'HTTP request duration with the stall wait of queued requests added, for routes that had one; since their first.', withWait),
    family('nodeflight_collector_agents_connected', 'gauge', 'Agents connected now.', [`nodeflight_collector_agents_connected ${agents.connectedCount()}\n`]),
    family('nodeflight_collector_agents', 'gauge', 'Agents this collector knows, by service and connection state.', agentSamples(agents)),
    family('nodeflight_collector_events_received_total', 'counter', 'Events accepted from agents (resent batches counted once).', [`nodeflight_collector_events_received_total ${agents.received}\n`]),
    family('nodeflight_collector_events_dropped_total', 'counter', 'Events agents report lost before the collector acknowledged them.', [`nodeflight_collector_events_dropped_total ${agents.droppedTotal()}\n`]),
    family('nodeflight_collector_frames_rejected_total', 'counter', 'Agent frames refused as malformed, out of protocol or too large.', [`nodeflight_collector_frames_rejected_total ${rejectedFrames}\n`]),
    family('nodeflight_collector_routes', 'gauge', 'Routes the collector keeps statistics for.', [`nodeflight_collector_routes ${agg.routeCount}\n`]),
    family('nodeflight_collector_route_overflow_events_total', 'counter', 'Events counted under a service\'s "other" route because the route cap was reached.', [`nodeflight_collector_route_overflow_events_total ${agg.overflowedEvents()}\n`]),
    ...agentCostFamilies(agents),
  ].join('') + (inflight === undefined ? '' : inflightFamilies(agents, inflight, now))
    + (series === undefined ? '' : renderSeriesMetrics(series, agents, now));
}

function inflightFamilies(agents: AgentRegistry, inflight: InflightStore, now: number): string {
  const { open, oldest } = inflightSamples(agents, inflight, now);
  const openHelp = 'HTTP requests started and not finished, as the connected agents last reported.';
  return family('nodeflight_http_server_requests_in_flight', 'gauge', openHelp, open)
    + family('nodeflight_http_server_oldest_request_in_flight_seconds', 'gauge', 'Age of the oldest HTTP request in flight (0: none).', oldest);
}
