// The agent's streams beside the server events (protocol/streams.ts): outbound HTTP calls
// (outbound.ts, a second EventRing), runtime samples and pauses (runtime.ts, two
// SeriesRings). Each flush takes what they hold into the blocks of the next batch;
// their counts travel in every batch as `streams`, apart from the server counters.
//
// Accounting, per stream: `recorded` rows entered its buffer; `dropped` were overwritten
// before they were handed to the transport (or, for outbound calls, were not timed
// because the in-flight table was full). Rows handed over travel in batches that the
// transport keeps until acknowledged, as server events do; the collector counts the
// rows it accepted, so recorded - dropped - received is what is still on its way.
import { performance } from 'node:perf_hooks';
import type { BatchStreams, OutboundColumns, PauseColumns, RuntimeColumns, StreamCounters } from '../protocol/streams.js';
import { MAX_STREAM_ROWS } from '../protocol/streams.js';
import type { ResolvedConfig } from './config.js';
import type { HookFamily } from './hooks/guard.js';
import { hookOutbound } from './hooks/outbound.js';
import { OutboundRecorder } from './outbound.js';
import { METHOD_NAMES } from './recorder.js';
import { PAUSE_KINDS, RuntimeRecorder, SAMPLE_FIELDS } from './runtime.js';
import type { SeriesRing } from './series-ring.js';
import type { StallLog } from './stalls.js';
import type { CostMeter } from './cost.js';

export interface Streams {
  readonly outbound: OutboundRecorder | null;
  readonly runtime: RuntimeRecorder | null;
  readonly hooks: HookFamily[];
  /** Whether rows wait to be sent, or the counts changed since the last batch. */
  readonly pending: boolean;
  /** Records outbound calls that ended unseen; runs on the flush timer. */
  sweep(): void;
  /** The blocks for the next batch (at most MAX_STREAM_ROWS rows of each), taken from the rings, and the counts. */
  take(): BatchStreams;
  counters(): StreamCounters;
  stop(): void;
}

/** Starts what the settings ask for; null when every stream is off. */
export function startStreams(config: ResolvedConfig, onHookError: () => void, stalls: StallLog | null = null, cost: CostMeter | null = null): Streams | null {
  const wantRuntime = config.runtimePeriodMs > 0 || config.gcEvents || config.stallMs > 0;
  if (!config.httpClient && !wantRuntime) return null;
  const outbound = config.httpClient ? new OutboundRecorder(Math.max(16, config.bufferEvents / 4)) : null;
  const runtime = wantRuntime ? new RuntimeRecorder({
    periodMs: config.runtimePeriodMs, gc: config.gcEvents, stallMs: config.stallMs, onError: onHookError,
    onStall: stalls === null ? undefined : (start, durationMs) => stalls.onStall(start, durationMs),
    timed: cost === null ? undefined : (body) => cost.timed('timer', body),
  }) : null;
  const hooks = [...(outbound ? hookOutbound(outbound, onHookError) : []), ...(runtime?.families ?? [])];
  let lastSent = '';

  function counters(): StreamCounters {
    const zero = { recorded: 0, dropped: 0 };
    return {
      outbound: outbound?.counts() ?? zero,
      runtime: runtime ? seriesCount(runtime.samples) : zero,
      pauses: runtime ? seriesCount(runtime.pauses) : zero,
    };
  }
  const key = (c: StreamCounters): string => `${c.outbound.recorded} ${c.outbound.dropped} ${c.runtime.recorded} ${c.runtime.dropped} ${c.pauses.recorded} ${c.pauses.dropped}`;

  return {
    outbound,
    runtime,
    hooks,
    get pending() {
      return (outbound !== null && outbound.ring.unsent > 0) || (runtime !== null && (runtime.samples.unsent > 0 || runtime.pauses.unsent > 0))
        || stalls?.ready === true || key(counters()) !== lastSent;
    },
    sweep() {
      outbound?.sweep();
    },
    take() {
      const out: BatchStreams = {};
      // Re-anchored per batch, as encode.ts does per block.
      const wallOffset = Date.now() - performance.now();
      if (outbound !== null && outbound.ring.unsent > 0) out.outbound = encodeOutbound(outbound, wallOffset);
      if (runtime !== null && runtime.samples.unsent > 0) out.runtime = encodeSamples(runtime.samples, wallOffset);
      if (runtime !== null && runtime.pauses.unsent > 0) out.pauses = encodePauses(runtime.pauses, wallOffset);
      if (stalls?.ready) out.stalls = stalls.take(wallOffset);
      out.streams = counters();
      lastSent = key(out.streams);
      return out;
    },
    counters,
    stop() {
      runtime?.stop();
    },
  };
}

