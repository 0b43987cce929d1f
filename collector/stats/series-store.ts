// What the collector keeps of the agents' streams beside their request events
// (protocol/streams.ts):
//   - outbound calls per (service, method, origin): the same per-route machinery as
//     server routes (an Aggregator: HDR interval histograms in µs, exact Prometheus
//     buckets, EWMA rates, a cap with an `other` bucket per service), the origin in
//     place of the route; plus error counts by code;
//   - per agent, a time line (timeline.ts) of samples, pauses and outbound calls, for
//     the runtime series and the context of slow requests;
//   - per service and pause kind, exact pause-duration bucket counts for /metrics.
// Every memory is capped: time lines at `maxAgents` (the least recently heard-from is
// forgotten first), outbound routes at `maxOutbound` and their services at
// `maxServices`, error codes at 32 per route, pause kinds at 16, services with pause
// counts at `maxAgents`; past a cap, `other`.
import type { EventColumns } from '../../protocol/messages.js';
import { MAX_STREAM_ROWS, type BatchStreams, type OutboundColumns, type PauseColumns } from '../../protocol/streams.js';
import { Aggregator, FOLDED_SERVICE, routeId } from './aggregator.js';
import { NativeCounts } from './native-histogram.js';
import { Timeline } from './timeline.js';

/** Pause-duration buckets: [upper bound in ms, `le` label in s]. */
export const PAUSE_BUCKETS: ReadonlyArray<readonly [number, string]> = [
  [0.5, '0.0005'], [1, '0.001'], [2.5, '0.0025'], [5, '0.005'], [10, '0.01'], [25, '0.025'], [50, '0.05'],
  [100, '0.1'], [250, '0.25'], [500, '0.5'], [1000, '1'], [2500, '2.5'], [5000, '5'],
];
const PAUSE_BOUNDS_MS = Float64Array.from(PAUSE_BUCKETS, (b) => b[0]);
const MAX_CODES_PER_ROUTE = 32;
const MAX_PAUSE_KINDS = 16;
const OTHER = 'other';

export interface PauseCounts {
  /** Per bucket, not cumulative; the last one is +Inf. */
  buckets: Float64Array;
  count: number;
  sumMs: number;
  /** Native histogram buckets, exact. */
  native: NativeCounts;
}

// Outbound rows as the server-route Aggregator reads them: the origin in the route
// column. Its recent-event memory (capacity 1) is not used: time lines keep the calls.
const NO_FLAGS = new Uint8Array(MAX_STREAM_ROWS);
const NO_SIZES = new Float64Array(MAX_STREAM_ROWS).fill(-1);

function asEvents(c: OutboundColumns): EventColumns {
  return { count: c.count, strings: c.strings, start: c.start, duration: c.duration, method: c.method, path: c.path, route: c.origin, status: c.status, size: NO_SIZES, flags: NO_FLAGS };
}

export class SeriesStore {
  readonly outbound: Aggregator;
  /** Error counts by code, per outbound route id (since start). */
  private readonly errorCodes = new Map<string, Map<string, number>>();
  /** By agent id, least recently heard-from first. */
  private readonly timelines = new Map<string, Timeline>();
  /** By service, then pause kind. */
  readonly pauseCounts = new Map<string, Map<string, PauseCounts>>();
  private readonly kinds = new Set<string>();

  constructor(private readonly maxAgents: number, maxOutbound: number, maxServices: number) {
    this.outbound = new Aggregator(maxOutbound, 1, maxServices);
  }

  /** The streams of one accepted (not resent) batch. */
  record(agentId: string, service: string, m: BatchStreams, now: number): void {
    if (m.outbound === undefined && m.runtime === undefined && m.pauses === undefined && m.streams === undefined && m.stalls === undefined) return;
    const t = this.timelineOf(agentId, service);
    t.lastSeenAt = now;
    if (m.streams !== undefined) t.reported = m.streams;
    if (m.runtime !== undefined) t.addSamples(m.runtime);
    if (m.pauses !== undefined) {
      t.addPauses(m.pauses);
      this.countPauses(service, m.pauses);
    }
    if (m.stalls !== undefined) t.addStalls(m.stalls);
    if (m.outbound !== undefined && m.outbound.count > 0) {
      t.addOutbound(m.outbound);
      this.outbound.recordBatch(agentId, service, asEvents(m.outbound), now);
      this.countErrors(service, m.outbound);
    }
  }

