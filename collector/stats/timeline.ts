// One agent's time line beside its request events: the runtime samples, the pauses
// (garbage collections, event-loop stalls) and the outbound calls it sent, each in a
// fixed-size ring that the newest rows overwrite. Rows are copied out of the batch
// (a batch often holds a single sample: keeping its column blocks would cost ~1 KB of
// typed-array headers per row). All times are the agent's wall clock, the clock its
// request events carry, so overlaps between them are exact to the agent's anchoring.
//
// Memory per agent: 1,024 samples (17 min at the default period; gauges kept as
// float32) ~48 KB, 4,096 pauses ~52 KB, 1,024 outbound calls ~51 KB plus the strings
// they share: about 150 KB.
import type { StallFrame, StallRecord, StallRequest } from '../../protocol/stalls.js';
import type { OutboundColumns, PauseColumns, RuntimeColumns, StreamCounters } from '../../protocol/streams.js';

export const SAMPLE_CAPACITY = 1024;
export const PAUSE_CAPACITY = 4096;
export const OUTBOUND_CAPACITY = 1024;
/** Stall details kept: typically 2-3 KB each, at most ~45 KB (32 frames and 20 paths of 512 characters). */
export const STALL_CAPACITY = 64;
/** A stall's details and its pause row carry starts anchored in different batches: equal to within this, ms. */
const STALL_MATCH_MS = 5;

/** The gauge fields of a sample, in the order of `gauges` rows. */
export const GAUGES = ['intervalMs', 'loopDelayP50', 'loopDelayP99', 'loopDelayMax', 'elu', 'heapUsed', 'heapTotal', 'rss', 'cpuUser', 'cpuSystem'] as const;
const NGAUGES = GAUGES.length;

export interface SampleRow {
  time: number;
  intervalMs: number;
  loopDelayMs: { p50: number; p99: number; max: number };
  elu: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  rssBytes: number;
  cpuUserUs: number;
  cpuSystemUs: number;
}

export interface PauseRow {
  start: number;
  durationMs: number;
  kind: string;
  /** Stalls only, once the agent sent their details: the blocked main thread's stack (NODEFLIGHT_STALL_STACKS), innermost first. */
  stack?: StallFrame[];
  /** The innermost frame of the stack outside Node's own code (`node:` URLs): where the application blocked. */
  blockedIn?: StallFrame;
  /** Stalls only: whom it delayed (in flight during it, and arrived during it). */
  delayed?: { inflight: number; queued: number; requests: StallRequest[] };
}

