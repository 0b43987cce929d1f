// Schema checks for decoded messages. Both sides treat what they receive as untrusted:
// msgpack gives back arbitrary maps, and a message is used only after it passes here.
// Each check returns a human-readable reason, or null when the message is well formed.
import type {
  AgentMessage, BatchMessage, CollectorMessage, Counters, DumpDataMessage, EventColumns,
  HelloMessage, LiveSettings, SettingsAckMessage,
} from './messages.js';
import { EventFlag } from './messages.js';
import { INFLIGHT_LIMIT } from './inflight.js';
import { validateLiveSettings } from './settings.js';
import { validateBatchStreams } from './streams.js';

/** Largest event block one message may carry; the agent splits bigger flushes. */
export const MAX_BLOCK_EVENTS = 8192;
/** Longest string (path, route, service) accepted in a message. */
export const MAX_STRING_LENGTH = 4096;
/** Largest frame the collector accepts from an agent. */
export const MAX_AGENT_FRAME_BYTES = 16 * 1024 * 1024;
/** Largest frame the agent accepts from a collector: control messages only. */
export const MAX_COLLECTOR_FRAME_BYTES = 64 * 1024;
/** A hello's `instance`: long enough to be unguessable, short enough to keep. */
const MAX_INSTANCE_CHARS = 128;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function str(o: Obj, key: string, max = MAX_STRING_LENGTH): string | null {
  const v = o[key];
  if (typeof v !== 'string') return `${key} must be a string`;
  if (v.length > max) return `${key} is longer than ${max} characters`;
  return null;
}

function count(o: Obj, key: string): string | null {
  return isCount(o[key]) ? null : `${key} must be a non-negative integer`;
}

export function validateCounters(v: unknown): string | null {
  if (!isObj(v)) return 'counters must be a map';
  for (const k of ['recorded', 'filtered', 'dropped', 'sent', 'buffered', 'hookErrors'] as const) {
    const e = count(v, k);
    if (e) return `counters.${e}`;
  }
  const c = v as unknown as Counters;
  if (c.recorded !== c.sent + c.dropped + c.buffered) {
    return `counters do not add up: recorded ${c.recorded} != sent ${c.sent} + dropped ${c.dropped} + buffered ${c.buffered}`;
  }
  return null;
}

const columnTypes: Array<[keyof EventColumns, new (n: number) => ArrayBufferView]> = [
  ['start', Float64Array], ['duration', Float64Array], ['method', Uint32Array], ['path', Uint32Array],
  ['route', Uint32Array], ['status', Uint16Array], ['size', Float64Array], ['flags', Uint8Array],
];

export function validateColumns(v: unknown): string | null {
  if (!isObj(v)) return 'events must be a map';
  const n = v.count;
  if (!isCount(n) || n > MAX_BLOCK_EVENTS) return `events.count must be an integer from 0 to ${MAX_BLOCK_EVENTS}`;
  const strings = v.strings;
  if (!Array.isArray(strings) || strings.length > 3 * n + 3) return 'events.strings must be an array of at most 3 strings per event';
  for (let i = 0; i < strings.length; i++) {
    const s = strings[i];
    if (typeof s !== 'string' || s.length > MAX_STRING_LENGTH) return `events.strings[${i}] must be a string of at most ${MAX_STRING_LENGTH} characters`;
  }

  for (const [key, Type] of columnTypes) {
    const col = v[key];
    // msgpackr hands a Uint8Array column back as a Buffer, which is a Uint8Array too.
    if (!(col instanceof Type)) return `events.${key} must be a ${Type.name}`;
    if ((col as unknown as { length: number }).length !== n) return `events.${key} has ${(col as unknown as { length: number }).length} rows, expected ${n}`;
  }
  const c = v as unknown as EventColumns;
  // Methods name routes together with the service and route (route ids hash all
  // three), so they must be plain tokens; each distinct one is checked once.
  const methodChecked = new Uint8Array(strings.length);
  for (let i = 0; i < n; i++) {
    const d = c.duration[i]!;
    if (!(d >= 0 && d < 1e12)) return `events.duration[${i}] must be a finite non-negative number of milliseconds, got ${d}`;
    const s = c.start[i]!;
    if (!(s > 0 && s < 1e14)) return `events.start[${i}] must be a wall-clock time in ms, got ${s}`;
    if (c.method[i]! >= strings.length || c.path[i]! >= strings.length || c.route[i]! >= strings.length) {
      return `events row ${i} refers to a string that is not in events.strings`;
    }
    const m = c.method[i]!;
    if (methodChecked[m] === 0) {
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(strings[m] as string)) return `events row ${i} has the method ${JSON.stringify((strings[m] as string).slice(0, 40))}, which is not an HTTP method token`;
      methodChecked[m] = 1;
    }
    const size = c.size[i]!;
    if (!(size >= -1 && Number.isInteger(size))) return `events.size[${i}] must be an integer >= -1, got ${size}`;
  }
  return c.queuedMs === undefined ? null : validateQueued(c);
}

