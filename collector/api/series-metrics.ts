// The Prometheus series of the agents' outbound calls, runtime and pauses, appended to GET /metrics by metrics.ts.
// Same conventions: base units (seconds, bytes), counters end in _total, histograms have
// classic buckets counted exactly at ingest and native buckets (protobuf only). Label
// cardinality is bounded by the caps of stats/series-store.ts:
//   - outbound: per (service, method, origin), at most `maxOutbound` (2,000) routes, the
//     rest under origin="other", method="*"; 6 status classes + 14 buckets + sum + count;
//     errors by code, at most 32 codes per route;
//   - runtime gauges and CPU counters: per connected agent (service, agent id), 10 series
//     each; the registry holds at most `maxAgents` (1,000) agents;
//   - pauses: per (service, kind), at most 16 kinds, 16 series each.
// The event-loop delay is not a histogram here: agents send its percentiles per sample
// period, not its values, so it stays three gauges.
import type { AgentRegistry } from '../ingest/agents.js';
import type { FamilyHead, Format, Labels } from './exposition.js';
import { renderRoutes, scalarFamily, type RouteFamily, type Slicer } from './route-metrics.js';
import { PAUSE_BUCKETS, type SeriesStore } from '../stats/series-store.js';
import type { SampleRow } from '../stats/timeline.js';

const GAUGES: ReadonlyArray<readonly [string, string, (s: SampleRow) => number]> = [
  ['nodeflight_runtime_eventloop_delay_p50_seconds', 'Event-loop delay, median over the last sample period.', (s) => s.loopDelayMs.p50 / 1000],
  ['nodeflight_runtime_eventloop_delay_p99_seconds', 'Event-loop delay, 99th percentile over the last sample period.', (s) => s.loopDelayMs.p99 / 1000],
  ['nodeflight_runtime_eventloop_delay_max_seconds', 'Event-loop delay, maximum over the last sample period.', (s) => s.loopDelayMs.max / 1000],
  ['nodeflight_runtime_eventloop_utilization_ratio', 'Event-loop utilisation over the last sample period, 0 to 1.', (s) => s.elu],
  ['nodeflight_runtime_heap_used_bytes', 'V8 heap used at the last sample.', (s) => s.heapUsedBytes],
  ['nodeflight_runtime_heap_total_bytes', 'V8 heap size at the last sample.', (s) => s.heapTotalBytes],
  ['nodeflight_runtime_resident_memory_bytes', 'Resident set size at the last sample.', (s) => s.rssBytes],
];

const OUTBOUND_FAMILIES: RouteFamily[] = [
  {
    head: { name: 'nodeflight_http_client_requests_total', type: 'counter', help: 'Outbound HTTP calls, by origin and status class ("error": no response).' },
    metrics(f, labels, s) {
      const { unknown = 0, ...classes } = s.classes;
      return Object.entries({ ...classes, error: unknown }).map(([cls, n]) => f.scalar(OUTBOUND_FAMILIES[0]!.head, [...labels, ['status_class', cls]], n));
    },
  },
  {
    head: {
      name: 'nodeflight_http_client_request_duration_seconds',
      type: 'histogram',
      help: 'Outbound HTTP call duration until the response headers: classic buckets counted exactly at ingest, native buckets (schema 7) from the HDR histograms.',
    },
    metrics: (f, labels, s) => [f.histogram(OUTBOUND_FAMILIES[1]!.head, labels, s.histogram)],
  },
];

const ERRORS: FamilyHead = { name: 'nodeflight_http_client_errors_total', type: 'counter', help: 'Outbound HTTP calls that failed before a response, by error code.' };
const PAUSES: FamilyHead = { name: 'nodeflight_runtime_pause_duration_seconds', type: 'histogram', help: 'Garbage-collection pauses and event-loop stalls, by kind.' };
const PAUSE_BOUNDS_S = [...PAUSE_BUCKETS.map(([ms]) => ms / 1000), Infinity];

export async function renderSeriesFamilies<P>(f: Format<P>, series: SeriesStore, agents: AgentRegistry, now: number, slicer: Slicer): Promise<P[][]> {
  const out = series.outbound;
  const [requests, durations] = await renderRoutes(f, out, now, OUTBOUND_FAMILIES, 'origin', slicer);
  const errors: Array<[Labels, number]> = [];
  for (const r of out.list()) {
    for (const [code, n] of Object.entries(series.errorsOf(r.id))) errors.push([[['service', r.service], ['method', r.method], ['origin', r.route], ['code', code]], n]);
  }

  const connected = new Set(agents.list().filter((a) => a.link !== null).map((a) => a.id));
  const gauges: Array<Array<[Labels, number]>> = GAUGES.map(() => []);
  const cpuUser: Array<[Labels, number]> = [];
  const cpuSystem: Array<[Labels, number]> = [];
  for (const t of series.allTimelines()) {
    const s = t.lastSample();
    if (s === null || !connected.has(t.agentId)) continue;
    const labels: Labels = [['service', t.service], ['agent', t.agentId]];
    GAUGES.forEach(([, , value], i) => gauges[i]!.push([labels, value(s)]));
    cpuUser.push([labels, t.cpuUserUs / 1e6]);
    cpuSystem.push([labels, t.cpuSystemUs / 1e6]);
  }

  const pauses: P[] = [];
  for (const [service, byKind] of series.pauseCounts) {
    for (const [kind, p] of byKind) {
      let cumulative = 0;
      const buckets = PAUSE_BOUNDS_S.map((le, i) => ({ le, cumulative: (cumulative += p.buckets[i]!), exemplar: null }));
      const histogram = { count: p.count, sum: p.sumMs / 1000, buckets, native: p.native.buckets(), zeroCount: p.native.zeroCount };
      pauses.push(f.histogram(PAUSES, [['service', service], ['kind', kind]], histogram));
    }
  }

  return [
    f.family(f.head(OUTBOUND_FAMILIES[0]!.head), requests!),
    f.family(f.head(OUTBOUND_FAMILIES[1]!.head), durations!),
    scalarFamily(f, ERRORS, errors),
    ...GAUGES.map(([name, help], i) => scalarFamily(f, { name, type: 'gauge', help }, gauges[i]!)),
    scalarFamily(f, { name: 'nodeflight_runtime_cpu_user_seconds_total', type: 'counter', help: 'Process user CPU time sampled since the collector first heard of the agent.' }, cpuUser),
    scalarFamily(f, { name: 'nodeflight_runtime_cpu_system_seconds_total', type: 'counter', help: 'Process system CPU time sampled since the collector first heard of the agent.' }, cpuSystem),
    f.family(f.head(PAUSES), pauses),
  ];
}
