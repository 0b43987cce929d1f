// GET /metrics in the Prometheus text format 0.0.4. Latency is exposed twice: as a
// histogram with fixed buckets counted exactly at ingest (so PromQL can sum it across
// collectors and services) and as a summary whose quantiles come from the HDR
// histograms (exact to 3 digits, but not aggregatable). Values are since start.
import type { AgentRegistry } from './agents.js';
import type { Aggregator } from './aggregator.js';
import { statusCounts } from './route-view.js';
import { BUCKETS, COUNT } from './route-stats.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const QUANTILES = [0.5, 0.9, 0.99, 0.999];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function family(name: string, type: string, help: string, samples: string[]): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${samples.join('')}`;
}

export interface MetricsSource {
  agg: Aggregator;
  agents: AgentRegistry;
  rejectedFrames: number;
  now: number;
}

export function renderMetrics({ agg, agents, rejectedFrames, now }: MetricsSource): string {
  const requests: string[] = [];
  const durations: string[] = [];
  const latencies: string[] = [];
  const h = agg.scratch;
  const counts = agg.scratchCounts;
  for (const r of agg.list()) {
    r.advance(now);
    r.collect(null, h, counts);
    const labels = `service="${escapeLabel(r.service)}",method="${escapeLabel(r.method)}",route="${escapeLabel(r.route)}"`;
    for (const [cls, n] of Object.entries(statusCounts(counts))) {
      if (n > 0) requests.push(`nodeflight_http_server_requests_total{${labels},status_class="${cls}"} ${n}\n`);
    }
    const count = counts[COUNT]!;
    const sum = r.sumMs / 1000;
    let cumulative = 0;
    BUCKETS.forEach(([, le], i) => {
      cumulative += r.buckets[i]!;
      durations.push(`nodeflight_http_server_request_duration_seconds_bucket{${labels},le="${le}"} ${cumulative}\n`);
    });
    durations.push(
      `nodeflight_http_server_request_duration_seconds_bucket{${labels},le="+Inf"} ${count}\n`,
      `nodeflight_http_server_request_duration_seconds_sum{${labels}} ${sum}\n`,
      `nodeflight_http_server_request_duration_seconds_count{${labels}} ${count}\n`,
    );
    for (const q of QUANTILES) {
      latencies.push(`nodeflight_http_server_request_latency_seconds{${labels},quantile="${q}"} ${h.getValueAtPercentile(q * 100) / 1e6}\n`);
    }
    latencies.push(
      `nodeflight_http_server_request_latency_seconds_sum{${labels}} ${sum}\n`,
      `nodeflight_http_server_request_latency_seconds_count{${labels}} ${count}\n`,
    );
  }
  return [
    family('nodeflight_http_server_requests_total', 'counter', 'HTTP requests served, by route and status class.', requests),
    family('nodeflight_http_server_request_duration_seconds', 'histogram', 'HTTP request duration, fixed buckets counted exactly at ingest.', durations),
    family('nodeflight_http_server_request_latency_seconds', 'summary', 'HTTP request duration quantiles from HDR histograms (3 significant digits), since start.', latencies),
    family('nodeflight_collector_agents_connected', 'gauge', 'Agents connected now.', [`nodeflight_collector_agents_connected ${agents.connectedCount()}\n`]),
    family('nodeflight_collector_events_received_total', 'counter', 'Events accepted from agents (resent batches counted once).', [`nodeflight_collector_events_received_total ${agents.received}\n`]),
    family('nodeflight_collector_events_dropped_total', 'counter', 'Events agents report lost before the collector acknowledged them.', [`nodeflight_collector_events_dropped_total ${agents.droppedTotal()}\n`]),
    family('nodeflight_collector_frames_rejected_total', 'counter', 'Agent frames refused as malformed, out of protocol or too large.', [`nodeflight_collector_frames_rejected_total ${rejectedFrames}\n`]),
    family('nodeflight_collector_routes', 'gauge', 'Routes the collector keeps statistics for.', [`nodeflight_collector_routes ${agg.routeCount}\n`]),
  ].join('');
}
