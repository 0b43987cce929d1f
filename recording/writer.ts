// Writes `.nfr` recordings (format in ./format.ts). Two writers for two callers: the
// agent dumps from process 'exit', where only synchronous I/O runs, and the collector
// streams a dump to disk as agents answer, without holding it in memory.
// Every record is checked before it is written, so a file the writer produced always
// reads back; a bad record throws and leaves the records before it readable.
import { closeSync, openSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Packr } from 'msgpackr';
import { createEncoder } from '../protocol/codec.js';
import type { AgentIdentity, Counters, EventColumns, InflightSnapshot } from '../protocol/messages.js';
import {
  checkRecord, headerError, RECORDING_FORMAT, RECORDING_VERSION, MAX_RECORD_BYTES,
  type AgentRecord, type EventsRecord, type InflightRecord, type RecordingHeader, type RecordingSource,
} from './format.js';

export interface AgentRecording {
  identity: AgentIdentity;
  counters: Counters;
  /** Blocks of at most MAX_BLOCK_EVENTS rows each, as the agent flushes them. */
  blocks: EventColumns[];
  /** The requests open when the recording was made, if known. */
  inflight?: InflightSnapshot;
}

export interface RecordingContents {
  source: RecordingSource;
  agents: AgentRecording[];
  /** ms since the epoch; defaults to now. */
  createdAt?: number;
}

function header(source: RecordingSource, createdAt: number): RecordingHeader {
  const h: RecordingHeader = { format: RECORDING_FORMAT, version: RECORDING_VERSION, createdAt, source };
  const e = headerError(h);
  if (e) throw new Error(`cannot write recording: ${e}`);
  return h;
}

// Picks the identity fields so that whatever else the caller's object carries stays out.
function agentRecord(identity: AgentIdentity, counters: Counters): AgentRecord {
  const { agentId, service, host, pid, nodeVersion, agentVersion, startTime } = identity;
  return { t: 'agent', agentId, service, host, pid, nodeVersion, agentVersion, startTime, counters };
}

function eventsRecord(agentId: string, events: EventColumns): EventsRecord {
  return { t: 'events', agentId, events };
}

/** Encodes one record after the same checks the reader applies. */
function inflightRecord(agentId: string, s: InflightSnapshot): InflightRecord {
  return { t: 'inflight', agentId, time: s.time, open: s.open, events: s.events };
}

function encode(encoder: Packr, record: AgentRecord | EventsRecord | InflightRecord, agents: Set<string>): Buffer {
  const check = checkRecord(record, agents);
  if ('error' in check) throw new Error(`cannot write recording: ${check.error}`);
  const bytes = encoder.pack(record);
  if (bytes.length > MAX_RECORD_BYTES) throw new Error(`cannot write recording: a record of ${bytes.length} bytes exceeds ${MAX_RECORD_BYTES}`);
  if (record.t === 'agent') agents.add(record.agentId);
  return bytes;
}

function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done);
}

/** Writes a whole recording with synchronous I/O, replacing `path`. */
export function writeRecordingSync(path: string, recording: RecordingContents): void {
  const encoder = createEncoder();
  const agents = new Set<string>();
  const fd = openSync(path, 'w');
  try {
    writeAllSync(fd, encoder.pack(header(recording.source, recording.createdAt ?? Date.now())));
    for (const { identity, counters, blocks, inflight } of recording.agents) {
      writeAllSync(fd, encode(encoder, agentRecord(identity, counters), agents));
      for (const block of blocks) writeAllSync(fd, encode(encoder, eventsRecord(identity.agentId, block), agents));
      if (inflight !== undefined) writeAllSync(fd, encode(encoder, inflightRecord(identity.agentId, inflight), agents));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * AgentSeries a recording to disk. Calls may overlap: records are written in call order.
 * A failed write fails every later call and `close()` with the same error.
 */
export class RecordingWriter {
  private readonly encoder = createEncoder();
  private readonly agents = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private eventCount = 0;

  private constructor(private readonly file: FileHandle, readonly path: string) {}

  /** Creates (or replaces) `path` and writes the header. */
  static async open(path: string, source: RecordingSource, createdAt = Date.now()): Promise<RecordingWriter> {
    const h = header(source, createdAt);
    const writer = new RecordingWriter(await open(path, 'w'), path);
    await writer.append(writer.encoder.pack(h));
    return writer;
  }

  /** Events written so far, for the dump's `operation.events`. */
  get events(): number {
    return this.eventCount;
  }

  /** Introduces an agent, or updates its counters; its events may follow. */
  async writeAgent(identity: AgentIdentity, counters: Counters): Promise<void> {
    // Encoded before the first await, so records keep the order of the calls.
    return this.append(encode(this.encoder, agentRecord(identity, counters), this.agents));
  }

  async writeEvents(agentId: string, events: EventColumns): Promise<void> {
    const bytes = encode(this.encoder, eventsRecord(agentId, events), this.agents);
    this.eventCount += events.count;
    return this.append(bytes);
  }

  /** The requests an agent had open when it answered, after its agent record. */
  async writeInflight(agentId: string, snapshot: InflightSnapshot): Promise<void> {
    return this.append(encode(this.encoder, inflightRecord(agentId, snapshot), this.agents));
  }

  close(): Promise<void> {
    const closed = this.queue.finally(() => this.file.close());
    this.queue = closed;
    return closed;
  }

  private append(bytes: Uint8Array): Promise<void> {
    // FileHandle.writeFile writes all of it from the current position; chaining keeps
    // overlapping calls from interleaving their bytes.
    this.queue = this.queue.then(() => this.file.writeFile(bytes));
    return this.queue;
  }
}
