// The figures of /v1/routes (min, mean, max, stddev, percentiles) for a merge of a
// route's histograms, computed in JS from their V2 encodings, the same figures
// hdr-histogram-js returns for the merged wasm histogram.
//
// Why not ask the merged wasm histogram: it walks all 23,552 counts for the add and
// again for mean, for stddev and for each of the six percentiles, ~0.38 ms a route
// (measured; 1,000 routes: ~330 ms a GET). Here the counts arrive as V2 encodings
// (non-zero runs only: a snapshot as stored, a live histogram through encode(), ~9 µs
// in wasm), are added into one JS array, and the figures come from one walk over the
// non-empty range plus one over the non-zero counts for stddev.
//
// Exactness: the arithmetic mirrors the library's AssemblyScript source (Histogram.ts,
// hdr-histogram-js 3.0.1): percentile ranks with its ulp rounding, bucket values from
// the same index layout, the mean's sum in integers (exact here while the sum of all
// values stays below 2^53 µs, ~285 years), stddev summed in index order. Min and max
// follow its add(): a live histogram brings its recorded extremes, a decoded snapshot
// those of its outermost non-empty buckets. latency-summary.test.ts checks all of it
// against the library on random data.
import { HIGHEST_TRACKABLE_US, ms, PERCENTILES, SIGNIFICANT_DIGITS, type Histogram, type LatencyMs } from './histogram.js';

/** Sub-buckets in half a bucket: unit resolution up to 2·10^digits, rounded up to a power of two, halved. */
const HALF_MAGNITUDE = Math.ceil(Math.log2(2 * 10 ** SIGNIFICANT_DIGITS)) - 1;
const HALF = 2 ** HALF_MAGNITUDE;

/** The library's countsArrayLength: one half bucket per bucket needed to cover the range, plus bucket 0's lower half. */
function countsLength(): number {
  let buckets = 1;
  while (2 * HALF * 2 ** (buckets - 1) <= HIGHEST_TRACKABLE_US) buckets++;
  return (buckets + 1) * HALF;
}
const LENGTH = countsLength();

/** V2 encoding: cookie, payload length, normalizing offset, digits (int32 each), lowest, highest, ratio (64 bits each). */
const HEADER_BYTES = 40;

/** valueFromIndex with lowestDiscernibleValue 1: the lowest value counted at `index`. */
export function lowestAt(index: number): number {
  const bucket = (index >> HALF_MAGNITUDE) - 1;
  if (bucket < 0) return index;
  return ((index & (HALF - 1)) + HALF) * 2 ** bucket;
}

/** How many values share the count at `index` (sizeOfEquivalentValueRange). */
export function widthAt(index: number): number {
  const bucket = (index >> HALF_MAGNITUDE) - 1;
  return bucket < 0 ? 1 : 2 ** bucket;
}

/** The count at which getValueAtPercentile stops: rounded up, less one ulp of the product so fp noise cannot skip a count. */
function rankOf(percentile: number, total: number): number {
  const fp = (Math.min(percentile, 100) / 100.0) * total;
  return Math.max(Math.ceil(fp - 2 ** (Math.floor(Math.log2(fp)) - 52)), 1);
}

export class LatencySummary {
  private readonly counts = new Float64Array(LENGTH);
  /** Indexes of the non-zero counts, in order, filled by the walk for stddev's second pass. */
  private readonly nonZero = new Int32Array(LENGTH);
  private readonly values = new Float64Array(PERCENTILES.length);
  private readonly ranks = new Float64Array(PERCENTILES.length);
  /** The non-empty range: only it is walked and cleared. */
  private lo = LENGTH;
  private hi = -1;
  private total = 0;
  private min = Infinity;
  private max = 0;

  get totalCount(): number {
    return this.total;
  }

