// Requests that started and have not finished yet, in preallocated slots.
//
// The start hook takes a free slot and tags the response with its index (a small
// integer property, so no heap number and no per-request object); the finish hook
// reads the start time back and frees the slot. Node publishes no channel for a
// response that never finishes, so the flush timer sweeps the table for responses
// whose connection closed first and records them as aborted: their duration is
// known to within one flush interval, at no per-request cost.
//
// The table grows by doubling when a burst holds more requests open than it has
// slots, up to MAX_INFLIGHT; past that a request is not timed and is counted.

export const MAX_INFLIGHT = 1 << 20;

export interface TrackedResponse {
  destroyed: boolean;
  writableFinished: boolean;
}

export class InflightTable {
  start: Float64Array;
  req: unknown[];
  res: Array<TrackedResponse | undefined>;
  private free: Int32Array;
  private freeTop: number;

  constructor(initial = 1024) {
    this.start = new Float64Array(initial);
    this.req = new Array<unknown>(initial).fill(undefined);
    this.res = new Array<TrackedResponse | undefined>(initial).fill(undefined);
    this.free = new Int32Array(initial);
    for (let i = 0; i < initial; i++) this.free[i] = initial - 1 - i;
    this.freeTop = initial;
  }

  get size(): number {
    return this.start.length - this.freeTop;
  }

  /** A free slot, or -1 when MAX_INFLIGHT requests are already open. */
  acquire(req: unknown, res: TrackedResponse, now: number): number {
    if (this.freeTop === 0 && !this.grow()) return -1;
    const slot = this.free[--this.freeTop]!;
    this.start[slot] = now;
    this.req[slot] = req;
    this.res[slot] = res;
    return slot;
  }

  release(slot: number): void {
    this.req[slot] = undefined;
    this.res[slot] = undefined;
    this.free[this.freeTop++] = slot;
  }

  private grow(): boolean {
    const old = this.start.length;
    if (old >= MAX_INFLIGHT) return false;
    const next = old * 2;
    const start = new Float64Array(next);
    start.set(this.start);
    this.start = start;
    this.free = new Int32Array(next);
    for (let i = old; i < next; i++) {
      this.req.push(undefined);
      this.res.push(undefined);
      this.free[this.freeTop++] = next - 1 - (i - old);
    }
    return true;
  }
}
