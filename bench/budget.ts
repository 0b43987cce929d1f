// The overhead budget, in one place: `npm run bench -- --check` exits non-zero when a
// figure of the run exceeds it, and BENCHMARKS.md states each line as met or missed.
// Figures are medians over interleaved rounds of per-round comparisons with the bare
// service measured in the same round (see stats.ts). The README's "Benchmarks" section
// quotes this file; keep the two in step.
import { EventRing } from '../agent/ring.js';
import type { VariantSummary } from './stats.js';

/** The default NODEFLIGHT_BUFFER_EVENTS. */
export const DEFAULT_BUFFER_EVENTS = 65536;

/** Bytes the default ring holds: its typed-array columns (the long-path arena comes with the first long path). */
export function ringBytes(events = DEFAULT_BUFFER_EVENTS): number {
  const ring = new EventRing(events);
  let bytes = 0;
  for (const v of Object.values(ring)) if (ArrayBuffer.isView(v)) bytes += v.byteLength;
  return bytes;
}

export const budget = {
  /** The agent variants the budget applies to (in-process and streaming). */
  variants: ['nodeflight', 'nodeflight+collector'],
  /** Server CPU per request, as a ratio to bare, per service. */
  cpuRatioMax: { realistic: 1.02, express: 1.02 } as Record<string, number>,
  /** Server CPU per request, µs added to bare, per service. */
  cpuAddedUsMax: { hello: 1.5 } as Record<string, number>,
  /** Requests per second, as a ratio to bare, every service. */
  throughputRatioMin: 0.97,
  /**
   * Client p99 latency at the fixed rate, as a ratio to bare ("unchanged within noise"),
   * every service. Closed loop, latency is queueing (requests in flight / throughput), so
   * its p99 only restates throughput; below capacity it is what a user waits.
   */
  p99RatioMax: 1.1,
  /**
   * RSS outside V8's young generation added to bare, every service: the ring buffer plus
   * this. V8 doubles the young generation once enough bytes have survived scavenges since
   * its last growth, so under load a bare service doubles it too, a few seconds later
   * (measured: 8.4 -> 16.8 MB at ~15 s, 33.6 MB at ~45 s): a window's raw RSS tells when
   * that happened, not what the agent holds. Raw RSS stays in the table.
   */
  rssHeadroomMB: 10,
  /** OpenTelemetry's added CPU per request must be at least this many times the agent's. */
  otelFactorMin: 20,
};

export interface Verdict {
  rule: string;
  /** The same figure for the A/A control (a second bare process), when the run had one: the noise floor. */
  control?: number;
  service: string;
  variant: string;
  value: number;
  limit: number;
  unit: string;
  ok: boolean;
}

export function checkBudget(summaries: VariantSummary[]): Verdict[] {
  const verdicts: Verdict[] = [];
  const find = (service: string, variant: string) => summaries.find((s) => s.service === service && s.variant === variant);
  const rssLimit = ringBytes() / 1e6 + budget.rssHeadroomMB;
  for (const s of summaries) {
    if (!budget.variants.includes(s.variant)) continue;
    const { service, variant, figures: f } = s;
    const aa = find(service, 'bare-aa')?.figures;
    const add = (rule: string, value: number | undefined, limit: number, unit: string, atMost: boolean, control?: number) => {
      if (value === undefined || !Number.isFinite(limit)) return;
      verdicts.push({ rule, service, variant, value, limit, unit, ok: atMost ? value <= limit : value >= limit, control });
    };
    const cpuRatio = budget.cpuRatioMax[service];
    if (cpuRatio !== undefined) add('CPU per request vs bare', f.cpuUsPerReq.ratio?.median, cpuRatio, 'x', true, aa?.cpuUsPerReq.ratio?.median);
    const cpuAdded = budget.cpuAddedUsMax[service];
    if (cpuAdded !== undefined) add('CPU per request added', f.cpuUsPerReq.added?.median, cpuAdded, 'µs', true, aa?.cpuUsPerReq.added?.median);
    add('throughput vs bare', f.rps.ratio?.median, budget.throughputRatioMin, 'x', false, aa?.rps.ratio?.median);
    add('p99 latency at the fixed rate vs bare', f.rateP99Ms.ratio?.median, budget.p99RatioMax, 'x', true, aa?.rateP99Ms.ratio?.median);
    add('RSS outside the young generation added', f.rssOutsideYoungMB.added?.median, rssLimit, 'MB', true, aa?.rssOutsideYoungMB.added?.median);
    const otel = find(service, 'otel')?.figures.cpuUsPerReq.added?.median;
    if (otel !== undefined) add(`CPU added <= 1/${budget.otelFactorMin} of otel's`, f.cpuUsPerReq.added?.median, otel / budget.otelFactorMin, 'µs', true);
  }
  return verdicts;
}

