// The event streams a batch carries beside the HTTP server events: outbound HTTP calls,
// runtime samples (one per NODEFLIGHT_RUNTIME_PERIOD_MS) and pauses (garbage collections
// and event-loop stalls). Each is an optional block of columns in the batch, built like
// EventColumns: one typed array per field, strings by index into the block's own table,
// wall-clock times in ms since the epoch anchored as the server events are. The blocks
// are additive: a collector that predates them ignores them, and a batch without them
// is what an older agent sends. Their counts are kept apart from `Counters`, whose
// accounting (recorded = sent + dropped + buffered) stays about server events.
//
// The collector checks every block here before it reads a row: lengths equal, numbers
// finite and in range, string indexes inside the table.

import { validateCost, type AgentCost } from './agent-cost.js';
import { validateStalls, type StallRecord } from './stalls.js';

/** One outbound HTTP call (undici / fetch, or a node:http client request). */
export interface OutboundColumns {
  count: number;
  strings: string[];
  /** Wall-clock start, ms since the epoch. */
  start: Float64Array;
  /** Until the response headers arrived, or the call failed; ms. */
  duration: Float64Array;
  method: Uint32Array;
  /** `scheme://host[:port]`, as the URL's origin (default ports left out). */
  origin: Uint32Array;
  /** Path without the query string. */
  path: Uint32Array;
  /** Response status; 0 when the call failed before a response. */
  status: Uint16Array;
  /** Error code (`ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`, `AbortError` ...); the index of '' when none. */
  error: Uint32Array;
}

/** Runtime samples; each covers the `intervalMs` before `time`. */
export interface RuntimeColumns {
  count: number;
  /** Wall-clock end of the sampled interval, ms since the epoch. */
  time: Float64Array;
  intervalMs: Float64Array;
  /** Event-loop delay over the interval (perf_hooks.monitorEventLoopDelay), ms. */
  loopDelayP50: Float64Array;
  loopDelayP99: Float64Array;
  loopDelayMax: Float64Array;
  /** Event-loop utilisation over the interval, 0 to 1. */
  elu: Float64Array;
  heapUsed: Float64Array;
  heapTotal: Float64Array;
  rss: Float64Array;
  /** Process CPU time spent in the interval, µs. */
  cpuUser: Float64Array;
  cpuSystem: Float64Array;
}

/** Kinds a pause may have; a newer agent may send others, which collectors keep as they are. */
export const PauseKind = {
  gcMinor: 'gc-minor',
  gcMajor: 'gc-major',
  gcIncremental: 'gc-incremental',
  gcWeakCallbacks: 'gc-weakcb',
  /** The event loop could not run a timer for at least NODEFLIGHT_STALL_MS. */
  stall: 'stall',
} as const;

/** Garbage-collection pauses and event-loop stalls: times the process ran nothing else. */
export interface PauseColumns {
  count: number;
  strings: string[];
  start: Float64Array;
  duration: Float64Array;
  kind: Uint32Array;
}

export interface StreamCount {
  /** Rows that entered the agent's buffer for the stream. */
  recorded: number;
  /** Rows overwritten (or not tracked) before they could be sent. */
  dropped: number;
}

export interface StreamCounters {
  outbound: StreamCount;
  runtime: StreamCount;
  pauses: StreamCount;
}

/** The optional part of a batch (see BatchMessage). */
export interface BatchStreams {
  outbound?: OutboundColumns;
  runtime?: RuntimeColumns;
  pauses?: PauseColumns;
  /** Present in every batch of an agent that records any of the streams. */
  streams?: StreamCounters;
  /** Details of the stalls in `pauses` (protocol/stalls.ts), once each is complete. */
  stalls?: StallRecord[];
  /** The agent's own cost, totals since it started (protocol/agent-cost.ts). */
  cost?: AgentCost;
}

// ---- checks -------------------------------------------------------------------------

/** Largest block of one stream in a batch; the agent sends more in further batches. */
export const MAX_STREAM_ROWS = 8192;
const MAX_STRING = 4096;

type Obj = Record<string, unknown>;
type Column = new (n: number) => ArrayBufferView;

const isMap = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isWallTime = (t: number): boolean => t > 0 && t < 1e14;
const isDuration = (d: number): boolean => d >= 0 && d < 1e12;

/** Checks the count, the string table (when `stringsPerRow` > 0) and every column's type and length. */
function checkShape(name: string, v: unknown, columns: ReadonlyArray<readonly [string, Column]>, stringsPerRow: number): string | null {
  if (!isMap(v)) return `${name} must be a map`;
  const n = v.count;
  if (!isCount(n) || n > MAX_STREAM_ROWS) return `${name}.count must be an integer from 0 to ${MAX_STREAM_ROWS}`;
  if (stringsPerRow > 0) {
    const s = v.strings;
    if (!Array.isArray(s) || s.length > stringsPerRow * n + stringsPerRow) return `${name}.strings must be an array of at most ${stringsPerRow} strings per row`;
    for (let i = 0; i < s.length; i++) {
      if (typeof s[i] !== 'string' || (s[i] as string).length > MAX_STRING) return `${name}.strings[${i}] must be a string of at most ${MAX_STRING} characters`;
    }
  }
  for (const [key, Type] of columns) {
    const col = v[key];
    if (!(col instanceof Type)) return `${name}.${key} must be a ${Type.name}`;
    const len = (col as unknown as { length: number }).length;
    if (len !== n) return `${name}.${key} has ${len} rows, expected ${n}`;
  }
  return null;
}

