// The JSON form of a route, as /v1/routes and /v1/routes/:id answer it.
import type { Aggregator } from '../stats/aggregator.js';
import { encodeCompressed, latencyMs, percentileDistribution, type Histogram } from '../stats/histogram.js';
import type { LatencySummary } from '../stats/latency-summary.js';
import { ABORTED, COUNT, QUEUED, QUEUED_MS, STATUS, firstIntervalOf, type RouteStats } from '../stats/route-stats.js';
import type { RouteDetailJson, RouteJson } from '../stats/route-json.js';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** The statuses of a counter row; `unknown` (outside 100-599) appears only when it happened. */
export function statusCounts(counts: Float64Array): Record<string, number> {
  const status: Record<string, number> = {};
  STATUS_CLASSES.forEach((name, i) => (status[name] = counts[STATUS + 1 + i]!));
  if (counts[STATUS]! > 0) status.unknown = counts[STATUS]!;
  return status;
}

/**
 * The route over the last `windowMs` (undefined: since start), its events merged into
 * `latency`; `latencyMs` is left null for the caller to fill from it.
 */
function collectJson(agg: Aggregator, r: RouteStats, now: number, windowMs: number | undefined, latency: Histogram | LatencySummary): RouteJson {
  r.advance(now);
  const counts = agg.scratchCounts;
  r.collect(windowMs === undefined ? null : firstIntervalOf(now, windowMs), latency, counts);
  return {
    id: r.id,
    service: r.service,
    method: r.method,
    route: r.route,
    count: counts[COUNT]!,
    rate: { m1: r.meter.m1, m5: r.meter.m5, m15: r.meter.m15 },
    status: statusCounts(counts),
    aborted: counts[ABORTED]!,
    latencyMs: null,
    queued: { count: counts[QUEUED]!, waitMs: Math.round(counts[QUEUED_MS]! * 1000) / 1000 },
    latencyWithWaitMs: r.withWait === null ? null : latencyMs(r.withWait.histogram),
  };
}

/**
 * A route's last answer, reused while nothing it depends on moved: the window's first
 * interval, the interval in progress (closing it turns raw min and max into bucket
 * edges) and the events since start. An idle route then costs no histogram work; the
 * rates are read fresh, as they decay without events. Kept with the route (a WeakMap).
 */
interface Answer { first: number | null; interval: number; events: number; json: RouteJson }
const answers = new WeakMap<RouteStats, Answer>();

export function routeJson(agg: Aggregator, r: RouteStats, now: number, windowMs: number | undefined): RouteJson {
  r.advance(now);
  const first = windowMs === undefined ? null : firstIntervalOf(now, windowMs);
  const last = answers.get(r);
  if (last !== undefined && last.first === first && last.interval === r.currentInterval && last.events === r.countSinceStart()) {
    return { ...last.json, rate: { m1: r.meter.m1, m5: r.meter.m5, m15: r.meter.m15 } };
  }
  const json = collectJson(agg, r, now, windowMs, agg.summary);
  if (json.count > 0) json.latencyMs = agg.summary.latencyMs();
  answers.set(r, { first, interval: r.currentInterval, events: r.countSinceStart(), json });
  return json;
}

/** The detail needs the merged histogram itself, for its encoding and distribution, so it merges in wasm. */
export function routeDetailJson(agg: Aggregator, r: RouteStats, now: number, windowMs: number | undefined): RouteDetailJson {
  const json = collectJson(agg, r, now, windowMs, agg.scratch);
  return {
    ...json,
    latencyMs: json.count === 0 ? null : latencyMs(agg.scratch),
    histogram: percentileDistribution(agg.scratch),
    hdr: encodeCompressed(agg.scratch),
    intervals: r.intervals(windowMs === undefined ? null : firstIntervalOf(now, windowMs), now),
  };
}
