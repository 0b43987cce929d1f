// The agent's own cost, measured as it runs (protocol/agent-cost.ts). The request path
// pays a countdown and two compares per hook: 1 request in HOOK_SAMPLE_EVERY has its
// hook body timed, through the same call as every other request's.
// The flush and the runtime timers are timed whole, in CPU time (a few calls a second).
import { performance } from 'node:perf_hooks';
import type { AgentCost } from '../protocol/agent-cost.js';

export const HOOK_SAMPLE_EVERY = 256;
/** The countdown value at which the clock alone is timed, half a period from the hook's timing. */
export const CLOCK_SAMPLE_AT = HOOK_SAMPLE_EVERY / 2;
/** Timings kept per kind for the estimate. */
const KEPT = 64;

/** The newest KEPT timings of one section, ns; read as their median (a GC inside one is not the hook's). */
class Timings {
  samples = 0;
  private readonly ns = new Float64Array(KEPT);

  add(t0: number): void {
    this.ns[this.samples++ % KEPT] = (performance.now() - t0) * 1e6;
  }

  median(sorted: Float64Array): number {
    const n = Math.min(this.samples, KEPT);
    if (n === 0) return 0;
    const s = sorted.subarray(0, n);
    s.set(this.ns.subarray(0, n));
    s.sort();
    return n % 2 === 1 ? s[n >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  }
}

// A clock pair read once in a while costs far more than in a tight loop (1.4 µs against
// 80 ns, measured on a server under load): its code and data have left the caches. So
// the clock alone is timed at the same rate and place, and taken off the hooks' timings.
export class CostMeter {
  startCountdown = HOOK_SAMPLE_EVERY;
  finishCountdown = HOOK_SAMPLE_EVERY;
  flushUs = 0;
  timerUs = 0;
  private startWraps = 0;
  private readonly start = new Timings();
  private readonly finish = new Timings();
  private readonly startClock = new Timings();
  private readonly finishClock = new Timings();
  private readonly sorted = new Float64Array(KEPT);
  /** Hook work estimated up to `estimatedRequests`, µs. */
  private hookUs = 0;
  private estimatedRequests = 0;

  /** Requests the start hook saw, from its countdown. */
  get requests(): number {
    return this.startWraps * HOOK_SAMPLE_EVERY + (HOOK_SAMPLE_EVERY - this.startCountdown);
  }

  get nsPerRequest(): number {
    const s = this.sorted;
    return Math.max(0, this.start.median(s) - this.startClock.median(s)) + Math.max(0, this.finish.median(s) - this.finishClock.median(s));
  }

  /** The clock alone, read at `t0` just before: what a timing of nothing costs now. */
  clockStart(t0: number): void {
    this.startClock.add(t0);
  }

  clockFinish(t0: number): void {
    this.finishClock.add(t0);
  }

  /** A timed start hook, begun at `t0` (performance.now()), just ended. */
  timedStart(t0: number): void {
    this.start.add(t0);
    this.startCountdown = HOOK_SAMPLE_EVERY;
    this.startWraps++;
  }

  timedFinish(t0: number): void {
    this.finish.add(t0);
    this.finishCountdown = HOOK_SAMPLE_EVERY;
  }

  /**
   * `body`, its CPU time added to flushUs (flush) or timerUs. CPU, not wall-clock time: on
   * a busy host a flush preempted midway took twice its CPU in wall-clock time.
   */
  timed<A extends unknown[]>(kind: 'flush' | 'timer', body: (...args: A) => void): (...args: A) => void {
    return (...args: A): void => {
      const c0 = process.cpuUsage();
      try {
        body(...args);
      } finally {
        const c = process.cpuUsage(c0);
        const us = c.user + c.system;
        if (kind === 'flush') this.flushUs += us;
        else this.timerUs += us;
      }
    };
  }

  /** The totals now; the requests since the last report are costed at the current estimate. */
  report(bytesSent: number): AgentCost {
    const requests = this.requests;
    const nsPerRequest = this.nsPerRequest;
    this.hookUs += ((requests - this.estimatedRequests) * nsPerRequest) / 1000;
    this.estimatedRequests = requests;
    const cpu = process.cpuUsage();
    return {
      time: Date.now(), requests, nsPerRequest, hookSamples: this.start.samples,
      workUs: this.hookUs + this.flushUs + this.timerUs, flushUs: this.flushUs, timerUs: this.timerUs,
      bytesSent, processCpuUs: cpu.user + cpu.system,
    };
  }
}
