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
// stride (or with characters outside Latin-1) are copied whole, as bytes too, into a
// circular arena of LONG_BYTES_PER_SLOT per slot; kept as strings, unique long paths grew
// V8's young generation to its maximum. A long path the arena has since overwritten
// comes back as its first PATH_STRIDE characters, flagged truncatedPath.

/** Bytes of path kept inline per slot. */
export const PATH_STRIDE = 64;
/** Longest path kept; longer ones are cut and flagged. */
export const MAX_PATH = 2048;
/** The long-path arena: this much per slot, from 4 of the longest paths to 16 MB. */
const LONG_BYTES_PER_SLOT = 128;
const MIN_LONG_ARENA = 4 * 2 * MAX_PATH;
const MAX_LONG_ARENA = 16 * 1024 * 1024;

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
  /** Characters kept of each path (up to MAX_PATH). */
  readonly pathLen: Uint16Array;
  readonly pathBytes: Uint8Array;
  /** 1: the path has characters outside Latin-1 (kept in the arena as UTF-16). */
  readonly pathWide: Uint8Array;
  /** Where a long path starts, as a count of arena bytes ever written. */
  readonly longAt: Float64Array;
  /** Made with the first long path: a service without any pays nothing. */
  private longArena: Buffer | null = null;
  private readonly longArenaBytes: number;
  private longWritten = 0;
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
    this.pathWide = new Uint8Array(capacity);
    this.longAt = new Float64Array(capacity);
    this.longArenaBytes = Math.min(MAX_LONG_ARENA, Math.max(MIN_LONG_ARENA, capacity * LONG_BYTES_PER_SLOT));
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
        this.pathWide[i] = 0;
        this.flags[i] = flags;
      }
    } else {
      this.writeLongPath(i, url, pathEnd, flags);
    }
    this.head++;
    this.headIdx = (i + 1) & this.mask;
  }

  // The rare path lives apart so that write() stays small enough to inline. It allocates
  // nothing either: Buffer#write copies the characters straight into the arena.
  private writeLongPath(i: number, url: string, pathEnd: number, flags: number): void {
    const kept = Math.min(pathEnd, MAX_PATH);
    const bytes = this.pathBytes;
    const base = i * PATH_STRIDE;
    let wide = 0;
    for (let k = 0; k < kept; k++) {
      const c = url.charCodeAt(k);
      wide |= c;
      if (k < PATH_STRIDE) bytes[base + k] = c;
    }
    const isWide = wide > 0xff;
    const n = isWide ? kept * 2 : kept;
    const arena = (this.longArena ??= Buffer.allocUnsafeSlow(this.longArenaBytes));
    let at = this.longWritten;
    let offset = at % arena.length;
    // A path never wraps: it starts over at the arena's beginning.
    if (offset + n > arena.length) {
      at += arena.length - offset;
      offset = 0;
    }
    arena.write(url, offset, n, isWide ? 'utf16le' : 'latin1');
    this.longAt[i] = at;
    this.longWritten = at + n;
    this.pathLen[i] = kept;
    this.pathWide[i] = isWide ? 1 : 0;
    this.flags[i] = pathEnd > MAX_PATH ? flags | EventFlag.truncatedPath : flags;
  }

  /** The path of the event at a position still held in the ring. */
  pathAt(position: number, decoder: Buffer): string {
    const i = position % this.capacity;
    const len = this.pathLen[i]!;
    if (len > PATH_STRIDE || this.pathWide[i] === 1) return this.longPathAt(i);
    const base = i * PATH_STRIDE;
    return decoder.toString('latin1', base, base + len);
  }

  /** A path kept in the arena, or what is left of it once overwritten (flagged truncatedPath). */
  longPathAt(i: number): string {
    const arena = this.longArena!;
    const len = this.pathLen[i]!;
    const wide = this.pathWide[i] === 1;
    const at = this.longAt[i]!;
    const n = wide ? len * 2 : len;
    if (this.longWritten - at <= arena.length) {
      const offset = at % arena.length;
      return arena.toString(wide ? 'utf16le' : 'latin1', offset, offset + n);
    }
    this.flags[i]! |= EventFlag.truncatedPath;
    // The inline copy holds only the low bytes of wide characters: nothing of those is left.
    if (wide) return '/';
    const base = i * PATH_STRIDE;
    return Buffer.from(this.pathBytes.buffer, this.pathBytes.byteOffset + base, PATH_STRIDE).toString('latin1');
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