function validateQueued(c: EventColumns): string | null {
  const q = c.queuedMs;
  if (!(q instanceof Float64Array)) return 'events.queuedMs must be a Float64Array';
  if (q.length !== c.count) return `events.queuedMs has ${q.length} rows, expected ${c.count}`;
  for (let i = 0; i < q.length; i++) {
    const d = q[i]!;
    if (!(d >= 0 && d < 1e9)) return `events.queuedMs[${i}] must be a finite non-negative number of milliseconds, got ${d}`;
    if (d > 0 && (c.flags[i]! & EventFlag.queued) === 0) return `events.queuedMs[${i}] is ${d} but the row is not flagged queued`;
  }
  return null;
}

/** Checks an in-flight snapshot (protocol/inflight.ts). */
export function validateInflight(v: unknown): string | null {
  if (!isObj(v)) return 'inflight must be a map';
  if (typeof v.time !== 'number' || !(v.time > 0 && v.time < 1e14)) return 'inflight.time must be a wall-clock time in ms';
  if (!isCount(v.open)) return 'inflight.open must be a non-negative integer';
  const e = validateColumns(v.events);
  if (e) return `inflight.${e}`;
  const c = v.events as EventColumns;
  if (c.count > INFLIGHT_LIMIT || c.count > v.open) return `inflight.events must hold at most ${INFLIGHT_LIMIT} rows and at most open (${v.open})`;
  for (let i = 0; i < c.count; i++) {
    if ((c.flags[i]! & EventFlag.inflight) === 0) return `inflight.events row ${i} is not flagged inflight`;
  }
  return null;
}

function optionalInflight(v: Obj): string | null {
  return v.inflight === undefined ? null : validateInflight(v.inflight);
}

/** Checks the AgentIdentity fields of a hello or of a recording's agent record. */
export function validateIdentity(o: Record<string, unknown>): string | null {
  for (const k of ['agentId', 'service', 'host', 'nodeVersion', 'agentVersion'] as const) {
    const e = str(o, k, 256);
    if (e) return e;
  }
  if ((o.agentId as string).length === 0) return 'agentId must not be empty';
  const e = count(o, 'pid');
  if (e) return e;
  if (typeof o.startTime !== 'number' || !Number.isFinite(o.startTime)) return 'startTime must be a number';
  return null;
}

function optionalInstance(o: Obj): string | null {
  if (o.instance === undefined) return null;
  return typeof o.instance === 'string' && o.instance.length >= 16 && o.instance.length <= MAX_INSTANCE_CHARS
    ? null : `instance must be a string of 16 to ${MAX_INSTANCE_CHARS} characters`;
}

function validateHello(o: Obj): string | null {
  const e = validateIdentity(o) ?? count(o, 'settingsVersion') ?? count(o, 'protocol') ?? optionalInstance(o);
  if (e) return `hello.${e}`;
  const s = validateLiveSettings(o.settings);
  if (s) return `hello.settings: ${s}`;
  const env = o.envSettings === undefined ? null : validateLiveSettings(o.envSettings);
  return env ? `hello.envSettings: ${env}` : null;
}

/** Checks a message an agent sent. The collector calls it on every decoded frame. */
export function validateAgentMessage(v: unknown): { message: AgentMessage } | { error: string } {
  if (!isObj(v)) return { error: 'message must be a msgpack map' };
  let e: string | null;
  switch (v.t) {
    case 'hello':
      e = validateHello(v);
      return e ? { error: e } : { message: v as unknown as HelloMessage };
    case 'batch':
      e = count(v, 'seq') ?? validateCounters(v.counters) ?? validateColumns(v.events) ?? validateBatchStreams(v) ?? optionalInflight(v);
      if (!e && (v.seq as number) < 1) e = 'seq must start at 1';
      return e ? { error: `batch: ${e}` } : { message: v as unknown as BatchMessage };
    case 'settings-ack':
      e = count(v, 'version');
      if (!e && typeof v.ok !== 'boolean') e = 'ok must be a boolean';
      if (!e && v.error !== null && typeof v.error !== 'string') e = 'error must be a string or nil';
      return e ? { error: `settings-ack: ${e}` } : { message: v as unknown as SettingsAckMessage };
    case 'dump-data':
      e = str(v, 'requestId', 64) ?? validateCounters(v.counters) ?? validateColumns(v.events) ?? optionalInflight(v);
      if (!e && typeof v.last !== 'boolean') e = 'last must be a boolean';
      return e ? { error: `dump-data: ${e}` } : { message: v as unknown as DumpDataMessage };
    default:
      return { error: `unknown message type ${JSON.stringify(String(v.t)).slice(0, 40)}` };
  }
}

/** Checks a message a collector sent. The agent ignores anything that fails. */
export function validateCollectorMessage(v: unknown): CollectorMessage | null {
  if (!isObj(v)) return null;
  switch (v.t) {
    case 'welcome':
      if (!isCount(v.lastSeq) || !isCount(v.settingsVersion) || !isCount(v.protocol)) return null;
      if (v.settings !== null && validateLiveSettings(v.settings)) return null;
      return v as unknown as CollectorMessage;
    case 'ack':
      return isCount(v.seq) ? (v as unknown as CollectorMessage) : null;
    case 'settings':
      // The agent validates the settings itself, so that it can say why it rejects them.
      return isCount(v.version) && isObj(v.settings) ? (v as unknown as CollectorMessage) : null;
    case 'dump':
      return typeof v.requestId === 'string' && v.requestId.length <= 64 && isCount(v.lastMs) ? (v as unknown as CollectorMessage) : null;
    default:
      return null;
  }
}

export type { LiveSettings };
