// Turns a range of ring positions into one self-contained column block: strings
// (methods, paths, routes) are collected into the block's own table, so a block can be
// resent after a reconnect, written to a recording or merged without any other state.
// This is where the work deferred from the hot path happens: wall-clock times, path
// decoding and route naming.
import { performance } from 'node:perf_hooks';
import type { EventColumns } from '../protocol/messages.js';
import { MAX_BLOCK_EVENTS } from '../protocol/validate.js';
import { METHOD_NAMES } from './recorder.js';
import { PATH_STRIDE, type EventRing } from './ring.js';
import type { RouteNames } from './route-names.js';
import type { StallLog } from './stalls.js';

/** Keeps a block's string table well under the collector's frame limit. */
const MAX_BLOCK_STRING_CHARS = 2 * 1024 * 1024;
/** Open-addressing table of distinct (path bytes, framework route) pairs in a block. */
const TABLE_SIZE = 4 * MAX_BLOCK_EVENTS;
const TABLE_MASK = TABLE_SIZE - 1;

// Most events of a block share a few hundred paths. Decoding and hashing a fresh
// string per event measured ~390 ns/event; hashing the inline bytes and decoding each
// distinct path once brings the whole encode under 100 ns/event.
export class BlockEncoder {
  private readonly pathDecoder: Buffer;
  private readonly pathWords: Uint32Array;
  private readonly table = new Int32Array(TABLE_SIZE);
  // Per distinct entry of the current block: its ring slot, framework route, strings.
  private readonly entrySlot = new Int32Array(MAX_BLOCK_EVENTS);
  private readonly entryRouteId = new Uint32Array(MAX_BLOCK_EVENTS);
  private readonly entryPath = new Uint32Array(MAX_BLOCK_EVENTS);
  private readonly entryRoute = new Uint32Array(MAX_BLOCK_EVENTS);
  /** Where each entry sits in `table`, so that the next block clears only those cells. */
  private readonly entryCell = new Int32Array(MAX_BLOCK_EVENTS);
  private lastEntries = 0;
  private readonly methodIndex = new Int32Array(METHOD_NAMES.length);
  // Columns reused by every batch: a batch is packed as soon as it is encoded, and
  // fresh arrays per block left megabytes of ArrayBuffers awaiting GC under load.
  private readonly scratch = {
    start: new Float64Array(MAX_BLOCK_EVENTS), duration: new Float64Array(MAX_BLOCK_EVENTS), method: new Uint32Array(MAX_BLOCK_EVENTS),
    path: new Uint32Array(MAX_BLOCK_EVENTS), route: new Uint32Array(MAX_BLOCK_EVENTS), status: new Uint16Array(MAX_BLOCK_EVENTS),
    size: new Float64Array(MAX_BLOCK_EVENTS), flags: new Uint8Array(MAX_BLOCK_EVENTS),
  };

  constructor(private readonly ring: EventRing, private readonly routes: RouteNames, private readonly stalls: StallLog | null = null) {
    this.pathDecoder = ring.pathDecoder();
    this.pathWords = new Uint32Array(ring.pathBytes.buffer, ring.pathBytes.byteOffset, ring.pathBytes.byteLength / 4);
  }

