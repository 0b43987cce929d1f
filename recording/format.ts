// The recording file format (`.nfr`), version 1: what a file holds and how a record
// is checked. The writer and the reader both go through the checks below, so nothing
// is written that the reader would refuse.
//
// A recording is a msgpack stream: msgpack values written one after the other, with
// no framing of their own, each encoded by protocol/codec.ts (typed-array columns
// are single binary blobs, maps are self-describing). Offsets below are byte offsets
// in the file, which is how damage is reported.
//
//   offset 0   header   { format: 'nodeflight-recording', version: 1,
//                         createdAt: <ms since the epoch>, source: 'agent' | 'collector' }
//   ...        agent    { t: 'agent', agentId, service, host, pid, nodeVersion,
//                         agentVersion, startTime, counters: Counters }
//   ...        events   { t: 'events', agentId, events: EventColumns }
//   ...        inflight { t: 'inflight', agentId, time, open, events: EventColumns }
//   ...        (agent and events records in any order, as often as needed)
//
// - An `agent` record says who recorded and what it had lost by then: its counters
//   (recorded, filtered, dropped, sent, buffered, hookErrors) let a recording alone
//   explain its gaps, as JFR's jdk.DataLoss does. An agent may appear again with
//   later counters; the last one counts.
// - An `events` record holds at most MAX_BLOCK_EVENTS rows, self-contained (its own
//   string table), for an agent introduced by an earlier `agent` record.
// - An `inflight` record (added in 0.1, readers before it skip it) lists the requests
//   that had started and not finished when the dump was made (`time`), oldest first, at
//   most INFLIGHT_LIMIT of `open`: rows flagged EventFlag.inflight, `duration` the age at
//   `time`, status 0. They are not events: no latency figure counts them.
// - A record whose `t` this version does not know is skipped, so that new record types
//   can be added without a version bump; a change to an existing record bumps `version`.
// - A file cut anywhere is readable up to the last whole record, which is what a
//   process killed while dumping leaves behind.
import type { AgentIdentity, Counters, EventColumns, InflightSnapshot } from '../protocol/messages.js';
import { validateColumns, validateCounters, validateIdentity, validateInflight } from '../protocol/validate.js';

function prefixed(prefix: string, e: string | null): string | null {
  return e === null ? null : prefix + e;
}

export const RECORDING_FORMAT = 'nodeflight-recording';
export const RECORDING_VERSION = 1;
/** A record larger than this is damage: it bounds what a reader buffers for a bad length. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export type RecordingSource = 'agent' | 'collector';

export interface RecordingHeader {
  format: typeof RECORDING_FORMAT;
  version: number;
  /** Wall-clock time the file was started, ms since the epoch. */
  createdAt: number;
  source: RecordingSource;
}

export interface AgentRecord extends AgentIdentity {
  t: 'agent';
  counters: Counters;
}

export interface EventsRecord {
  t: 'events';
  agentId: string;
  events: EventColumns;
}

export interface InflightRecord extends InflightSnapshot {
  t: 'inflight';
  agentId: string;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

export function headerError(v: unknown): string | null {
  if (!isObj(v) || v.format !== RECORDING_FORMAT) return 'not a nodeflight recording (no header)';
  if (v.version !== RECORDING_VERSION) {
    return `unsupported recording version ${JSON.stringify(v.version)} (this nodeflight reads version ${RECORDING_VERSION})`;
  }
  if (typeof v.createdAt !== 'number' || !(v.createdAt > 0)) return 'header.createdAt must be a time in ms since the epoch';
  if (v.source !== 'agent' && v.source !== 'collector') return 'header.source must be "agent" or "collector"';
  return null;
}

export type RecordCheck =
  | { record: AgentRecord | EventsRecord | InflightRecord }
  | { error: string }
  /** A record type from a later minor revision of the format. */
  | { skip: true };

/** Checks a record after the header; `agents` holds the ids introduced so far. */
export function checkRecord(v: unknown, agents: ReadonlySet<string>): RecordCheck {
  if (!isObj(v) || typeof v.t !== 'string') return { error: 'not a nodeflight record: expected a map with a type field t' };
  let e: string | null;
  switch (v.t) {
    case 'agent':
      e = prefixed('agent.', validateIdentity(v)) ?? validateCounters(v.counters);
      return e ? { error: `not a nodeflight record: ${e}` } : { record: v as unknown as AgentRecord };
    case 'events':
    case 'inflight':
      if (typeof v.agentId !== 'string' || !agents.has(v.agentId)) {
        return { error: `not a nodeflight record: ${v.t} for agent ${JSON.stringify(String(v.agentId)).slice(0, 80)}, which no earlier agent record introduced` };
      }
      if (v.t === 'inflight') {
        e = validateInflight(v);
        return e ? { error: `not a nodeflight record: ${e}` } : { record: v as unknown as InflightRecord };
      }
      e = validateColumns(v.events);
      return e ? { error: `not a nodeflight record: ${e}` } : { record: v as unknown as EventsRecord };
    default:
      return { skip: true };
  }
}
