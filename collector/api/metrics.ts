// GET /metrics, in the format the scraper asks for (exposition.ts): text 0.0.4,
// OpenMetrics text or protobuf. Latency is exposed twice: as a histogram whose classic
// buckets are counted exactly at ingest, each with the slowest recent request that fell
// in it as exemplar (OpenMetrics and protobuf), and whose native buckets (protobuf only)
// come from the HDR histograms; and as a summary whose quantiles come from the HDR
// histograms (exact to 3 digits, but not aggregatable). Values are since start.
//
// Names follow Prometheus's conventions (base units: seconds; counters end in _total)
// and `promtool check metrics` accepts the text (test/prometheus.test.ts). Label
// cardinality is bounded by the collector's caps: at most `maxRoutes` (2,000) routes,
// past which a service's new routes are counted under route="other", method="*". A
// route is 27 text series (5 status classes, 14 buckets, sum and count; 4 quantiles, sum
// and count). The agent and in-flight gauges are 2 series per service each, and the
// registry holds at most `maxAgents` (1,000) agents.
import type { AgentRegistry } from '../ingest/agents.js';
import type { Aggregator } from '../stats/aggregator.js';
import type { InflightStore } from '../stats/inflight-store.js';
import type { Format, Labels, MetricType } from './exposition.js';
import { renderRoutes, scalarFamily, Slicer, type RouteFamily } from './route-metrics.js';
import { renderSeriesFamilies } from './series-metrics.js';
import type { SeriesStore } from '../stats/series-store.js';

const SERVER_FAMILIES: RouteFamily[] = [
  {
    head: { name: 'nodeflight_http_server_requests_total', type: 'counter', help: 'HTTP requests served, by route and status class.' },
    // 1xx-5xx even at zero: a counter that appears only with its first 5xx hides that
    // first burst from rate(), since Prometheus takes a new series' first value as its
    // starting point. `unknown` (status outside 100-599) only once it happened.
    metrics: (f, labels, s) => Object.entries(s.classes).map(([cls, n]) => f.scalar(SERVER_FAMILIES[0]!.head, [...labels, ['status_class', cls]], n)),
  },
  {
    head: {
      name: 'nodeflight_http_server_request_duration_seconds',
      type: 'histogram',
      help: 'HTTP request duration: classic buckets counted exactly at ingest, native buckets (schema 7) from the HDR histograms.',
    },
    metrics: (f, labels, s) => [f.histogram(SERVER_FAMILIES[1]!.head, labels, s.histogram)],
  },
  {
    head: { name: 'nodeflight_http_server_request_latency_seconds', type: 'summary', help: 'HTTP request duration quantiles from HDR histograms (3 significant digits), since start.' },
    metrics: (f, labels, s) => [f.summary(SERVER_FAMILIES[2]!.head, labels, s.summary)],
  },
  {
    head: { name: 'nodeflight_http_server_requests_queued_total', type: 'counter', help: 'HTTP requests that arrived during an event-loop stall (timed from after it), for routes that had one.' },
    metrics: (f, labels, s) => (s.queued === null ? [] : [f.scalar(SERVER_FAMILIES[3]!.head, labels, s.queued.count)]),
  },
  {
    head: { name: 'nodeflight_http_server_request_queued_seconds_total', type: 'counter', help: 'Upper bound of the time those requests waited in the stall before Node parsed them.' },
    metrics: (f, labels, s) => (s.queued === null ? [] : [f.scalar(SERVER_FAMILIES[4]!.head, labels, s.queued.waitSeconds)]),
  },
  {
    head: {
      name: 'nodeflight_http_server_request_duration_with_wait_seconds',
      type: 'histogram',
      help: 'HTTP request duration with the stall wait of queued requests added, for routes that had one; since their first.',
    },
    metrics: (f, labels, s) => (s.withWait === null ? [] : [f.histogram(SERVER_FAMILIES[5]!.head, labels, s.withWait)]),
  },
];

/** What each connected agent reports it spends, and what it lost (agent-cost.ts). */
function agentCostScalars(agents: AgentRegistry): Array<[string, MetricType, string, Array<[Labels, number]>]> {
  const cpu: Array<[Labels, number]> = [];
  const share: Array<[Labels, number]> = [];
  const perRequest: Array<[Labels, number]> = [];
  const bytes: Array<[Labels, number]> = [];
  const lost: Array<[Labels, number]> = [];
  for (const a of agents.list()) {
    const c = a.cost.latest;
    if (a.link === null || c === undefined) continue;
    const labels: Labels = [['service', a.service], ['agent', a.id]];
    const j = a.cost.json()!;
    cpu.push([labels, c.workUs / 1e6]);
    if (j.shareOfProcess !== null) share.push([labels, j.shareOfProcess]);
    perRequest.push([labels, c.nsPerRequest / 1e9]);
    bytes.push([labels, c.bytesSent]);
    for (const [stream, n] of Object.entries({ events: a.counters.dropped, ...a.streamsDropped })) lost.push([[...labels, ['stream', stream]], n]);
  }
  return [
    ['nodeflight_agent_cpu_seconds_total', 'counter', 'Estimated main-thread CPU time the agent spent (sampled hooks, flush, timers), as it reports.', cpu],
    ['nodeflight_agent_process_cpu_share_ratio', 'gauge', 'The agent\'s share of its process\'s CPU time over the last reports (up to 10 s).', share],
    ['nodeflight_agent_request_hook_seconds', 'gauge', 'Estimated hook work per HTTP request (start + finish), sampled.', perRequest],
    ['nodeflight_agent_sent_bytes_total', 'counter', 'Bytes the agent wrote to the collector, resends included.', bytes],
    ['nodeflight_agent_data_lost_total', 'counter', 'Rows the agent recorded and lost before they were delivered, by stream (as JFR\'s jdk.DataLoss).', lost],
  ];
}

