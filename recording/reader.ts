// Reads a `.nfr` recording (format in ./format.ts) as a stream of checked records, in
// chunks, so that a file of any size reads in bounded memory. The first damage ends
// the stream with a RecordingDamage naming its byte offset; everything before it has
// been yielded by then, which is how a cut or corrupt file still gives its events.
import { createReadStream } from 'node:fs';
import { createDecoder } from '../protocol/codec.js';
import type { AgentIdentity, Counters, EventColumns } from '../protocol/messages.js';
import { checkRecord, headerError, MAX_RECORD_BYTES, type AgentRecord, type RecordingHeader } from './format.js';

export type RecordingEntry =
  | { t: 'header'; offset: number; header: RecordingHeader }
  | { t: 'agent'; offset: number; identity: AgentIdentity; counters: Counters }
  | { t: 'events'; offset: number; agentId: string; events: EventColumns }
  /** Requests open at `time` (format.ts): rows flagged inflight, duration = age at `time`. */
  | { t: 'inflight'; offset: number; agentId: string; time: number; open: number; events: EventColumns };

/** Where and why a recording stops being readable. */
export class RecordingDamage extends Error {
  constructor(readonly offset: number, readonly reason: string) {
    super(`${reason} (byte ${offset})`);
    this.name = 'RecordingDamage';
  }
}

export interface ReadOptions {
  /** Bytes read at a time; small values are for tests of records split across chunks. */
  chunkBytes?: number;
}

interface Incomplete {
  incomplete?: boolean;
  /** msgpackr's count of bytes still needed, when a length header told it. */
  missingBytes?: number;
}

function identityOf(r: AgentRecord): AgentIdentity {
  const { agentId, service, host, pid, nodeVersion, agentVersion, startTime } = r;
  return { agentId, service, host, pid, nodeVersion, agentVersion, startTime };
}

/** Turns decoded values into checked entries; the state is the header and the agents seen. */
class RecordChecker {
  private headerSeen = false;
  private readonly agents = new Set<string>();

  /** The entry for a value, null for a record type to skip, or the damage. */
  accept(value: unknown, offset: number): RecordingEntry | null | RecordingDamage {
    if (!this.headerSeen) {
      const e = headerError(value);
      if (e) return new RecordingDamage(offset, e);
      this.headerSeen = true;
      return { t: 'header', offset, header: value as RecordingHeader };
    }
    const check = checkRecord(value, this.agents);
    if ('error' in check) return new RecordingDamage(offset, check.error);
    if ('skip' in check) return null;
    const r = check.record;
    if (r.t === 'events') return { t: 'events', offset, agentId: r.agentId, events: r.events };
    if (r.t === 'inflight') return { t: 'inflight', offset, agentId: r.agentId, time: r.time, open: r.open, events: r.events };
    this.agents.add(r.agentId);
    return { t: 'agent', offset, identity: identityOf(r), counters: r.counters };
  }

  /** The damage for a file that ends `pending` bytes into a record, if any. */
  atEnd(offset: number, pending: number): RecordingDamage | null {
    if (offset === 0 && pending === 0) return new RecordingDamage(0, 'not a nodeflight recording (the file is empty)');
    if (pending === 0) return null;
    if (!this.headerSeen) return new RecordingDamage(0, 'not a nodeflight recording (no header)');
    return new RecordingDamage(offset, `truncated record: the file ends ${pending} bytes into it`);
  }
}

/**
 * Yields the records of a recording in file order. Throws RecordingDamage at the first
 * damage, and the file system's error (ENOENT, EISDIR, ...) when the file cannot be read.
 */
export async function* readRecording(path: string, options: ReadOptions = {}): AsyncGenerator<RecordingEntry, void, undefined> {
  // A decoder of its own: decoding one file shares no state with any other.
  const decoder = createDecoder();
  const checker = new RecordChecker();
  const stream = createReadStream(path, { highWaterMark: options.chunkBytes ?? 1024 * 1024 });
  // Bytes read but not decoded yet, starting at file offset `base`: the tail of a record
  // that continues in the next chunk.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let base = 0;
  // Skip decoding until this many bytes are pending, when msgpackr said how many it needs:
  // a large record split over many chunks is then decoded once, not once per chunk.
  let needed = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < needed) continue;
      const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      const entries: RecordingEntry[] = [];
      let used = 0;
      let damage: RecordingDamage | null = null;
      try {
        decoder.unpackMultiple(buf, (value: unknown, start?: number, end?: number) => {
          // msgpackr always passes both offsets to this callback.
          const entry = checker.accept(value, base + start!);
          if (entry instanceof RecordingDamage) {
            damage = entry;
            return false;
          }
          if (entry) entries.push(entry);
          used = end!;
          return true;
        });
        needed = 0;
      } catch (err) {
        const e = err as Incomplete & Error;
        const atLeast = buf.length - used + (e.missingBytes ?? 0);
        if (!e.incomplete) damage = new RecordingDamage(base + used, `corrupt record: ${e.message}`);
        else if (atLeast > MAX_RECORD_BYTES) damage = new RecordingDamage(base + used, `corrupt record: longer than the ${MAX_RECORD_BYTES / 1048576} MiB a record may take`);
        else needed = atLeast;
      }
      yield* entries;
      if (damage) throw damage;
      base += used;
      pending = used === buf.length ? [] : [buf.subarray(used)];
      pendingBytes = buf.length - used;
    }
  } finally {
    stream.destroy();
  }
  const end = checker.atEnd(base, pendingBytes);
  if (end) throw end;
}
