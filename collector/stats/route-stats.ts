// Everything the collector keeps about one route (service, method, route template).
//
// Latency follows HdrHistogramJS's Recorder: events go only into `current`, the
// histogram of the interval in progress. When an event or a query sees that interval
// is over, `current` is added into `total`, kept as the snapshot of its interval, and
// reset. "Since start" is total + current; a window is current + the snapshots it covers.
// Intervals are aligned to multiples of INTERVAL_MS of the collector's clock (arrival
// time, not the agents' clocks), so all routes agree on what a window is.
//
// Memory per route: `current` and `total` are wasm histograms of ~94 KB each; the 60
// snapshots are kept encoded (only non-zero counts: 0.1-9 KB per busy interval,
// measured) instead of as 60 more wasm histograms, which would be ~5.6 MB per busy
// route in wasm memory that is never returned (and capped at 4 GB). /v1/routes reads
// them encoded as they are (LatencySummary); one route's detail decodes each into wasm,
// ~150 µs per interval. Recording pays nothing. Counters add ~4 KB.
import { EventFlag } from '../../protocol/messages.js';
import { Meter, TICK_MS } from './ewma.js';
import { BucketExemplars } from './exemplars.js';
import { addSnapshot, createHistogram, HIGHEST_TRACKABLE_US, snapshot, type Histogram } from './histogram.js';
import { LatencySummary } from './latency-summary.js';

/** Histograms rotate on the meter's tick, so one clock check serves both. */
const INTERVAL_MS = TICK_MS;
/** 5 minutes of interval snapshots. */
const RETAINED_INTERVALS = 60;
export const MAX_WINDOW_MS = INTERVAL_MS * RETAINED_INTERVALS;

/** Prometheus histogram buckets, counted exactly at ingest: [upper bound in ms, `le` label in s]. */
export const BUCKETS: ReadonlyArray<readonly [number, string]> = [
  [1, '0.001'], [2.5, '0.0025'], [5, '0.005'], [10, '0.01'], [25, '0.025'], [50, '0.05'], [100, '0.1'],
  [250, '0.25'], [500, '0.5'], [1000, '1'], [2500, '2.5'], [5000, '5'], [10000, '10'],
];
const BOUNDS_MS = Float64Array.from(BUCKETS, (b) => b[0]);
const NBOUNDS = BOUNDS_MS.length;

/** Layout of a row of interval counters. */
export const COUNT = 0;
export const ABORTED = 1;
/** STATUS + 0 is a status outside 100-599; STATUS + 1..5 are 1xx..5xx. */
export const STATUS = 2;
/** Requests that arrived during a stall (EventFlag.queued), and the sum of their queuedMs. */
export const QUEUED = 8;
export const QUEUED_MS = 9;
export const ROW = 10;

function intervalOf(time: number): number {
  return Math.floor(time / INTERVAL_MS);
}

/** The first interval that overlaps the last `windowMs` before `now`. */
export function firstIntervalOf(now: number, windowMs: number): number {
  return intervalOf(now - windowMs);
}

