// The Prometheus series of the agents' streams, appended to GET /metrics by metrics.ts.
// Same conventions: base units (seconds, bytes), counters end in _total, histograms have
// fixed buckets counted exactly at ingest. Label cardinality is bounded by the caps of
// stats/series-store.ts:
//   - outbound: per (service, method, origin), at most `maxOutbound` (2,000) routes, the
//     rest under origin="other", method="*"; 6 status classes + 14 buckets + sum + count;
//     errors by code, at most 32 codes per route;
//   - runtime gauges and CPU counters: per connected agent (service, agent id), 10 series
//     each; the registry holds at most `maxAgents` (1,000) agents;
//   - pauses: per (service, kind), at most 16 kinds, 16 series each.
import type { AgentRegistry } from '../ingest/agents.js';
import { COUNT, BUCKETS } from '../stats/route-stats.js';
import { statusCounts } from './route-view.js';
import { PAUSE_BUCKETS, type SeriesStore } from '../stats/series-store.js';
import type { SampleRow } from '../stats/timeline.js';

const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function family(name: string, type: string, help: string, samples: string[]): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${samples.join('')}`;
}

/** A histogram's lines from per-bucket (not cumulative) counts, the last one +Inf. */
function histogram(name: string, labels: string, bounds: ReadonlyArray<readonly [number, string]>, buckets: Float64Array, count: number, sumSeconds: number): string {
  let lines = '';
  let cumulative = 0;
  bounds.forEach(([, le], i) => {
    cumulative += buckets[i]!;
    lines += `${name}_bucket{${labels},le="${le}"} ${cumulative}\n`;
  });
  return `${lines}${name}_bucket{${labels},le="+Inf"} ${count}\n${name}_sum{${labels}} ${sumSeconds}\n${name}_count{${labels}} ${count}\n`;
}

const GAUGES: ReadonlyArray<readonly [string, string, (s: SampleRow) => number]> = [
  ['nodeflight_runtime_eventloop_delay_p50_seconds', 'Event-loop delay, median over the last sample period.', (s) => s.loopDelayMs.p50 / 1000],
  ['nodeflight_runtime_eventloop_delay_p99_seconds', 'Event-loop delay, 99th percentile over the last sample period.', (s) => s.loopDelayMs.p99 / 1000],
  ['nodeflight_runtime_eventloop_delay_max_seconds', 'Event-loop delay, maximum over the last sample period.', (s) => s.loopDelayMs.max / 1000],
  ['nodeflight_runtime_eventloop_utilization_ratio', 'Event-loop utilisation over the last sample period, 0 to 1.', (s) => s.elu],
  ['nodeflight_runtime_heap_used_bytes', 'V8 heap used at the last sample.', (s) => s.heapUsedBytes],
  ['nodeflight_runtime_heap_total_bytes', 'V8 heap size at the last sample.', (s) => s.heapTotalBytes],
  ['nodeflight_runtime_resident_memory_bytes', 'Resident set size at the last sample.', (s) => s.rssBytes],
];

export function renderSeriesMetrics(series: SeriesStore, agents: AgentRegistry, now: number): string {
  const out = series.outbound;
  const requests: string[] = [];
  const durations: string[] = [];
  const errors: string[] = [];
  for (const r of out.list()) {
    r.advance(now);
    r.collect(null, out.scratch, out.scratchCounts);
    const labels = `service="${escape(r.service)}",method="${escape(r.method)}",origin="${escape(r.route)}"`;
    const { unknown = 0, ...classes } = statusCounts(out.scratchCounts);
    for (const [cls, n] of Object.entries({ ...classes, error: unknown })) requests.push(`nodeflight_http_client_requests_total{${labels},status_class="${cls}"} ${n}\n`);
    durations.push(histogram('nodeflight_http_client_request_duration_seconds', labels, BUCKETS, r.buckets, out.scratchCounts[COUNT]!, r.sumMs / 1000));
    for (const [code, n] of Object.entries(series.errorsOf(r.id))) errors.push(`nodeflight_http_client_errors_total{${labels},code="${escape(code)}"} ${n}\n`);
  }

  const connected = new Set(agents.list().filter((a) => a.link !== null).map((a) => a.id));
  const gauges: string[][] = GAUGES.map(() => []);
  const cpuUser: string[] = [];
  const cpuSystem: string[] = [];
  for (const t of series.allTimelines()) {
    const s = t.lastSample();
    if (s === null || !connected.has(t.agentId)) continue;
    const labels = `service="${escape(t.service)}",agent="${escape(t.agentId)}"`;
    GAUGES.forEach(([name, , value], i) => gauges[i]!.push(`${name}{${labels}} ${value(s)}\n`));
    cpuUser.push(`nodeflight_runtime_cpu_user_seconds_total{${labels}} ${t.cpuUserUs / 1e6}\n`);
    cpuSystem.push(`nodeflight_runtime_cpu_system_seconds_total{${labels}} ${t.cpuSystemUs / 1e6}\n`);
  }

  const pauses: string[] = [];
  for (const [service, byKind] of series.pauseCounts) {
    for (const [kind, p] of byKind) {
      pauses.push(histogram('nodeflight_runtime_pause_duration_seconds', `service="${escape(service)}",kind="${escape(kind)}"`, PAUSE_BUCKETS, p.buckets, p.count, p.sumMs / 1000));
    }
  }

  return [
    family('nodeflight_http_client_requests_total', 'counter', 'Outbound HTTP calls, by origin and status class ("error": no response).', requests),
    family('nodeflight_http_client_request_duration_seconds', 'histogram', 'Outbound HTTP call duration until the response headers, fixed buckets counted exactly at ingest.', durations),
    family('nodeflight_http_client_errors_total', 'counter', 'Outbound HTTP calls that failed before a response, by error code.', errors),
    ...GAUGES.map(([name, help], i) => family(name, 'gauge', help, gauges[i]!)),
    family('nodeflight_runtime_cpu_user_seconds_total', 'counter', 'Process user CPU time sampled since the collector first heard of the agent.', cpuUser),
    family('nodeflight_runtime_cpu_system_seconds_total', 'counter', 'Process system CPU time sampled since the collector first heard of the agent.', cpuSystem),
    family('nodeflight_runtime_pause_duration_seconds', 'histogram', 'Garbage-collection pauses and event-loop stalls, by kind.', pauses),
  ].join('');
}
