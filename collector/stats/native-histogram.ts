// Prometheus native (exponential, sparse) histogram buckets, derived from the counts of
// an HDR histogram (server routes, outbound origins) or counted from raw values (pauses).
//
// Schema 7: each power of two is split into 128 buckets, bucket i holding (2^((i-1)/128),
// 2^(i/128)] seconds, 0.54 % wide. Schema 6 (1.09 %) is over the 1 % asked for; schema 8
// (0.27 %) would be under three HDR widths (3 significant digits: 2^-10, 0.098 %), so a
// good share of each bucket's content would be HDR placement rather than measurement, at
// twice the buckets per series. docs/prometheus.md, "Native histograms and exemplars", has the error bound.
import { lowestAt, widthAt, type LatencySummary } from './latency-summary.js';

export const SCHEMA = 7;
/** Relative width of a bucket at SCHEMA: its upper bound over its lower bound, minus one. */
export const BUCKET_WIDTH = 2 ** (2 ** -SCHEMA) - 1;
/**
 * Nothing is ever this small (values are at least 1 µs), but a non-zero threshold marks
 * the histogram as native even before it has buckets; client_golang's default.
 */
export const ZERO_THRESHOLD = 2.938735877055719e-39;

/** The bucket index holding `seconds` (> 0). */
export function bucketIndex(seconds: number): number {
  return Math.ceil(Math.log2(seconds) * 2 ** SCHEMA);
}

/** The upper bound, in seconds, of bucket `index`. */
export function bucketUpper(index: number): number {
  return 2 ** (index / 2 ** SCHEMA);
}

export interface Span {
  offset: number;
  length: number;
}

/** The positive buckets as the exposition carries them: spans of consecutive buckets and count deltas. */
export interface NativeBuckets {
  spans: Span[];
  deltas: number[];
}

/** Builds spans and deltas from (index, count) pairs given in increasing index order. */
class SpanBuilder {
  private readonly spans: Span[] = [];
  private readonly deltas: number[] = [];
  private previous = 0;
  /** The bucket being added to; its delta is written when the next one starts. */
  private index = NaN;
  private count = 0;

  add(index: number, count: number): void {
    if (index === this.index) {
      this.count += count;
      return;
    }
    this.close();
    const span = this.spans[this.spans.length - 1];
    if (span !== undefined && index === this.index + 1) span.length++;
    else this.spans.push({ offset: span === undefined ? index : index - this.index - 1, length: 1 });
    this.index = index;
    this.count = count;
  }

  private close(): void {
    if (Number.isNaN(this.index)) return;
    this.deltas.push(this.count - this.previous);
    this.previous = this.count;
  }

  finish(): NativeBuckets {
    this.close();
    this.index = NaN;
    return { spans: this.spans, deltas: this.deltas };
  }
}

/**
 * The native buckets of a merged HDR histogram. Each HDR count covers the microsecond
 * values [lowest, lowest + width - 1], that is durations in [lowest - 0.5, lowest + width
 * - 0.5) µs after the agent's rounding; it goes whole into the native bucket holding that
 * range's midpoint, so a value lands at most half an HDR width (2^-11 relative, or 0.5 µs
 * below 2,048 µs) from the bucket it really belongs to.
 */
export function fromHdr(summary: LatencySummary): NativeBuckets {
  const b = new SpanBuilder();
  summary.forEachCount((i, count) => b.add(bucketIndex((lowestAt(i) + (widthAt(i) - 1) / 2) / 1e6), count));
  return b.finish();
}

/** Exact native bucket counts of raw values, for the pauses (no HDR histogram there). Bounded by the value range: ~4,100 buckets from 1 µs to 1 h. */
export class NativeCounts {
  private readonly counts = new Map<number, number>();
  /** Values at or below ZERO_THRESHOLD (a zero-length pause). */
  zeroCount = 0;

  record(seconds: number): void {
    if (!(seconds > ZERO_THRESHOLD)) {
      this.zeroCount++;
      return;
    }
    const i = bucketIndex(seconds);
    this.counts.set(i, (this.counts.get(i) ?? 0) + 1);
  }

  buckets(): NativeBuckets {
    const b = new SpanBuilder();
    for (const i of [...this.counts.keys()].sort((x, y) => x - y)) b.add(i, this.counts.get(i)!);
    return b.finish();
  }
}