export interface IntervalPoint {
  start: number;
  end: number;
  count: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export class RouteStats {
  readonly meter = new Meter();
  /** Exact Prometheus bucket counts since start; the last one is +Inf. */
  readonly buckets = new Float64Array(NBOUNDS + 1);
  /** The slowest recent event of each bucket. */
  readonly exemplars = new BucketExemplars(NBOUNDS + 1);
  sumMs = 0;
  /**
   * Latency with the wait of requests that arrived during a stall added (duration +
   * queuedMs), since start: made at the route's first queued event from what it held then,
   * so routes that never saw a stall pay nothing.
   */
  withWait: { histogram: Histogram; buckets: Float64Array; sumMs: number } | null = null;

  private readonly current: Histogram = createHistogram();
  private readonly total: Histogram = createHistogram();
  /** Counters of the interval in progress, and of every closed interval together. */
  private readonly counts = new Float64Array(ROW);
  private readonly totals = new Float64Array(ROW);
  private interval: number;
  private readonly created: number;

  // The ring of closed intervals, slot = interval % RETAINED_INTERVALS. A slot whose
  // `slotInterval` is not the interval asked for holds an older one: that interval was empty.
  private readonly slotInterval = new Float64Array(RETAINED_INTERVALS).fill(-1);
  private readonly slotCounts = new Float64Array(RETAINED_INTERVALS * ROW);
  private readonly slotHistogram: Array<Uint8Array | null> = new Array<Uint8Array | null>(RETAINED_INTERVALS).fill(null);
  /** p50, p99 and max (µs) per slot, taken when the interval closes, for the latency-over-time chart. */
  private readonly slotSummary = new Float64Array(RETAINED_INTERVALS * 3);

  constructor(
    readonly id: string,
    readonly service: string,
    readonly method: string,
    readonly route: string,
    now: number,
  ) {
    this.interval = this.created = intervalOf(now);
  }

  /**
   * The per-event path: no allocation, no clock read (the batch advanced the route once).
   * Returns the event's bucket, for the caller's exemplar check.
   */
  record(durationMs: number, status: number, flags: number, queuedMs: number): number {
    if (flags & EventFlag.queued) this.recordQueued(queuedMs);
    this.current.recordValue(toUs(durationMs));
    const c = this.counts;
    c[COUNT]++;
    c[STATUS + (status >= 100 && status < 600 ? (status / 100) | 0 : 0)]++;
    if (flags & EventFlag.aborted) c[ABORTED]++;
    this.sumMs += durationMs;
    const b = bucketOf(durationMs);
    this.buckets[b]++;
    if (this.withWait !== null) this.recordWithWait(durationMs + (flags & EventFlag.queued ? queuedMs : 0));
    return b;
  }

  // The rare paths live apart so that record() stays small.
  private recordQueued(queuedMs: number): void {
    this.counts[QUEUED]++;
    this.counts[QUEUED_MS] += queuedMs;
    if (this.withWait !== null) return;
    // Seeded with every event before this one, which record() adds with its wait.
    const histogram = createHistogram();
    histogram.add(this.total);
    histogram.add(this.current);
    this.withWait = { histogram, buckets: this.buckets.slice(), sumMs: this.sumMs };
  }

  private recordWithWait(ms: number): void {
    const w = this.withWait!;
    w.histogram.recordValue(toUs(ms));
    w.sumMs += ms;
    w.buckets[bucketOf(ms)]++;
  }

  /** Closes the interval in progress if `now` is past it; cheap when it is not. */
  advance(now: number): void {
    const next = intervalOf(now);
    if (next <= this.interval) return;
    const events = this.counts[COUNT]!;
    this.closeInterval();
    this.exemplars.expire(now);
    this.meter.tick(events, next - this.interval - 1);
    this.interval = next;
  }

  private closeInterval(): void {
    const slot = this.interval % RETAINED_INTERVALS;
    this.slotInterval[slot] = this.interval;
    const row = slot * ROW;
    for (let k = 0; k < ROW; k++) {
      this.slotCounts[row + k] = this.counts[k]!;
      this.totals[k] += this.counts[k]!;
    }
    this.counts.fill(0);
    if (this.current.totalCount === 0) {
      this.slotHistogram[slot] = null;
      return;
    }
    this.slotHistogram[slot] = snapshot(this.current);
    this.slotSummary[slot * 3] = this.current.getValueAtPercentile(50);
    this.slotSummary[slot * 3 + 1] = this.current.getValueAtPercentile(99);
    this.slotSummary[slot * 3 + 2] = this.current.maxValue;
    this.total.add(this.current);
    this.current.reset();
  }

  /** The interval in progress: when it moves on, collect() may answer differently without a new event. */
  get currentInterval(): number {
    return this.interval;
  }

  /** Events since start, including the interval in progress. */
  countSinceStart(): number {
    return this.totals[COUNT]! + this.counts[COUNT]!;
  }

  /**
   * Merges the events from interval `first` on (null: since start) into `latency`
   * and `counts`, which are reset first. Call advance(now) before.
   */
  collect(first: number | null, latency: Histogram | LatencySummary, counts: Float64Array): void {
    latency.reset();
    if (first === null || first <= this.created) {
      latency.add(this.total);
      counts.set(this.totals);
    } else {
      counts.fill(0);
      for (let i = Math.max(first, this.interval - RETAINED_INTERVALS); i < this.interval; i++) {
        const slot = i % RETAINED_INTERVALS;
        if (this.slotInterval[slot] !== i) continue;
        const bytes = this.slotHistogram[slot];
        if (bytes !== null) {
          if (latency instanceof LatencySummary) latency.addSnapshot(bytes);
          else addSnapshot(latency, bytes);
        }
        for (let k = 0; k < ROW; k++) counts[k] += this.slotCounts[slot * ROW + k]!;
      }
    }
    latency.add(this.current);
    for (let k = 0; k < ROW; k++) counts[k] += this.counts[k]!;
  }

  /** One point per interval from `first` (null: as far back as retained) to the one in progress. */
  intervals(first: number | null, now: number): IntervalPoint[] {
    const from = Math.max(first ?? -Infinity, this.created, this.interval - RETAINED_INTERVALS);
    const points: IntervalPoint[] = [];
    for (let i = from; i < this.interval; i++) {
      const slot = i % RETAINED_INTERVALS;
      const held = this.slotInterval[slot] === i && this.slotHistogram[slot] !== null;
      const s = slot * 3;
      points.push(point(i, held ? this.slotCounts[slot * ROW + COUNT]! : 0, this.slotSummary[s]!, this.slotSummary[s + 1]!, this.slotSummary[s + 2]!));
    }
    const c = this.current;
    const last = point(this.interval, this.counts[COUNT]!, c.getValueAtPercentile(50), c.getValueAtPercentile(99), c.maxValue);
    last.end = Math.max(now, last.start); // the interval in progress ends now
    points.push(last);
    return points;
  }

  /** Frees the wasm memory; the route must not be used afterwards. */
  destroy(): void {
    this.current.destroy();
    this.total.destroy();
    this.withWait?.histogram.destroy();
  }
}

function toUs(ms: number): number {
  const us = Math.round(ms * 1000);
  return us < 1 ? 1 : Math.min(us, HIGHEST_TRACKABLE_US);
}

function bucketOf(ms: number): number {
  let b = 0;
  while (b < NBOUNDS && ms > BOUNDS_MS[b]!) b++;
  return b;
}

function point(interval: number, count: number, p50: number, p99: number, max: number): IntervalPoint {
  const ms = (us: number): number | null => (count === 0 ? null : Math.round(us) / 1000);
  return { start: interval * INTERVAL_MS, end: (interval + 1) * INTERVAL_MS, count, p50: ms(p50), p99: ms(p99), max: ms(max) };
}
