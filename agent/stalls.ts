// What the agent knows about each event-loop stall beyond its pause row, and the requests
// it delayed. Fed by whatever detects stalls (onStall, runtime.ts's loop timer today) and,
// with NODEFLIGHT_STALL_STACKS, by the watchdog's stacks (onStack).
//
// A request that arrived during a stall is parsed only after it, and so is timed from
// after it. Node gives no earlier time for it (no arrival stamp on the socket or the
// parser), but it does tell when: a timer due during the stall runs first thing once the
// loop is free, and the requests that waited are parsed in the poll phase right after.
// So a stall opens a window when it is detected, closed after two turns of the loop (an
// immediate in the check phase, twice): a request on a connection already open is parsed
// in the first poll phase, one on a connection accepted there in the second. Every
// request that starts inside the window is `queued`, with
// `queuedMs` = its start - the stall's start, an upper bound of its wait (it arrived at
// some moment during the stall). Flagging happens at encode time (annotate), so the
// request path pays nothing.
//
//   stall [start ........ end] detected | poll | check | timers .. poll | check: closed
//                                        ^ requests starting in here arrived during the stall
// (A request that arrived just after the stall, in those two turns, is flagged too; an
// HTTPS request on a new connection, whose handshake takes more turns, is not.)
import { performance } from 'node:perf_hooks';
import { EventFlag } from '../protocol/messages.js';
import { MAX_STALL_REQUESTS, MAX_STALLS_PER_BATCH, type StallFrame, type StallRecord, type StallRequest } from '../protocol/stalls.js';
import type { InflightTable } from './inflight.js';
import type { EventRing } from './ring.js';
import { LOOP_TICK_MS } from './runtime.js';
import type { WatchdogStack } from './stall-watchdog-worker.js';

/** Stalls waiting to be sent; past it the oldest is dropped and counted. */
const MAX_PENDING = 256;
/** Windows kept for flagging events at encode time (dumps may encode old events). */
const WINDOWS = 256;
/** How long a stall waits for the watchdog's stack before it is sent without. */
const STACK_WAIT_MS = 1000;
const MAX_PATH = 512;

interface Pending {
  start: number;
  durationMs: number;
  detectedAt: number;
  closedAt: number;
  stack: StallFrame[] | undefined;
  inflight: number;
  requests: StallRequest[];
  queued: number;
}

interface Req { method?: string; url?: string }

/**
 * Whether a stack was caught during the stall detected at `detectedAt`: the detector's start
 * is its timer's due time, up to a tick after the block began. A stack from a shorter stall
 * before it (one the watchdog saw and the timer did not) must not stand for it.
 */
function caughtIn(s: WatchdogStack, start: number, detectedAt: number): boolean {
  return s.at >= start - LOOP_TICK_MS && s.at <= detectedAt;
}

export class StallLog {
  /** Stall details lost because MAX_PENDING waited unsent. */
  dropped = 0;
  private readonly pending: Pending[] = [];
  // Windows as a ring of [stall start, opened, closed] (closed = Infinity while open).
  private readonly windows = new Float64Array(WINDOWS * 3);
  private windowCount = 0;
  /** A stack that arrived before its stall was detected. */
  private early: WatchdogStack | null = null;

  constructor(private readonly inflight: InflightTable, private readonly ring: EventRing, private readonly stacks: boolean) {}

  /** A stall of `durationMs` from `start` (performance.now() clock) just ended. */
  onStall(start: number, durationMs: number): void {
    const now = performance.now();
    const p: Pending = { start, durationMs, detectedAt: now, closedAt: Infinity, stack: undefined, inflight: 0, requests: [], queued: 0 };
    this.victims(p, now);
    const early = this.early;
    if (early !== null && caughtIn(early, start, now)) p.stack = early.frames;
    this.early = null;
    if (this.pending.length === MAX_PENDING) {
      this.pending.shift();
      this.dropped++;
    }
    this.pending.push(p);
    const w = (this.windowCount++ % WINDOWS) * 3;
    this.windows[w] = start;
    this.windows[w + 1] = now;
    this.windows[w + 2] = Infinity;
    const head = this.ring.head;
    setImmediate(() => setImmediate(() => this.close(p, w, head)).unref()).unref();
  }

