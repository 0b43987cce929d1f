// The wire protocol between agent and collector, written once and imported by both.
//
// Every WebSocket message is one binary frame holding one msgpack map with a `t`
// (type) field. Events travel as columns (typed arrays) rather than an array of
// objects: msgpackr copies a typed array as one extension blob, which measured about
// 4x cheaper to encode and decode than per-event maps, and it keeps the agent's
// flush free of per-event objects.
//
//   agent                                   collector
//     | -- upgrade /v1/ingest (Bearer) ------> |   401 before the upgrade on a bad token
//     | -- hello {protocol, identity} -------> |   close 4002 on a protocol mismatch
//     | <------------- welcome {lastSeq, settings}
//     | -- batch {seq, counters, columns} ---> |   schema-checked, deduplicated by seq
//     | <------------------------- ack {seq}   |
//     | <--------------- settings {version}    |   pushed by PUT /v1/settings
//     | -- settings-ack {version, ok} -------> |
//     | <--------------- dump {requestId}      |   POST /v1/recordings
//     | -- dump-data {requestId, columns} ---> |   one block per message, the last says last: true

import type { BatchStreams } from './streams.js';

export const PROTOCOL_VERSION = 1;
export const INGEST_PATH = '/v1/ingest';

/** WebSocket close codes (4000-4999 is the application range). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  /** A frame that is not msgpack, or a message that fails the schema. */
  malformed: 4001,
  /** The hello names a protocol version this side does not speak. */
  protocolVersion: 4002,
  /** The first message was not a hello, or a hello came twice. */
  unexpected: 4003,
  /** Another connection took over this agent id. */
  replaced: 4004,
  /** The collector holds as many agents as it is allowed to. */
  tooManyAgents: 4005,
  /** The agent id belongs to another agent process (another `instance`). */
  idTaken: 4006,
} as const;

/** Bits of the `flags` column. */
export const EventFlag = {
  /** The connection closed before the response finished. */
  aborted: 1,
  /** The path was longer than the agent keeps and was cut. */
  truncatedPath: 2,
  /** Not finished when read (protocol/inflight.ts): the duration is the age at that time. */
  inflight: 4,
  /**
   * The request arrived while the event loop was stalled: it started in the loop turn right
   * after a stall ended, so its `duration` leaves out the wait; `queuedMs` bounds that wait.
   */
  queued: 8,
} as const;

/** What an agent counts; recorded = sent + dropped + buffered holds at every flush. */
export interface Counters {
  /** Events that passed the filter and entered the ring buffer. */
  recorded: number;
  /** Events that the path filter, threshold or sampling left out (never recorded). */
  filtered: number;
  /** Recorded events lost before the collector acknowledged them (overwritten in the ring unsent, or not timed with the in-flight table full). */
  dropped: number;
  /** Recorded events the collector acknowledged. */
  sent: number;
  /** Recorded events neither sent nor dropped yet (in the ring or awaiting an ack). */
  buffered: number;
  /** Subscriber failures caught before they could reach the application. */
  hookErrors: number;
}

/** Settings an agent applies live; see protocol/settings.ts for defaults and validation. */
export interface LiveSettings {
  pathFilter: string;
  thresholdMs: number;
  /** Fraction of requests recorded, 0..1; left-out requests count as filtered. */
  sampleRate: number;
  /** Whether HTTP server requests are recorded at all. */
  httpServer: boolean;
}

/**
 * A block of events as columns. Row i of every column describes one request.
 * `method`, `path` and `route` index into `strings` of the same block, so a block is
 * self-contained: it can be resent, stored in a recording file or merged as it is.
 */
export interface EventColumns {
  count: number;
  strings: string[];
  /** Wall-clock start, milliseconds since the Unix epoch (fractional). */
  start: Float64Array;
  /** Duration in milliseconds (fractional, microsecond resolution or better). */
  duration: Float64Array;
  method: Uint32Array;
  path: Uint32Array;
  route: Uint32Array;
  status: Uint16Array;
  /** Response body size in bytes, -1 when unknown (streamed without Content-Length). */
  size: Float64Array;
  flags: Uint8Array;
  /**
   * Only in blocks with a `queued` event: per row, an upper bound of the time the request
   * waited inside the stall before Node parsed it (ms, 0 for rows not flagged `queued`).
   */
  queuedMs?: Float64Array;
}

/** Requests open now (protocol/inflight.ts). */
export interface InflightSnapshot {
  /** Wall-clock time the table was read, ms since the epoch. */
  time: number;
  /** Requests open at `time`, listed or not. */
  open: number;
  /** The oldest open requests, oldest first, at most INFLIGHT_LIMIT. */
  events: EventColumns;
}

export interface AgentIdentity {
  agentId: string;
  service: string;
  host: string;
  pid: number;
  nodeVersion: string;
  agentVersion: string;
  /** Wall-clock time the agent started, ms since the epoch. */
  startTime: number;
}

export interface HelloMessage extends AgentIdentity {
  t: 'hello';
  protocol: number;
  settings: LiveSettings;
  settingsVersion: number;
  /**
   * A random id of this agent process, never shown by the collector: the id and its batch
   * numbers belong to the process that first said hello with it, so a client that claims a
   * shown agent id cannot take it over. Optional: an older agent is taken to be `pid@startTime`.
   */
  instance?: string;
  /**
   * The settings the agent's environment gave it, whatever it applied since: the
   * collector falls back to them for each setting no API call has set. Optional: an
   * agent without it is taken to have started with `settings`.
   */
  envSettings?: LiveSettings;
}

export interface WelcomeMessage {
  t: 'welcome';
  protocol: number;
  /** Highest batch sequence number this collector already holds from the agent (0: none). */
  lastSeq: number;
  /** Settings the agent must apply now, or null to keep its own. */
  settings: LiveSettings | null;
  settingsVersion: number;
}

/** The optional `outbound`, `runtime`, `pauses` and `streams` blocks are in protocol/streams.ts. */
export interface BatchMessage extends BatchStreams {
  t: 'batch';
  /** 1, 2, 3, ... per agent process; a resent batch keeps its number. */
  seq: number;
  counters: Counters;
  events: EventColumns;
  /** Requests open now (protocol/inflight.ts), at most every INFLIGHT_PERIOD_MS. */
  inflight?: InflightSnapshot;
}

export interface AckMessage {
  t: 'ack';
  seq: number;
}

export interface SettingsMessage {
  t: 'settings';
  version: number;
  settings: LiveSettings;
}

export interface SettingsAckMessage {
  t: 'settings-ack';
  version: number;
  ok: boolean;
  error: string | null;
}

export interface DumpRequestMessage {
  t: 'dump';
  requestId: string;
  /** Only events that started within the last lastMs milliseconds; 0 for all. */
  lastMs: number;
}

/**
 * One block of an agent's answer to a dump request; the answer is one or more of these,
 * in order, and the final one says `last: true` (an empty ring answers with one empty
 * block). Each holds at most MAX_BLOCK_EVENTS rows, so it stays under the frame limit.
 */
export interface DumpDataMessage {
  t: 'dump-data';
  requestId: string;
  counters: Counters;
  events: EventColumns;
  last: boolean;
  /** On the last block: the requests open when the dump was asked for. */
  inflight?: InflightSnapshot;
}

export type AgentMessage = HelloMessage | BatchMessage | SettingsAckMessage | DumpDataMessage;
export type CollectorMessage = WelcomeMessage | AckMessage | SettingsMessage | DumpRequestMessage;