/** Checks that every row's index into `strings` is in range, and each distinct string it names matches `pattern`. */
function checkIndexes(name: string, key: string, index: Uint32Array, strings: string[], pattern: RegExp | null): string | null {
  const checked = new Uint8Array(strings.length);
  for (let i = 0; i < index.length; i++) {
    const k = index[i]!;
    if (k >= strings.length) return `${name} row ${i} refers to a ${key} that is not in ${name}.strings`;
    if (pattern !== null && checked[k] === 0) {
      if (!pattern.test(strings[k]!)) return `${name} row ${i} has the ${key} ${JSON.stringify(strings[k]!.slice(0, 40))}, which is not a ${key} token`;
      checked[k] = 1;
    }
  }
  return null;
}

function checkTimes(name: string, start: Float64Array, duration: Float64Array): string | null {
  for (let i = 0; i < start.length; i++) {
    if (!isWallTime(start[i]!)) return `${name}.start[${i}] must be a wall-clock time in ms, got ${start[i]}`;
    if (!isDuration(duration[i]!)) return `${name}.duration[${i}] must be a finite non-negative number of milliseconds, got ${duration[i]}`;
  }
  return null;
}

const outboundColumns = [
  ['start', Float64Array], ['duration', Float64Array], ['method', Uint32Array], ['origin', Uint32Array],
  ['path', Uint32Array], ['status', Uint16Array], ['error', Uint32Array],
] as const;

export function validateOutbound(v: unknown): string | null {
  const e = checkShape('outbound', v, outboundColumns, 5);
  if (e) return e;
  const c = v as unknown as OutboundColumns;
  return checkTimes('outbound', c.start, c.duration)
    ?? checkIndexes('outbound', 'method', c.method, c.strings, /^[A-Za-z0-9_-]{1,32}$/)
    ?? checkIndexes('outbound', 'origin', c.origin, c.strings, /^(?:other|[a-z][a-z0-9+.-]*:\/\/[^\s/?#]{1,255})$/)
    ?? checkIndexes('outbound', 'path', c.path, c.strings, null)
    ?? checkIndexes('outbound', 'error', c.error, c.strings, /^(?:[A-Za-z0-9_.:-]{1,64})?$/);
}

const pauseColumns = [['start', Float64Array], ['duration', Float64Array], ['kind', Uint32Array]] as const;

export function validatePauses(v: unknown): string | null {
  const e = checkShape('pauses', v, pauseColumns, 1);
  if (e) return e;
  const c = v as unknown as PauseColumns;
  return checkTimes('pauses', c.start, c.duration) ?? checkIndexes('pauses', 'kind', c.kind, c.strings, /^[a-z0-9-]{1,32}$/);
}

const runtimeNumbers = ['loopDelayP50', 'loopDelayP99', 'loopDelayMax', 'heapUsed', 'heapTotal', 'rss', 'cpuUser', 'cpuSystem'] as const;
const runtimeColumns: ReadonlyArray<readonly [string, Column]> = [
  ['time', Float64Array], ['intervalMs', Float64Array], ['elu', Float64Array], ...runtimeNumbers.map((k) => [k, Float64Array] as const),
];

export function validateRuntime(v: unknown): string | null {
  const e = checkShape('runtime', v, runtimeColumns, 0);
  if (e) return e;
  const c = v as unknown as RuntimeColumns;
  for (let i = 0; i < c.count; i++) {
    if (!isWallTime(c.time[i]!)) return `runtime.time[${i}] must be a wall-clock time in ms, got ${c.time[i]}`;
    if (!(c.intervalMs[i]! > 0 && c.intervalMs[i]! < 1e9)) return `runtime.intervalMs[${i}] must be a positive number of milliseconds, got ${c.intervalMs[i]}`;
    if (!(c.elu[i]! >= 0 && c.elu[i]! <= 1)) return `runtime.elu[${i}] must be from 0 to 1, got ${c.elu[i]}`;
    for (const k of runtimeNumbers) {
      const x = c[k][i]!;
      if (!(x >= 0 && x < 1e15)) return `runtime.${k}[${i}] must be a finite non-negative number, got ${x}`;
    }
  }
  return null;
}

export function validateStreamCounters(v: unknown): string | null {
  if (!isMap(v)) return 'streams must be a map';
  for (const k of ['outbound', 'runtime', 'pauses'] as const) {
    const s = v[k];
    if (!isMap(s) || !isCount(s.recorded) || !isCount(s.dropped)) return `streams.${k} must be { recorded, dropped } of non-negative integers`;
    if (s.dropped > s.recorded) return `streams.${k}.dropped ${s.dropped} is more than recorded ${s.recorded}`;
  }
  return null;
}

/** Checks the optional stream blocks of a batch; null when they are absent or well formed. */
export function validateBatchStreams(v: Obj): string | null {
  return (v.outbound === undefined ? null : validateOutbound(v.outbound))
    ?? (v.runtime === undefined ? null : validateRuntime(v.runtime))
    ?? (v.pauses === undefined ? null : validatePauses(v.pauses))
    ?? (v.streams === undefined ? null : validateStreamCounters(v.streams))
    ?? (v.stalls === undefined ? null : validateStalls(v.stalls))
    ?? (v.cost === undefined ? null : validateCost(v.cost));
}
