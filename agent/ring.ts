import { EventFlag } from '../protocol/messages.js';

// The agent's recording: a preallocated, columnar ring of request events.
//
//            oldest kept                 sendTail                 head
//                |                          |                       |
//   positions:   v                          v                       v
//   ... overwritten | sent (kept for dumps) | unsent (to stream)    | free ...
//
// Positions count every event ever written (doubles, exact to 2^53); the slot of a
// position is `position & mask` only through the separately wrapped `headIdx`, so no
// bitwise operation ever sees a number past 2^31.
//
// Policy when full: the oldest slot is overwritten. If that event was never sent, it
// is counted in `dropped` and `sendTail` moves past it; if it was sent, nothing is lost.
//
// Paths are copied as bytes into a fixed-stride column instead of keeping each
// request's URL string: holding 65k live strings makes them survive scavenges and get
// promoted, which measurably costs old-generation GC and RSS. Paths longer than the
// stride (or with characters outside Latin-1) keep a copy of the string in `longPath`.

/** Bytes of path kept inline per slot. */
export const PATH_STRIDE = 64;
/** Longest path kept; longer ones are cut and flagged. */
export const MAX_PATH = 2048;

export class EventRing {
  readonly capacity: number;
  readonly mask: number;
  /** Monotonic start, ms (performance.now() clock). */
  readonly start: Float64Array;
  readonly duration: Float64Array;
  readonly size: Float64Array;
  readonly status: Uint16Array;
  readonly method: Uint8Array;
  readonly flags: Uint8Array;
  /** Framework route id (see RouteNames), 0 when the framework named none; in the outbound ring, the origin id. */
  readonly route: Uint32Array;
  readonly pathLen: Uint16Array;
  readonly pathBytes: Uint8Array;
  readonly longPath: Array<string | undefined>;
  /** A second interned id per event, for a ring that asks for it (the outbound ring: its error code); else empty. */
  readonly code: Uint16Array;

  /** Position of the next write, and its slot. */
  head = 0;
  headIdx = 0;
  /** Position of the oldest event not yet handed to the transport. */
  sendTail = 0;
  /** Unsent events lost to overwriting. */
  dropped = 0;

  constructor(capacity: number, codeColumn = false) {
    if (capacity < 2 || (capacity & (capacity - 1)) !== 0) throw new RangeError('ring capacity must be a power of two');
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.start = new Float64Array(capacity);
    this.duration = new Float64Array(capacity);
    this.size = new Float64Array(capacity);
    this.status = new Uint16Array(capacity);
    this.method = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.route = new Uint32Array(capacity);
    this.pathLen = new Uint16Array(capacity);
    this.pathBytes = new Uint8Array(capacity * PATH_STRIDE);
    this.longPath = new Array<string | undefined>(capacity).fill(undefined);
    this.code = new Uint16Array(codeColumn ? capacity : 0);
  }

  /** Events not yet handed to the transport. */
  get unsent(): number {
    return this.head - this.sendTail;
  }

  /** Oldest position still held in the ring. */
  get oldest(): number {
    return this.head > this.capacity ? this.head - this.capacity : 0;
  }

  /**
   * Appends one event. `url` is the raw request target; only its first `pathEnd`
   * characters (the path, without the query) are kept. Returns nothing and allocates
   * nothing for paths that fit inline.
   */
  write(start: number, duration: number, method: number, url: string, pathEnd: number, route: number, status: number, size: number, flags: number): void {
    const i = this.headIdx;
    if (this.head - this.sendTail === this.capacity) {
      this.sendTail++;
      this.dropped++;
    }
    this.start[i] = start;
    this.duration[i] = duration;
    this.method[i] = method;
    this.route[i] = route;
    this.status[i] = status;
    this.size[i] = size;
    if (this.pathLen[i]! > PATH_STRIDE) this.longPath[i] = undefined;
    if (pathEnd <= PATH_STRIDE) {
      const bytes = this.pathBytes;
      const base = i * PATH_STRIDE;
      let wide = 0;
      for (let k = 0; k < pathEnd; k++) {
        const c = url.charCodeAt(k);
        wide |= c;
        bytes[base + k] = c;
      }
      if (wide > 0xff) {
        this.writeLongPath(i, url, pathEnd, flags);
      } else {
        this.pathLen[i] = pathEnd;
        this.flags[i] = flags;
      }
    } else {
      this.writeLongPath(i, url, pathEnd, flags);
    }
    this.head++;
    this.headIdx = (i + 1) & this.mask;
  }

  // The rare path lives apart so that write() stays small enough to inline.
  private writeLongPath(i: number, url: string, pathEnd: number, flags: number): void {
    const kept = Math.min(pathEnd, MAX_PATH);
    // Buffer round trip: a plain slice would be a view that keeps the whole URL alive.
    this.longPath[i] = Buffer.from(url.slice(0, kept), 'utf16le').toString('utf16le');
    // PATH_STRIDE + 1 marks "see longPath" whatever the real length was.
    this.pathLen[i] = PATH_STRIDE + 1;
    this.flags[i] = pathEnd > MAX_PATH ? flags | EventFlag.truncatedPath : flags;
  }

  /** The path of the event at a position still held in the ring. */
  pathAt(position: number, decoder: Buffer): string {
    const i = position % this.capacity;
    const len = this.pathLen[i]!;
    if (len > PATH_STRIDE) return this.longPath[i]!;
    const base = i * PATH_STRIDE;
    return decoder.toString('latin1', base, base + len);
  }

  /** A Buffer over the path column, for pathAt(); made once by the reader. */
  pathDecoder(): Buffer {
    return Buffer.from(this.pathBytes.buffer, this.pathBytes.byteOffset, this.pathBytes.byteLength);
  }

  /** Hands the next `n` unsent events to the transport; returns the first position. */
  take(n: number): number {
    const from = this.sendTail;
    this.sendTail += n;
    return from;
  }
}
