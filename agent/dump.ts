// The agent's recording, read out of the ring: for NODEFLIGHT_DUMP at exit, for the
// opt-in dump signal, and in answer to a collector's dump request (POST /v1/recordings).
//
// The ring is the continuous in-process recording; it is bounded by size (its capacity)
// and, for every read-out, by age: only events that ended within NODEFLIGHT_MAX_AGE_MS
// (and within the request's lastMs) are taken. Rows are written when requests finish,
// so end times ascend through the ring and the first young enough row is found by
// bisection.
//
// A dump request is answered one block per turn of the event loop (setImmediate), so a
// large ring never holds the host's loop for long. The end of the dump is fixed when the
// request arrives; rows overwritten while it is read out are skipped.
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DumpDataMessage, EventColumns } from '../protocol/messages.js';
import type { DumpSignal } from '../protocol/settings.js';
import type { BlockEncoder } from './encode.js';
import { errorText, warnOnce } from './log.js';
import type { EventRing } from './ring.js';

/** The window a read-out covers: `lastMs` bounded by `maxAgeMs`; 0 leaves either unbounded. */
export function dumpWindow(lastMs: number, maxAgeMs: number): number {
  if (lastMs > 0 && maxAgeMs > 0) return Math.min(lastMs, maxAgeMs);
  return lastMs > 0 ? lastMs : maxAgeMs;
}

/** The first position held in the ring of an event that ended within `windowMs` of now (0: the oldest held). */
export function firstWithin(ring: EventRing, windowMs: number): number {
  let lo = ring.oldest;
  if (windowMs <= 0) return lo;
  const cutoff = performance.now() - windowMs;
  let hi = ring.head;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const i = mid % ring.capacity;
    if (ring.start[i]! + ring.duration[i]! >= cutoff) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Reads the ring from the first event within a window up to the head as it was when made, a block at a time. */
export class RingCursor {
  private from: number;
  private readonly end: number;

  constructor(private readonly ring: EventRing, private readonly encoder: BlockEncoder, windowMs: number) {
    this.from = firstWithin(ring, windowMs);
    this.end = ring.head;
  }

  get done(): boolean {
    return Math.max(this.from, this.ring.oldest) >= this.end;
  }

  /** The next block; an empty one once done. */
  next(): EventColumns {
    // Rows overwritten since the cursor was made are gone: skip them.
    this.from = Math.max(this.from, this.ring.oldest);
    const block = this.encoder.encode(this.from, Math.max(0, this.end - this.from));
    this.from += block.count;
    return block;
  }
}

export interface DumpAnswer {
  cursor: RingCursor;
  counters(): DumpDataMessage['counters'];
  send(message: DumpDataMessage): void;
}

/** Answers a dump request: one dump-data per block, the last with `last: true`, at least one. */
export function answerDump(requestId: string, { cursor, counters, send }: DumpAnswer): void {
  const step = (): void => {
    try {
      const events = cursor.next();
      const last = cursor.done;
      send({ t: 'dump-data', requestId, counters: counters(), events, last });
      if (!last) setImmediate(step);
    } catch (err) {
      // The collector times the request out and says it failed.
      warnOnce(`dump-request:${requestId}`, `could not answer the collector's dump request: ${errorText(err)}`);
    }
  };
  step();
}

/**
 * NODEFLIGHT_DUMP_SIGNAL: installs the one handler the user asked for. Each signal
 * writes a new file, named on stderr. Returns the uninstaller.
 */
export function installDumpSignal(signal: DumpSignal, dumpPath: string | undefined, write: (path: string) => void): () => void {
  const dir = dumpPath === undefined ? tmpdir() : dirname(dumpPath);
  let n = 0;
  const onSignal = (): void => {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const path = join(dir, `nodeflight-${process.pid}-${stamp}-${++n}.nfr`);
    try {
      write(path);
      // A unique key: each dump the user asks for is worth its line.
      warnOnce(`signal-dump:${path}`, `${signal}: wrote the recording to ${path}`);
    } catch (err) {
      warnOnce(`signal-dump:${path}`, `${signal}: could not write the recording to ${path}: ${errorText(err)}`);
    }
  };
  try {
    process.on(signal, onSignal);
  } catch (err) {
    warnOnce('dump-signal', `NODEFLIGHT_DUMP_SIGNAL ${signal} cannot be handled on this platform: ${errorText(err)}`);
  }
  return () => process.removeListener(signal, onSignal);
}
