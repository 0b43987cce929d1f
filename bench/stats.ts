// Summaries over rounds: each figure as a median with its min and max, and as a ratio
// to the bare service measured in the same round (the median of per-round ratios, so a
// noisy round moves both sides of its own ratio instead of skewing one side).

export interface Sample {
  round: number;
  service: string;
  variant: string;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerReq: number;
  /** Open loop at a fixed rate (the same for every variant of a service): CPU and latency at a load the service keeps up with. */
  rate: number;
  rateCpuUsPerReq: number;
  rateP50Ms: number;
  rateP99Ms: number;
  rateBusy: number;
  /** Requests that fell due but were never sent: the service fell behind the rate. */
  rateUnsent: number;
  rssMB: number;
  /** V8's young generation (new space) at the end of the window, and RSS without it. */
  youngMB: number;
  rssOutsideYoungMB: number;
  /** The main thread's V8 heap and ArrayBuffer memory at the end of the window (diagnostics for RSS). */
  heapMB: number;
  arrayBuffersMB: number;
  /** Fraction of the server core the service used during the window (1 = saturated). */
  busy: number;
  /** CPU time per request of the load generator and of the collector (0 without one), both on the client core. */
  clientCpuUsPerReq: number;
  collectorCpuUsPerReq: number;
  /** Fraction of the server core / client core other processes used during the window (NaN unpinned). */
  foreignServer: number;
  foreignClient: number;
  /** The larger of the two: the window kept is the least disturbed of `attempts`. */
  foreign: number;
  attempts: number;
  /** Instrumentation counters after the timed window (for the raw record). */
  counters: unknown;
}

export const metrics = ['rps', 'p50Ms', 'p99Ms', 'cpuUsPerReq', 'rateCpuUsPerReq', 'rateP50Ms', 'rateP99Ms', 'rssMB', 'rssOutsideYoungMB'] as const;
export type Metric = (typeof metrics)[number];

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface MetricSummary extends Spread {
  /** Per-round value / bare's value in the same round. */
  ratio: Spread | null;
  /** Per-round value - bare's value in the same round. */
  added: Spread | null;
}

export interface VariantSummary {
  service: string;
  variant: string;
  rounds: number;
  busy: Spread;
  /** Median foreign load on the pinned cores during the kept windows. */
  foreign: number;
  /** Rounds whose open-loop window fell behind the rate (requests fell due and were never sent). */
  behindRate: number;
  figures: Record<Metric, MetricSummary>;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function spread(values: number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

export function summarize(samples: Sample[]): VariantSummary[] {
  const out: VariantSummary[] = [];
  const keys = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.service}\u0000${s.variant}`;
    if (!keys.has(k)) keys.set(k, []);
    keys.get(k)!.push(s);
  }
  for (const group of keys.values()) {
    const { service, variant } = group[0]!;
    const bareByRound = new Map(samples.filter((s) => s.service === service && s.variant === 'bare').map((s) => [s.round, s]));
    const figures = {} as Record<Metric, MetricSummary>;
    for (const m of metrics) {
      const ratios: number[] = [];
      const added: number[] = [];
      for (const s of group) {
        const b = bareByRound.get(s.round);
        if (b === undefined) continue;
        ratios.push(s[m] / b[m]);
        added.push(s[m] - b[m]);
      }
      figures[m] = {
        ...spread(group.map((s) => s[m])),
        ratio: ratios.length > 0 ? spread(ratios) : null,
        added: added.length > 0 ? spread(added) : null,
      };
    }
    out.push({ service, variant, rounds: group.length, busy: spread(group.map((s) => s.busy)), foreign: median(group.map((s) => s.foreign ?? NaN)), behindRate: group.filter((s) => s.rateUnsent > 0).length, figures });
  }
  return out;
}
