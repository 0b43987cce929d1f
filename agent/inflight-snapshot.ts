// Reads the requests open now out of the in-flight table (agent/inflight.ts), for the
// collector (every INFLIGHT_PERIOD_MS at most, on the flush timer), for dumps and at exit. Nothing is
// added to the request path: the start hook already keeps each open request's start
// time, request and response in the table; this reads them on demand.
//
// Cost: one pass over the table's slots (the abort sweep makes the same pass every
// flush), a bounded heap of the INFLIGHT_LIMIT oldest, and route naming for those only.
import { performance } from 'node:perf_hooks';
import { EventFlag, type EventColumns, type InflightSnapshot } from '../protocol/messages.js';
import { INFLIGHT_LIMIT, INFLIGHT_PERIOD_MS } from '../protocol/inflight.js';
import { errorText, warnOnce } from './log.js';
import type { Recorder } from './recorder.js';
import { MAX_PATH } from './ring.js';
import { interner } from './series.js';

interface OpenRequest {
  method?: unknown;
  url?: unknown;
}

/** The `limit` open slots with the smallest start times, oldest first. */
function oldestSlots(start: Float64Array, res: ReadonlyArray<unknown>, limit: number): { slots: number[]; open: number } {
  // A max-heap on start time of the `limit` oldest seen so far: the root is the youngest kept.
  const heap: number[] = [];
  let open = 0;
  const before = (a: number, b: number): boolean => start[a]! > start[b]!;
  for (let slot = 0; slot < res.length; slot++) {
    const r = res[slot] as { destroyed?: boolean } | undefined;
    // A destroyed response is the abort sweep's: recorded as aborted at the next flush.
    if (r === undefined || r.destroyed === true) continue;
    open++;
    if (heap.length < limit) {
      heap.push(slot);
      for (let i = heap.length - 1; i > 0;) {
        const p = (i - 1) >> 1;
        if (!before(heap[i]!, heap[p]!)) break;
        [heap[i], heap[p]] = [heap[p]!, heap[i]!];
        i = p;
      }
    } else if (limit > 0 && start[slot]! < start[heap[0]!]!) {
      heap[0] = slot;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r2 = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r2 < heap.length && before(heap[r2]!, heap[m]!)) m = r2;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
  }
  return { slots: heap.sort((a, b) => start[a]! - start[b]!), open };
}

const UNREADABLE = { method: 'OTHER', path: '', full: '', fw: 0 };

/** What a snapshot shows of an open request; a request whose getters throw shows as an empty path (the app's hooks report those). */
function readRequest(recorder: Recorder, req: OpenRequest): { method: string; path: string; full: string; fw: number } {
  try {
    const url = typeof req.url === 'string' ? req.url : '';
    const q = url.indexOf('?');
    const full = q === -1 ? url : url.slice(0, q);
    const path = full.length > MAX_PATH ? full.slice(0, MAX_PATH) : full;
    const method = typeof req.method === 'string' && /^[A-Za-z0-9_-]{1,32}$/.test(req.method) ? req.method : 'OTHER';
    return { method, path, full, fw: recorder.frameworkRouteOf(req) };
  } catch {
    return UNREADABLE;
  }
}

/** The oldest open requests now, as a snapshot; at most `limit` rows. */
export function snapshotInflight(recorder: Recorder, limit = INFLIGHT_LIMIT): InflightSnapshot {
  const { inflight } = recorder;
  const now = performance.now();
  const time = Date.now();
  const { slots, open } = oldestSlots(inflight.start, inflight.res, limit);
  const { strings, intern } = interner();
  const n = slots.length;
  const c: EventColumns = {
    count: n, strings, start: new Float64Array(n), duration: new Float64Array(n), method: new Uint32Array(n), path: new Uint32Array(n),
    route: new Uint32Array(n), status: new Uint16Array(n), size: new Float64Array(n).fill(-1), flags: new Uint8Array(n),
  };
  for (let k = 0; k < n; k++) {
    const slot = slots[k]!;
    const { method, path, full, fw } = readRequest(recorder, inflight.req[slot] as OpenRequest);
    const age = now - inflight.start[slot]!;
    c.start[k] = time - age;
    c.duration[k] = age;
    c.method[k] = intern(method);
    c.path[k] = intern(path);
    c.route[k] = intern(recorder.routes.name(path, fw));
    c.flags[k] = EventFlag.inflight | (full.length > MAX_PATH ? EventFlag.truncatedPath : 0);
  }
  return { time, open, events: c };
}

/** The snapshot, or null when reading the table failed (a hostile getter): said once on stderr. */
export function safeSnapshot(recorder: Recorder): InflightSnapshot | null {
  try {
    return snapshotInflight(recorder);
  } catch (err) {
    warnOnce('inflight', `could not read the requests in flight: ${errorText(err)}`);
    return null;
  }
}

/** Decides when a connected agent sends its snapshot: every INFLIGHT_PERIOD_MS, while anything is or was open. */
export class InflightReporter {
  private lastAt = -Infinity;
  private lastOpen = 0;

  constructor(private readonly recorder: Recorder) {}

  /** Whether a snapshot should go out now. */
  due(): boolean {
    if (this.recorder.inflight.size === 0 && this.lastOpen === 0) return false;
    return performance.now() - this.lastAt >= INFLIGHT_PERIOD_MS;
  }

  /** The snapshot for the next batch (taking it resets the period). */
  take(): InflightSnapshot | null {
    const s = safeSnapshot(this.recorder);
    this.lastAt = performance.now();
    this.lastOpen = s?.open ?? 0;
    return s;
  }
}