/** Targets of the microbenchmarks (`npm run bench:micro -- --check`), on medians of rounds. */
export const microBudget = {
  /** Agent per-request path (start + finish through the real channels), every agent case. */
  agentRequestNsMax: 200,
  /** Flush cost per event, streaming to a live collector: encode, pack, queue, socket write (CPU of the process). */
  encodeSendNsMax: 100,
  /** Collector ingest (decode + validate + route lookup + HDR record) on one core. */
  ingestEventsPerSecMin: 3_000_000,
  /** GET /v1/routes with 1,000 routes, end to end. */
  routesApiMsMax: 50,
  /** The longest the collector's event loop is held during a GET /metrics of 1,000 busy routes. */
  metricsBlockMsMax: 20,
  /** A typical path filter (`/api/.*`, `/(users|orders)/[0-9]+`) on a 30-character path. */
  filterTypicalNsMax: 150,
  /** Any accepted filter (up to 1,024 characters) on a 2,048-character path. */
  filterWorstMsMax: 1,
};

/** The budget as the README states it (printed by `npm run bench -- --budget`). */
export function budgetText(): string {
  const mb = (ringBytes() / 1e6).toFixed(1);
  return [
    `For the agent (${budget.variants.join(' and ')}), against the bare service in the same round, medians over rounds:`,
    ...Object.entries(budget.cpuRatioMax).map(([svc, r]) => `- ${svc}: server CPU per request at most +${Math.round((r - 1) * 100)}% of bare`),
    ...Object.entries(budget.cpuAddedUsMax).map(([svc, us]) => `- ${svc}: server CPU per request at most +${us} µs over bare`),
    `- every service: throughput (closed loop) at least ${budget.throughputRatioMin}x bare; client p99 at the fixed rate at most ${budget.p99RatioMax}x bare;`,
    `  RSS outside V8's young generation at most the ring buffer (${mb} MB for ${DEFAULT_BUFFER_EVENTS} events) + ${budget.rssHeadroomMB} MB over bare`,
    `- every service: added CPU per request at most 1/${budget.otelFactorMin} of OpenTelemetry's in the same run`,
    '',
    'Microbenchmarks (`npm run bench:micro -- --check`), medians of rounds:',
    `- agent per request (start + finish on the real channels, ring write): at most ${microBudget.agentRequestNsMax} ns`,
    `- encode + send (the agent's flush to a live collector, CPU of the process): at most ${microBudget.encodeSendNsMax} ns per event`,
    `- collector ingest (decode + validate + route lookup + HDR record), one core: at least ${(microBudget.ingestEventsPerSecMin / 1e6).toFixed(0)} M events/s`,
    `- GET /v1/routes with 1,000 routes: under ${microBudget.routesApiMsMax} ms`,
    `- GET /metrics with 1,000 busy routes: no event-loop block of ${microBudget.metricsBlockMsMax} ms or more, in any format`,
    `- a typical path filter on a 30-character path: at most ${microBudget.filterTypicalNsMax} ns; any accepted filter on a 2,048-character path: at most ${microBudget.filterWorstMsMax} ms`,
  ].join('\n');
}