function seriesCount(ring: SeriesRing): { recorded: number; dropped: number } {
  return { recorded: ring.head, dropped: ring.dropped };
}

/** A block's string table: each distinct string once. */
export function interner(): { strings: string[]; intern(s: string): number } {
  const strings: string[] = [];
  const index = new Map<string, number>();
  return {
    strings,
    intern(s) {
      let i = index.get(s);
      if (i === undefined) {
        i = strings.push(s) - 1;
        index.set(s, i);
      }
      return i;
    },
  };
}

function encodeOutbound(rec: OutboundRecorder, wallOffset: number): OutboundColumns {
  const { ring } = rec;
  const n = Math.min(ring.unsent, MAX_STREAM_ROWS);
  const from = ring.take(n);
  const decoder = ring.pathDecoder();
  const { strings, intern } = interner();
  const c: OutboundColumns = {
    count: n, strings, start: new Float64Array(n), duration: new Float64Array(n), method: new Uint32Array(n),
    origin: new Uint32Array(n), path: new Uint32Array(n), status: new Uint16Array(n), error: new Uint32Array(n),
  };
  for (let k = 0; k < n; k++) {
    const i = (from + k) % ring.capacity;
    c.start[k] = ring.start[i]! + wallOffset;
    c.duration[k] = ring.duration[i]!;
    c.method[k] = intern(METHOD_NAMES[ring.method[i]!]!);
    c.origin[k] = intern(rec.origins[ring.route[i]!]!);
    c.path[k] = intern(ring.pathAt(from + k, decoder));
    c.status[k] = ring.status[i]!;
    c.error[k] = intern(rec.codes[ring.code[i]!]!);
  }
  return c;
}

function encodeSamples(ring: SeriesRing, wallOffset: number): RuntimeColumns {
  const n = Math.min(ring.unsent, MAX_STREAM_ROWS);
  const from = ring.take(n);
  const cols = SAMPLE_FIELDS.map(() => new Float64Array(n));
  for (let k = 0; k < n; k++) {
    const o = ring.offset(from + k);
    for (let f = 0; f < SAMPLE_FIELDS.length; f++) cols[f]![k] = ring.data[o + f]!;
    cols[0]![k]! += wallOffset;
  }
  const block = { count: n } as Record<string, unknown>;
  SAMPLE_FIELDS.forEach((name, f) => (block[name] = cols[f]));
  return block as unknown as RuntimeColumns;
}

function encodePauses(ring: SeriesRing, wallOffset: number): PauseColumns {
  const n = Math.min(ring.unsent, MAX_STREAM_ROWS);
  const from = ring.take(n);
  const { strings, intern } = interner();
  const c: PauseColumns = { count: n, strings, start: new Float64Array(n), duration: new Float64Array(n), kind: new Uint32Array(n) };
  for (let k = 0; k < n; k++) {
    const o = ring.offset(from + k);
    c.start[k] = ring.data[o]! + wallOffset;
    c.duration[k] = ring.data[o + 1]!;
    c.kind[k] = intern(PAUSE_KINDS[ring.data[o + 2]!]!);
  }
  return c;
}
