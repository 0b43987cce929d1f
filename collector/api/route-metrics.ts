// The per-route part of /metrics, for server routes (metrics.ts) and outbound origins
// (series-metrics.ts): a route's figures since start as one sample, rendered into each
// format's pieces. A scrape never holds the event loop for long: routes are rendered a
// slice at a time (SLICE_MS), and a route's pieces are kept until its next event.
import type { Aggregator } from '../stats/aggregator.js';
import {
  fitExemplarLabels, type BucketSample, type FamilyHead, type Format, type HistogramSample, type Labels, type SummarySample,
} from './exposition.js';
import { fromHdr } from '../stats/native-histogram.js';
import { statusCounts } from './route-view.js';
import { BUCKETS, COUNT, QUEUED, QUEUED_MS, type RouteStats } from '../stats/route-stats.js';

/** The longest a scrape runs before it lets the event loop turn (ingest, other requests). */
const SLICE_MS = 5;

const QUANTILES: ReadonlyArray<readonly [number, 'p50' | 'p90' | 'p99' | 'p999']> = [[0.5, 'p50'], [0.9, 'p90'], [0.99, 'p99'], [0.999, 'p999']];
const BOUNDS_S = [...BUCKETS.map(([ms]) => ms / 1000), Infinity];

/** Lets the event loop turn once the current slice has run SLICE_MS. */
export class Slicer {
  private start = performance.now();

  async pause(): Promise<void> {
    if (performance.now() - this.start < SLICE_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.start = performance.now();
  }
}

/** A route's figures since start, what every format renders. */
export interface RouteSample {
  count: number;
  /** Requests by status class: 1xx..5xx always, `unknown` once it happened. */
  classes: Record<string, number>;
  histogram: HistogramSample;
  summary: SummarySample;
  /** Requests that arrived during a stall and their summed wait (s); null while the route had none. */
  queued: { count: number; waitSeconds: number } | null;
  /** The duration histogram with those waits added (classic buckets only); null likewise. */
  withWait: HistogramSample | null;
}

/** `agg` is the aggregator `r` belongs to: its scratch holds the merge. */
export function routeSample(agg: Aggregator, r: RouteStats, now: number): RouteSample {
  r.advance(now);
  r.collect(null, agg.summary, agg.scratchCounts);
  const count = agg.scratchCounts[COUNT]!;
  const sum = r.sumMs / 1000;
  const buckets: BucketSample[] = [];
  let cumulative = 0;
  for (let b = 0; b < BOUNDS_S.length; b++) {
    cumulative += r.buckets[b]!;
    const e = r.exemplars.get(b);
    const exemplar = e === null ? null : { labels: fitExemplarLabels([['agent', e.agent], ['path', e.path]]), value: e.durationMs / 1000, timestampMs: e.endMs };
    buckets.push({ le: BOUNDS_S[b]!, cumulative, exemplar });
  }
  const w = r.withWait;
  let withWait: HistogramSample | null = null;
  if (w !== null) {
    let waited = 0;
    const waitBuckets = BOUNDS_S.map((le, i) => ({ le, cumulative: (waited += w.buckets[i]!), exemplar: null }));
    withWait = { count, sum: w.sumMs / 1000, buckets: waitBuckets, native: null, zeroCount: 0 };
  }
  const c = agg.scratchCounts;
  const queued = w === null ? null : { count: c[QUEUED]!, waitSeconds: c[QUEUED_MS]! / 1000 };
  const latency = agg.summary.totalCount > 0 ? agg.summary.latencyMs() : null;
  return {
    count,
    classes: statusCounts(agg.scratchCounts),
    histogram: { count, sum, buckets, native: fromHdr(agg.summary), zeroCount: 0 },
    summary: { count, sum, quantiles: QUANTILES.map(([q, key]) => [q, latency === null ? 0 : Math.round(latency[key] * 1000) / 1e6]) },
    queued,
    withWait,
  };
}

/** The families of a kind of route (server routes, outbound origins): each turns a route's sample into its metrics. */
export interface RouteFamily {
  head: FamilyHead;
  metrics<P>(f: Format<P>, labels: Labels, s: RouteSample, r: RouteStats): P[];
}

interface Cached {
  count: number;
  sample: RouteSample;
  /** Per format name, the route's pieces of each family. */
  pieces: Map<string, unknown[][]>;
}

/**
 * Kept with the route (a WeakMap) until its next event: building a sample merges the
 * route's HDR histograms and walks them (measured: BENCHMARKS.md, "/metrics").
 */
const cache = new WeakMap<RouteStats, Cached>();

/**
 * The pieces of `families` over `agg`'s routes, one array of metric pieces per family.
 * A route that went away between two slices is left out.
 */
export async function renderRoutes<P>(f: Format<P>, agg: Aggregator, now: number, families: RouteFamily[], label: string, slicer: Slicer): Promise<P[][]> {
  const out: P[][] = families.map(() => []);
  for (const r of agg.list()) {
    if (agg.get(r.id) !== r) continue;
    let c = cache.get(r);
    if (c === undefined || c.count !== r.countSinceStart()) {
      c = { count: r.countSinceStart(), sample: routeSample(agg, r, now), pieces: new Map() };
      cache.set(r, c);
    }
    let pieces = c.pieces.get(f.name) as P[][] | undefined;
    if (pieces === undefined) {
      const labels: Labels = [['service', r.service], ['method', r.method], [label, r.route]];
      pieces = families.map((fam) => fam.metrics(f, labels, c.sample, r));
      c.pieces.set(f.name, pieces);
    }
    pieces.forEach((p, i) => out[i]!.push(...p));
    await slicer.pause();
  }
  return out;
}

/** A family of plain samples: [labels, value] each. */
export function scalarFamily<P>(f: Format<P>, head: FamilyHead, samples: ReadonlyArray<readonly [Labels, number]>): P[] {
  return f.family(f.head(head), samples.map(([labels, value]) => f.scalar(head, labels, value)));
}