  /** The watchdog's stack of the stall under way at `s.at`. */
  onStack(s: WatchdogStack): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      if (caughtIn(s, p.start, p.detectedAt)) {
        p.stack ??= s.frames;
        return;
      }
    }
    this.early = s;
  }

  /** Whether a stall is complete and waits to be sent. */
  get ready(): boolean {
    return this.pending.length > 0 && this.isReady(this.pending[0]!, performance.now());
  }

  /** The complete stalls, oldest first (at most MAX_STALLS_PER_BATCH), with wall-clock starts. */
  take(wallOffset: number): StallRecord[] {
    const now = performance.now();
    const out: StallRecord[] = [];
    while (this.pending.length > 0 && out.length < MAX_STALLS_PER_BATCH && this.isReady(this.pending[0]!, now)) {
      const p = this.pending.shift()!;
      const r: StallRecord = { start: p.start + wallOffset, durationMs: p.durationMs, inflight: p.inflight, requests: p.requests, queued: p.queued };
      if (p.stack !== undefined) r.stack = p.stack;
      out.push(r);
    }
    return out;
  }

  /**
   * Flags the rows of a block whose start falls in a stall's window; returns their queuedMs
   * column, or undefined when none does. `starts` are the block's wall-clock starts,
   * `wallOffset` what was added to the ring's; `flags` is changed in place.
   */
  annotate(starts: Float64Array, wallOffset: number, flags: Uint8Array, count: number): Float64Array | undefined {
    const n = Math.min(this.windowCount, WINDOWS);
    if (n === 0) return undefined;
    const w = this.windows;
    let queued: Float64Array | undefined;
    for (let k = 0; k < count; k++) {
      const s = starts[k]! - wallOffset;
      for (let j = 0; j < n; j++) {
        if (s < w[j * 3 + 1]! || s > w[j * 3 + 2]!) continue;
        queued ??= new Float64Array(count);
        queued[k] = s - w[j * 3]!;
        flags[k]! |= EventFlag.queued;
        break;
      }
    }
    return queued;
  }

  private isReady(p: Pending, now: number): boolean {
    return p.closedAt !== Infinity && (!this.stacks || p.stack !== undefined || now - p.detectedAt >= STACK_WAIT_MS);
  }

  // In flight when the stall was detected: their code could not run during it.
  private victims(p: Pending, now: number): void {
    const { inflight } = this;
    const oldest: number[] = [];
    for (let slot = 0; slot < inflight.res.length; slot++) {
      if (inflight.res[slot] === undefined) continue;
      p.inflight++;
      oldest.push(slot);
    }
    oldest.sort((a, b) => inflight.start[a]! - inflight.start[b]!);
    for (const slot of oldest.slice(0, MAX_STALL_REQUESTS)) {
      const req = inflight.req[slot] as Req;
      const url = req.url ?? '';
      const q = url.indexOf('?');
      p.requests.push({ method: req.method ?? 'OTHER', path: (q === -1 ? url : url.slice(0, q)).slice(0, MAX_PATH), ageMs: now - inflight.start[slot]! });
    }
  }

  // The window's requests: still in flight, or already in the ring (written since it opened).
  private close(p: Pending, w: number, head: number): void {
    const now = performance.now();
    this.windows[w + 2] = now;
    p.closedAt = now;
    const from = p.detectedAt;
    const { inflight, ring } = this;
    for (let slot = 0; slot < inflight.res.length; slot++) {
      if (inflight.res[slot] !== undefined && inflight.start[slot]! >= from) p.queued++;
    }
    for (let pos = Math.max(head, ring.oldest); pos < ring.head; pos++) {
      const s = ring.start[pos % ring.capacity]!;
      if (s >= from && s <= now) p.queued++;
    }
  }
}
