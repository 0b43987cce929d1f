// HDR latency histograms in microseconds, 1 µs to 1 h at 3 significant digits.
//
// Measured per recorded value: wasm 32-bit counts 23 ns, JS 32-bit 99 ns, packed
// 229-570 ns, so every histogram events are recorded into is a wasm 32-bit one
// (~94 KB: 23,552 counts). Wasm histograms live outside the JS heap and are never
// garbage collected: whoever drops one calls destroy().
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.WasmHistogram;

export const HIGHEST_TRACKABLE_US = 3_600_000_000;
export const SIGNIFICANT_DIGITS = 3;

const request: hdr.BuildRequest = {
  useWebAssembly: true,
  bitBucketSize: 32,
  // Out-of-range values are clamped by the caller; a fixed range keeps memory bounded.
  autoResize: false,
  lowestDiscernibleValue: 1,
  highestTrackableValue: HIGHEST_TRACKABLE_US,
  numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
};

/** Compiles the wasm module once per process; later calls return at once. */
export async function initHistograms(): Promise<void> {
  await hdr.initWebAssembly();
}

export function createHistogram(): Histogram {
  return hdr.build(request) as Histogram;
}

/** A histogram's counts in HdrHistogram's V2 encoding (non-zero counts only), in the JS heap. */
export function snapshot(h: Histogram): Uint8Array {
  return h.encode();
}

export function addSnapshot(into: Histogram, bytes: Uint8Array): void {
  const h = hdr.WasmHistogram.decode(bytes, 32) as Histogram;
  try {
    into.add(h);
  } finally {
    h.destroy();
  }
}

/** The compressed base64 form other HdrHistogram tools read, so collectors can be merged exactly. */
export function encodeCompressed(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export const ms = (us: number): number => Math.round(us) / 1000;

export interface LatencyMs {
  min: number;
  mean: number;
  max: number;
  stddev: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
}

/** The percentiles of LatencyMs, in the order its JSON lists them. */
export const PERCENTILES: ReadonlyArray<readonly ['p50' | 'p75' | 'p90' | 'p95' | 'p99' | 'p999', number]> = [
  ['p50', 50], ['p75', 75], ['p90', 90], ['p95', 95], ['p99', 99], ['p999', 99.9],
];

/**
 * Only for a histogram holding at least one value (an empty one has no minimum). Any HDR
 * build: `nodeflight merge` passes JS ones. /v1/routes uses LatencySummary instead.
 */
export function latencyMs(h: hdr.Histogram): LatencyMs {
  const out = { min: ms(h.minNonZeroValue), mean: ms(h.mean), max: ms(h.maxValue), stddev: ms(h.stdDeviation) } as LatencyMs;
  for (const [key, p] of PERCENTILES) out[key] = ms(h.getValueAtPercentile(p));
  return out;
}

export interface PercentilePoint {
  percentile: number;
  valueMs: number;
  /** How many of the histogram's values rank at or below this percentile. */
  count: number;
}

/**
 * The percentile distribution for an HDR plot, at the percentiles HdrHistogram's own
 * percentile iterator reports: 5 ticks per halving of the distance to 100 %, so the
 * tail gets as many points as the body, until the last value; then 100.
 */
export function percentileDistribution(h: Histogram): PercentilePoint[] {
  const total = h.totalCount;
  const points: PercentilePoint[] = [];
  if (total === 0) return points;
  for (let p = 0; ; ) {
    // The rank HdrHistogram uses for getValueAtPercentile.
    const count = Math.min(total, Math.max(1, Math.ceil((p / 100) * total)));
    if (count === total) break;
    points.push({ percentile: p, valueMs: ms(h.getValueAtPercentile(p)), count });
    const halvings = Math.floor(Math.log2(100 / (100 - p))) + 1;
    p += 100 / (5 * 2 ** halvings);
  }
  points.push({ percentile: 100, valueMs: ms(h.getValueAtPercentile(100)), count: total });
  return points;
}
