// Turns a range of ring positions into one self-contained column block: strings
// (methods, paths, routes) are collected into the block's own table, so a block can be
// resent after a reconnect, written to a recording or merged without any other state.
// This is where the work deferred from the hot path happens: wall-clock times, path
// decoding and route naming.
import { performance } from 'node:perf_hooks';
import type { EventColumns } from '../protocol/messages.js';
import { MAX_BLOCK_EVENTS } from '../protocol/validate.js';
import { METHOD_NAMES } from './recorder.js';
import type { EventRing } from './ring.js';
import type { RouteNames } from './route-names.js';

/** Keeps a block's string table well under the collector's frame limit. */
const MAX_BLOCK_STRING_CHARS = 2 * 1024 * 1024;

export class BlockEncoder {
  private readonly pathDecoder: Buffer;

  constructor(private readonly ring: EventRing, private readonly routes: RouteNames) {
    this.pathDecoder = ring.pathDecoder();
  }

  /**
   * Encodes up to `max` events from position `from` (which must still be held in the
   * ring). The block may hold fewer when its strings grow large; `events.count` says.
   */
  encode(from: number, max: number): EventColumns {
    const { ring, routes } = this;
    const n = Math.min(max, MAX_BLOCK_EVENTS);
    // Re-anchored per block: the monotonic clock and the wall clock drift apart over days.
    const wallOffset = Date.now() - performance.now();
    const start = new Float64Array(n);
    const duration = new Float64Array(n);
    const method = new Uint32Array(n);
    const path = new Uint32Array(n);
    const route = new Uint32Array(n);
    const status = new Uint16Array(n);
    const size = new Float64Array(n);
    const flags = new Uint8Array(n);
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
    let k = 0;
    for (; k < n && chars < MAX_BLOCK_STRING_CHARS; k++) {
      const pos = from + k;
      const i = pos % ring.capacity;
      const p = ring.pathAt(pos, this.pathDecoder);
      start[k] = ring.start[i]! + wallOffset;
      duration[k] = ring.duration[i]!;
      method[k] = intern(METHOD_NAMES[ring.method[i]!]!);
      path[k] = intern(p);
      route[k] = intern(routes.name(p, ring.route[i]!));
      status[k] = ring.status[i]!;
      size[k] = ring.size[i]!;
      flags[k] = ring.flags[i]!;
    }
    if (k === n) return { count: n, strings, start, duration, method, path, route, status, size, flags };
    return {
      count: k, strings,
      start: start.slice(0, k), duration: duration.slice(0, k), method: method.slice(0, k), path: path.slice(0, k),
      route: route.slice(0, k), status: status.slice(0, k), size: size.slice(0, k), flags: flags.slice(0, k),
    };
  }
}