  timeline(agentId: string): Timeline | undefined {
    return this.timelines.get(agentId);
  }

  /** Drops an agent's time line (the agent was forgotten). */
  forget(agentId: string): void {
    this.timelines.delete(agentId);
  }

  allTimelines(): IterableIterator<Timeline> {
    return this.timelines.values();
  }

  /** Error counts by code of an outbound route, since start. */
  errorsOf(id: string): Record<string, number> {
    return Object.fromEntries(this.errorCodes.get(id) ?? []);
  }

  private timelineOf(agentId: string, service: string): Timeline {
    let t = this.timelines.get(agentId);
    if (t !== undefined) {
      // Re-inserted so that the map stays ordered by when each agent was last heard from.
      this.timelines.delete(agentId);
      t.service = service;
    } else {
      t = new Timeline(agentId, service);
      if (this.timelines.size >= this.maxAgents) this.timelines.delete(this.timelines.keys().next().value!);
    }
    this.timelines.set(agentId, t);
    return t;
  }

  private countPauses(service: string, c: PauseColumns): void {
    let byKind = this.pauseCounts.get(service);
    if (byKind === undefined) {
      const key = this.pauseCounts.size < this.maxAgents ? service : OTHER;
      byKind = this.pauseCounts.get(key) ?? new Map<string, PauseCounts>();
      this.pauseCounts.set(key, byKind);
    }
    for (let k = 0; k < c.count; k++) {
      let kind = c.strings[c.kind[k]!]!;
      if (!this.kinds.has(kind)) {
        if (this.kinds.size < MAX_PAUSE_KINDS) this.kinds.add(kind);
        else kind = OTHER;
      }
      let p = byKind.get(kind);
      if (p === undefined) byKind.set(kind, (p = { buckets: new Float64Array(PAUSE_BOUNDS_MS.length + 1), count: 0, sumMs: 0, native: new NativeCounts() }));
      const d = c.duration[k]!;
      let b = 0;
      while (b < PAUSE_BOUNDS_MS.length && d > PAUSE_BOUNDS_MS[b]!) b++;
      p.buckets[b]++;
      p.count++;
      p.sumMs += d;
      p.native.record(d / 1000);
    }
  }

  // Failed calls (status 0), grouped per (method, origin) of the batch so that each
  // route id is hashed once per batch.
  private countErrors(service: string, c: OutboundColumns): void {
    let groups: Map<number, Map<string, number>> | undefined;
    for (let k = 0; k < c.count; k++) {
      if (c.status[k] !== 0) continue;
      groups ??= new Map();
      const key = c.method[k]! * 65536 + c.origin[k]!;
      let codes = groups.get(key);
      if (codes === undefined) groups.set(key, (codes = new Map()));
      const code = c.strings[c.error[k]!] || 'ERROR';
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    if (groups === undefined) return;
    for (const [key, codes] of groups) {
      let id = routeId(service, c.strings[Math.floor(key / 65536)]!, c.strings[key % 65536]!);
      // A call past the route cap was counted under the service's `other` route.
      if (this.outbound.get(id) === undefined) id = routeId(service, '*', OTHER);
      // ... or, past the service cap, under the folded services' route.
      if (this.outbound.get(id) === undefined) id = routeId(FOLDED_SERVICE, '*', OTHER);
      let counts = this.errorCodes.get(id);
      if (counts === undefined) this.errorCodes.set(id, (counts = new Map()));
      for (const [code, n] of codes) {
        const name = counts.has(code) || counts.size < MAX_CODES_PER_ROUTE ? code : OTHER;
        counts.set(name, (counts.get(name) ?? 0) + n);
      }
    }
  }

  destroy(): void {
    this.outbound.destroy();
  }
}