export interface OutboundRow {
  start: number;
  durationMs: number;
  method: string;
  origin: string;
  path: string;
  /** 0 when the call failed before a response. */
  status: number;
  /** The error code, null when the call got a response. */
  error: string | null;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export class Timeline {
  // Samples: time as float64, gauges as float32 (7 significant digits: bytes, ms and µs to spare).
  private readonly sampleTime = new Float64Array(SAMPLE_CAPACITY);
  private readonly gauges = new Float32Array(SAMPLE_CAPACITY * NGAUGES);
  private samples = 0;
  private readonly pauseStart = new Float64Array(PAUSE_CAPACITY);
  private readonly pauseDuration = new Float32Array(PAUSE_CAPACITY);
  private readonly pauseKind: string[] = new Array<string>(PAUSE_CAPACITY);
  private pauses = 0;
  private readonly outStart = new Float64Array(OUTBOUND_CAPACITY);
  private readonly outDuration = new Float64Array(OUTBOUND_CAPACITY);
  private readonly outStatus = new Uint16Array(OUTBOUND_CAPACITY);
  private readonly outStrings: string[] = new Array<string>(OUTBOUND_CAPACITY * 4);
  private outbound = 0;
  private readonly stalls: StallRecord[] = [];
  private stallCount = 0;

  /** Rows accepted per stream (resent batches counted once). */
  readonly received = { outbound: 0, runtime: 0, pauses: 0 };
  /** The agent's own counts, as its last batch said. */
  reported: StreamCounters | null = null;
  /** Since this collector first heard of the agent: CPU time (µs) and stalls, for counters. */
  cpuUserUs = 0;
  cpuSystemUs = 0;
  lastSeenAt = 0;

  constructor(readonly agentId: string, public service: string) {}

  addSamples(c: RuntimeColumns): void {
    const cols = GAUGES.map((k) => c[k]);
    for (let k = 0; k < c.count; k++) {
      const i = this.samples++ % SAMPLE_CAPACITY;
      this.sampleTime[i] = c.time[k]!;
      for (let f = 0; f < NGAUGES; f++) this.gauges[i * NGAUGES + f] = cols[f]![k]!;
      this.cpuUserUs += c.cpuUser[k]!;
      this.cpuSystemUs += c.cpuSystem[k]!;
    }
    this.received.runtime += c.count;
  }

  addPauses(c: PauseColumns): void {
    for (let k = 0; k < c.count; k++) {
      const i = this.pauses++ % PAUSE_CAPACITY;
      this.pauseStart[i] = c.start[k]!;
      this.pauseDuration[i] = c.duration[k]!;
      this.pauseKind[i] = c.strings[c.kind[k]!]!;
    }
    this.received.pauses += c.count;
  }

  addStalls(list: StallRecord[]): void {
    for (const r of list) {
      const copy: StallRecord = {
        start: r.start, durationMs: r.durationMs, inflight: r.inflight, queued: r.queued,
        requests: r.requests.map((q) => ({ method: q.method, path: q.path, ageMs: Math.round(q.ageMs * 1000) / 1000 })),
      };
      if (r.stack !== undefined) copy.stack = r.stack.map((f) => ({ fn: f.fn, url: f.url, line: f.line, col: f.col }));
      this.stalls[this.stallCount++ % STALL_CAPACITY] = copy;
    }
  }

  private stallDetail(start: number): StallRecord | undefined {
    for (let p = this.stallCount - 1; p >= Math.max(0, this.stallCount - STALL_CAPACITY); p--) {
      const r = this.stalls[p % STALL_CAPACITY]!;
      if (Math.abs(r.start - start) <= STALL_MATCH_MS) return r;
    }
    return undefined;
  }

  addOutbound(c: OutboundColumns): void {
    const s = c.strings;
    for (let k = 0; k < c.count; k++) {
      const i = this.outbound++ % OUTBOUND_CAPACITY;
      this.outStart[i] = c.start[k]!;
      this.outDuration[i] = c.duration[k]!;
      this.outStatus[i] = c.status[k]!;
      this.outStrings[i * 4] = s[c.method[k]!]!;
      this.outStrings[i * 4 + 1] = s[c.origin[k]!]!;
      this.outStrings[i * 4 + 2] = s[c.path[k]!]!;
      this.outStrings[i * 4 + 3] = s[c.error[k]!]!;
    }
    this.received.outbound += c.count;
  }

  /** The newest sample's row, or null before the first. */
  lastSample(): SampleRow | null {
    return this.samples === 0 ? null : this.sampleRow((this.samples - 1) % SAMPLE_CAPACITY);
  }

  /** Samples whose interval overlaps [from, to], oldest first. */
  samplesBetween(from: number, to: number): SampleRow[] {
    const out: SampleRow[] = [];
    for (let p = Math.max(0, this.samples - SAMPLE_CAPACITY); p < this.samples; p++) {
      const i = p % SAMPLE_CAPACITY;
      const end = this.sampleTime[i]!;
      if (end >= from && end - this.gauges[i * NGAUGES]! <= to) out.push(this.sampleRow(i));
    }
    return out;
  }

  /** Pauses that overlap [from, to], oldest first. */
  pausesBetween(from: number, to: number): PauseRow[] {
    const out: PauseRow[] = [];
    for (let p = Math.max(0, this.pauses - PAUSE_CAPACITY); p < this.pauses; p++) {
      const i = p % PAUSE_CAPACITY;
      const start = this.pauseStart[i]!;
      const d = this.pauseDuration[i]!;
      if (start > to || start + d < from) continue;
      const row: PauseRow = { start, durationMs: round3(d), kind: this.pauseKind[i]! };
      const detail = row.kind === 'stall' ? this.stallDetail(start) : undefined;
      if (detail !== undefined) {
        if (detail.stack !== undefined) {
          row.stack = detail.stack;
          const own = detail.stack.find((f) => f.url !== '' && !f.url.startsWith('node:'));
          if (own !== undefined) row.blockedIn = own;
        }
        row.delayed = { inflight: detail.inflight, queued: detail.queued, requests: detail.requests };
      }
      out.push(row);
    }
    return out;
  }

  /** Outbound calls that overlap [from, to], oldest first. */
  outboundBetween(from: number, to: number): OutboundRow[] {
    const out: OutboundRow[] = [];
    for (let p = Math.max(0, this.outbound - OUTBOUND_CAPACITY); p < this.outbound; p++) {
      const i = p % OUTBOUND_CAPACITY;
      const start = this.outStart[i]!;
      const d = this.outDuration[i]!;
      if (start > to || start + d < from) continue;
      const s = this.outStrings;
      out.push({ start, durationMs: d, method: s[i * 4]!, origin: s[i * 4 + 1]!, path: s[i * 4 + 2]!, status: this.outStatus[i]!, error: s[i * 4 + 3] || null });
    }
    return out;
  }

  private sampleRow(i: number): SampleRow {
    const g = (f: number): number => this.gauges[i * NGAUGES + f]!;
    return {
      time: this.sampleTime[i]!,
      intervalMs: round3(g(0)),
      loopDelayMs: { p50: round3(g(1)), p99: round3(g(2)), max: round3(g(3)) },
      elu: Math.round(g(4) * 1e4) / 1e4,
      heapUsedBytes: Math.round(g(5)),
      heapTotalBytes: Math.round(g(6)),
      rssBytes: Math.round(g(7)),
      cpuUserUs: Math.round(g(8)),
      cpuSystemUs: Math.round(g(9)),
    };
  }
}
