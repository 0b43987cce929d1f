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
  private readonly table = new Int32Array(TABLE_SIZE);
  // Per distinct entry of the current block: its ring slot, framework route, strings.
  private readonly entrySlot = new Int32Array(MAX_BLOCK_EVENTS);
  private readonly entryRouteId = new Uint32Array(MAX_BLOCK_EVENTS);
  private readonly entryPath = new Uint32Array(MAX_BLOCK_EVENTS);
  private readonly entryRoute = new Uint32Array(MAX_BLOCK_EVENTS);
  private readonly methodIndex = new Int32Array(METHOD_NAMES.length);
  // Columns reused by every batch: a batch is packed as soon as it is encoded, and
  // fresh arrays per block left megabytes of ArrayBuffers awaiting GC under load.
  private readonly scratch = {
    start: new Float64Array(MAX_BLOCK_EVENTS), duration: new Float64Array(MAX_BLOCK_EVENTS), method: new Uint32Array(MAX_BLOCK_EVENTS),
    path: new Uint32Array(MAX_BLOCK_EVENTS), route: new Uint32Array(MAX_BLOCK_EVENTS), status: new Uint16Array(MAX_BLOCK_EVENTS),
    size: new Float64Array(MAX_BLOCK_EVENTS), flags: new Uint8Array(MAX_BLOCK_EVENTS),
  };

  constructor(private readonly ring: EventRing, private readonly routes: RouteNames) {
    this.pathDecoder = ring.pathDecoder();
  }

  /**
   * Encodes up to `max` events from position `from` (which must still be held in the
   * ring). The block may hold fewer when its strings grow large; `events.count` says.
   * With `transient`, the columns are views of reused arrays, valid until the next
   * call: for a block that is packed at once.
   */
  encode(from: number, max: number, transient = false): EventColumns {
    const { ring, routes, table, entrySlot, entryRouteId, entryPath, entryRoute, methodIndex } = this;
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
    table.fill(0);
    methodIndex.fill(-1);
    let entries = 0;
    const bytes = ring.pathBytes;
    const first = from % ring.capacity;
    let k = 0;
    for (; k < n && chars < MAX_BLOCK_STRING_CHARS; k++) {
      const i = (first + k) & ring.mask;
      const len = ring.pathLen[i]!;
      const fw = ring.route[i]!;
      const m = ring.method[i]!;
      let mi = methodIndex[m]!;
      if (mi === -1) mi = methodIndex[m] = intern(METHOD_NAMES[m]!);
      if (len > PATH_STRIDE) {
        const p = ring.longPath[i]!;
        path[k] = intern(p);
        route[k] = intern(routes.name(p, fw));
      } else {
        const base = i * PATH_STRIDE;
        let h = (0x811c9dc5 ^ fw ^ (len << 16)) | 0;
        for (let j = 0; j < len; j++) h = Math.imul(h ^ bytes[base + j]!, 0x01000193);
        let t = h & TABLE_MASK;
        for (;;) {
          const e = table[t]! - 1;
          if (e === -1) {
            const p = this.pathDecoder.toString('latin1', base, base + len);
            entrySlot[entries] = i;
            entryRouteId[entries] = fw;
            path[k] = entryPath[entries] = intern(p);
            route[k] = entryRoute[entries] = intern(routes.name(p, fw));
            table[t] = ++entries;
            break;
          }
          if (entryRouteId[e] === fw && sameBytes(bytes, entrySlot[e]! * PATH_STRIDE, base, len, ring.pathLen[entrySlot[e]!]!)) {
            path[k] = entryPath[e]!;
            route[k] = entryRoute[e]!;
            break;
          }
          t = (t + 1) & TABLE_MASK;
        }
      }
      start[k] = ring.start[i]! + wallOffset;
      duration[k] = ring.duration[i]!;
      method[k] = mi;
      status[k] = ring.status[i]!;
      size[k] = ring.size[i]!;
      flags[k] = ring.flags[i]!;
    }
    if (k === start.length) return { count: k, strings, start, duration, method, path, route, status, size, flags };
    // Views for reused columns; copies otherwise, so that a kept block holds only its rows.
    const cut = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T): T => (c ? a.subarray(0, k) : a.slice(0, k)) as T;
    return {
      count: k, strings,
      start: cut(start), duration: cut(duration), method: cut(method), path: cut(path),
      route: cut(route), status: cut(status), size: cut(size), flags: cut(flags),
    };
  }
}

function sameBytes(bytes: Uint8Array, a: number, b: number, len: number, lenA: number): boolean {
  if (len !== lenA) return false;
  for (let j = 0; j < len; j++) if (bytes[a + j] !== bytes[b + j]) return false;
  return true;
}