  /**
   * Encodes up to `max` events from position `from` (which must still be held in the
   * ring). The block may hold fewer when its strings grow large; `events.count` says.
   * With `transient`, the columns are views of reused arrays, valid until the next
   * call: for a block that is packed at once.
   */
  encode(from: number, max: number, transient = false): EventColumns {
    const { ring, routes, table, entrySlot, entryRouteId, entryPath, entryRoute, entryCell, methodIndex } = this;
    const n = Math.min(max, MAX_BLOCK_EVENTS);
    // Re-anchored per block: the monotonic clock and the wall clock drift apart over days.
    const wallOffset = Date.now() - performance.now();
    const c = transient ? this.scratch : null;
    const start = c ? c.start : new Float64Array(n);
    const duration = c ? c.duration : new Float64Array(n);
    const method = c ? c.method : new Uint32Array(n);
    const path = c ? c.path : new Uint32Array(n);
    const route = c ? c.route : new Uint32Array(n);
    const status = c ? c.status : new Uint16Array(n);
    const size = c ? c.size : new Float64Array(n);
    const flags = c ? c.flags : new Uint8Array(n);
    const strings: string[] = [];
    const index = new Map<string, number>();
    let chars = 0;
    const intern = (s: string): number => {
      let i = index.get(s);
      if (i === undefined) {
        i = strings.length;
        strings.push(s);
        index.set(s, i);
        chars += s.length;
      }
      return i;
    };
    for (let e = 0; e < this.lastEntries; e++) table[entryCell[e]!] = 0;
    this.lastEntries = 0;
    methodIndex.fill(-1);
    let entries = 0;
    const { pathLen, pathWide, start: ringStart, method: ringMethod, route: ringRoute } = ring;
    const words = this.pathWords;
    const bytes = ring.pathBytes;
    const first = from % ring.capacity;
    let k = 0;
    for (; k < n && chars < MAX_BLOCK_STRING_CHARS; k++) {
      const i = (first + k) & ring.mask;
      const len = pathLen[i]!;
      const fw = ringRoute[i]!;
      const m = ringMethod[i]!;
      let mi = methodIndex[m]!;
      if (mi === -1) mi = methodIndex[m] = intern(METHOD_NAMES[m]!);
      start[k] = ringStart[i]! + wallOffset;
      method[k] = mi;
      if (len > PATH_STRIDE || pathWide[i] === 1) {
        const p = ring.longPathAt(i);
        path[k] = intern(p);
        route[k] = intern(routes.name(p, fw));
        continue;
      }
      // Four path bytes per step: slots start on a 64-byte boundary, so the words of
      // a slot are aligned; the bytes after `len` are stale and never read.
      const w0 = i * WORDS_PER_SLOT;
      const full = len >>> 2;
      let h = (0x811c9dc5 ^ fw ^ (len << 16)) | 0;
      for (let j = 0; j < full; j++) h = Math.imul(h ^ words[w0 + j]!, 0x01000193);
      const b0 = i * PATH_STRIDE;
      for (let j = full << 2; j < len; j++) h = Math.imul(h ^ bytes[b0 + j]!, 0x01000193);
      let t = h & TABLE_MASK;
      for (;;) {
        const e = table[t]! - 1;
        if (e === -1) {
          const p = this.pathDecoder.toString('latin1', b0, b0 + len);
          entrySlot[entries] = i;
          entryRouteId[entries] = fw;
          path[k] = entryPath[entries] = intern(p);
          route[k] = entryRoute[entries] = intern(routes.name(p, fw));
          entryCell[entries] = t;
          table[t] = ++entries;
          // Kept current, not set once at the end: a throw from route naming must not leave cells uncleared.
          this.lastEntries = entries;
          break;
        }
        const other = entrySlot[e]!;
        if (entryRouteId[e] === fw && pathLen[other] === len && samePath(words, bytes, other, i, len)) {
          path[k] = entryPath[e]!;
          route[k] = entryRoute[e]!;
          break;
        }
        t = (t + 1) & TABLE_MASK;
      }
    }
    // The fixed-width columns are copied as they are, over at most two runs of the ring.
    const run = Math.min(k, ring.capacity - first);
    copyRun(duration, ring.duration, first, run, k);
    copyRun(status, ring.status, first, run, k);
    copyRun(size, ring.size, first, run, k);
    copyRun(flags, ring.flags, first, run, k);
    const queuedMs = this.stalls?.annotate(start, wallOffset, flags, k);
    const block = this.block(k, strings, start, duration, method, path, route, status, size, flags, c !== null);
    if (queuedMs !== undefined) block.queuedMs = queuedMs;
    return block;
  }

  private block(
    k: number, strings: string[], start: Float64Array, duration: Float64Array, method: Uint32Array, path: Uint32Array,
    route: Uint32Array, status: Uint16Array, size: Float64Array, flags: Uint8Array, views: boolean,
  ): EventColumns {
    if (k === start.length) return { count: k, strings, start, duration, method, path, route, status, size, flags };
    // Views for reused columns; copies otherwise, so that a kept block holds only its rows.
    const cut = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T): T => (views ? a.subarray(0, k) : a.slice(0, k)) as T;
    return {
      count: k, strings,
      start: cut(start), duration: cut(duration), method: cut(method), path: cut(path),
      route: cut(route), status: cut(status), size: cut(size), flags: cut(flags),
    };
  }
}

const WORDS_PER_SLOT = PATH_STRIDE / 4;

/** Whether the inline paths of two slots, both `len` bytes long, are equal. */
function samePath(words: Uint32Array, bytes: Uint8Array, slotA: number, slotB: number, len: number): boolean {
  const a = slotA * WORDS_PER_SLOT;
  const b = slotB * WORDS_PER_SLOT;
  const full = len >>> 2;
  for (let j = 0; j < full; j++) if (words[a + j] !== words[b + j]) return false;
  for (let j = full << 2; j < len; j++) if (bytes[slotA * PATH_STRIDE + j] !== bytes[slotB * PATH_STRIDE + j]) return false;
  return true;
}

/** Copies `k` events from ring slot `first` on: `run` of them before the ring wraps, the rest from slot 0. */
function copyRun<T extends Float64Array | Uint16Array | Uint8Array>(dst: T, src: T, first: number, run: number, k: number): void {
  dst.set(src.subarray(first, first + run) as never);
  if (k > run) dst.set(src.subarray(0, k - run) as never, run);
}