  reset(): void {
    if (this.hi >= this.lo) this.counts.fill(0, this.lo, this.hi + 1);
    this.lo = LENGTH;
    this.hi = -1;
    this.total = 0;
    this.min = Infinity;
    this.max = 0;
  }

  /** As the library's add() of a live histogram: its recorded min and max carry over. */
  add(h: Histogram): void {
    if (h.totalCount === 0) return;
    this.addCounts(h.encode());
    this.min = Math.min(this.min, h.minNonZeroValue);
    this.max = Math.max(this.max, h.maxValue);
  }

  /** As decoding a snapshot() and adding it: decoding sets min and max from the outermost non-empty buckets. */
  addSnapshot(bytes: Uint8Array): void {
    const [first, last] = this.addCounts(bytes);
    if (first !== -1) this.min = Math.min(this.min, lowestAt(first));
    if (last !== -1) this.max = Math.max(this.max, lowestAt(last) + widthAt(last) - 1);
  }

  /**
   * Adds the counts of a V2 encoding (ZigZag LEB128-64b9B words: a count, or minus a
   * run of zero counts). Returns the first non-zero index above 0 (value 0 is no
   * minimum) and the last non-zero index, -1 when there is none.
   */
  private addCounts(bytes: Uint8Array): [number, number] {
    const { counts } = this;
    const end = HEADER_BYTES + ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!);
    let low = -1;
    let first = -1;
    let last = -1;
    let index = 0;
    let pos = HEADER_BYTES;
    while (pos < end) {
      let b = bytes[pos++]!;
      let word = b & 0x7f;
      // Multiplication, not shifts: words pass 32 bits. The ninth byte has no continuation bit.
      for (let scale = 128, n = 1; b & 0x80 && n < 9; scale *= 128, n++) {
        b = bytes[pos++]!;
        word += (n === 8 ? b : b & 0x7f) * scale;
      }
      if (word % 2 === 1) {
        index += (word + 1) / 2;
        continue;
      }
      const count = word / 2;
      if (count > 0) {
        counts[index] += count;
        this.total += count;
        if (low === -1) low = index;
        if (first === -1 && index !== 0) first = index;
        last = index;
      }
      index++;
    }
    if (last !== -1) {
      this.lo = Math.min(this.lo, low);
      this.hi = Math.max(this.hi, last);
    }
    return [first, last];
  }

  /** Calls `visit` for each non-zero count, in index (value) order. */
  forEachCount(visit: (index: number, count: number) => void): void {
    const { counts } = this;
    for (let i = this.lo; i <= this.hi; i++) if (counts[i]! !== 0) visit(i, counts[i]!);
  }

  /** Only with at least one value added. */
  latencyMs(): LatencyMs {
    const { counts, nonZero, values, ranks, total } = this;
    const np = PERCENTILES.length;
    for (let k = 0; k < np; k++) ranks[k] = rankOf(PERCENTILES[k]![1], total);
    let cumulative = 0;
    let sum = 0;
    let k = 0;
    let n = 0;
    for (let i = this.lo; i <= this.hi; i++) {
      const c = counts[i]!;
      if (c === 0) continue;
      nonZero[n++] = i;
      const lowest = lowestAt(i);
      const width = widthAt(i);
      sum += (lowest + Math.floor(width / 2)) * c;
      cumulative += c;
      while (k < np && cumulative >= ranks[k]!) values[k++] = lowest + width - 1;
    }
    const mean = sum / total;
    let deviations = 0;
    for (let j = 0; j < n; j++) {
      const i = nonZero[j]!;
      const deviation = lowestAt(i) + Math.floor(widthAt(i) / 2) - mean;
      deviations += deviation * deviation * counts[i]!;
    }
    const out = { min: ms(this.min), mean: ms(mean), max: ms(this.max), stddev: ms(Math.sqrt(deviations / total)) } as LatencyMs;
    for (let p = 0; p < np; p++) out[PERCENTILES[p]![0]] = ms(values[p]!);
    return out;
  }
}
