// A small ring of fixed-width numeric rows, for the agent's low-rate streams: runtime
// samples (one per period) and pauses (garbage collections, loop stalls). Request-rate
// streams (server requests, outbound calls) use the columnar EventRing instead, which
// also keeps a path per row.
//
//   data: [ row 0: f0 f1 .. | row 1: f0 f1 .. | ... ]   row of position p at (p % capacity) * width
//
// Policy when full, as EventRing's: the oldest unsent row is overwritten and counted in
// `dropped`. Positions count every row ever written.
export class SeriesRing {
  readonly data: Float64Array;
  /** Position of the next write. */
  head = 0;
  /** Position of the oldest row not yet handed to the transport. */
  sendTail = 0;
  /** Unsent rows lost to overwriting. */
  dropped = 0;

  constructor(readonly capacity: number, readonly width: number) {
    this.data = new Float64Array(capacity * width);
  }

  get unsent(): number {
    return this.head - this.sendTail;
  }

  /** Claims the next row and returns the offset of its first field in `data`. */
  push(): number {
    if (this.head - this.sendTail === this.capacity) {
      this.sendTail++;
      this.dropped++;
    }
    return (this.head++ % this.capacity) * this.width;
  }

  /** Offset in `data` of the row at a position still held. */
  offset(position: number): number {
    return (position % this.capacity) * this.width;
  }

  /** Hands the next `n` unsent rows to the transport; returns the first position. */
  take(n: number): number {
    const from = this.sendTail;
    this.sendTail += n;
    return from;
  }
}