/**
 * Both states for every service, zeros included, so that an alert can see a service
 * whose agents all went away. Bounded: the registry holds at most `maxAgents` agents.
 */
function agentSamples(agents: AgentRegistry): Array<[Labels, number]> {
  const byService = new Map<string, [connected: number, disconnected: number]>();
  for (const a of agents.list()) {
    let n = byService.get(a.service);
    if (n === undefined) byService.set(a.service, (n = [0, 0]));
    n[a.link === null ? 1 : 0]++;
  }
  const samples: Array<[Labels, number]> = [];
  for (const [service, [connected, disconnected]] of [...byService].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    samples.push([[['service', service], ['state', 'connected']], connected], [[['service', service], ['state', 'disconnected']], disconnected]);
  }
  return samples;
}

/**
 * Requests open now and the age of the oldest, per service of the connected agents, zeros
 * included, so that an alert can fire on a request stuck for minutes. An agent's snapshot
 * is a flush or two old; ages are counted to now. Bounded as agentSamples.
 */
function inflightSamples(
  agents: AgentRegistry, inflight: InflightStore, now: number,
): { open: Array<[Labels, number]>; oldest: Array<[Labels, number]> } {
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
  const open: Array<[Labels, number]> = [];
  const oldest: Array<[Labels, number]> = [];
  for (const [service, [n, ms]] of [...byService].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    open.push([[['service', service]], n]);
    oldest.push([[['service', service]], ms / 1000]);
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

const one = (value: number): Array<[Labels, number]> => [[[], value]];

export async function renderMetrics<P>(f: Format<P>, { agg, agents, rejectedFrames, now, series, inflight }: MetricsSource): Promise<Buffer> {
  const slicer = new Slicer();
  const routes = await renderRoutes(f, agg, now, SERVER_FAMILIES, 'route', slicer);
  const families: P[][] = SERVER_FAMILIES.map((fam, i) => f.family(f.head(fam.head), routes[i]!));
  const scalars: Array<[string, MetricType, string, Array<[Labels, number]>]> = [
    ['nodeflight_collector_agents_connected', 'gauge', 'Agents connected now.', one(agents.connectedCount())],
    ['nodeflight_collector_agents', 'gauge', 'Agents this collector knows, by service and connection state.', agentSamples(agents)],
    ['nodeflight_collector_events_received_total', 'counter', 'Events accepted from agents (resent batches counted once).', one(agents.received)],
    ['nodeflight_collector_events_dropped_total', 'counter', 'Events agents report lost before the collector acknowledged them.', one(agents.droppedTotal())],
    ['nodeflight_collector_frames_rejected_total', 'counter', 'Agent frames refused as malformed, out of protocol or too large.', one(rejectedFrames)],
    ['nodeflight_collector_routes', 'gauge', 'Routes the collector keeps statistics for.', one(agg.routeCount)],
    ['nodeflight_collector_route_overflow_events_total', 'counter', 'Events counted under a service\'s "other" route because the route cap was reached.', one(agg.overflowedEvents())],
    ['nodeflight_collector_service_overflow_events_total', 'counter', 'Events counted under service "*" because the service cap was reached.', one(agg.foldedServiceEvents())],
  ];
  if (inflight !== undefined) {
    const { open, oldest } = inflightSamples(agents, inflight, now);
    const openHelp = 'HTTP requests started and not finished, as the connected agents last reported.';
    scalars.push(
      ['nodeflight_http_server_requests_in_flight', 'gauge', openHelp, open],
      ['nodeflight_http_server_oldest_request_in_flight_seconds', 'gauge', 'Age of the oldest HTTP request in flight (0: none).', oldest],
    );
  }
  scalars.push(...agentCostScalars(agents));
  for (const [name, type, help, samples] of scalars) families.push(scalarFamily(f, { name, type, help }, samples));
  if (series !== undefined) families.push(...await renderSeriesFamilies(f, series, agents, now, slicer));
  return f.body(families);
}
