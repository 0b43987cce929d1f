// The agent's own cost, measured as it runs (protocol/agent-cost.ts). The request path
// pays one countdown per hook: 1 request in HOOK_SAMPLE_EVERY has its hook body timed,
// apart in timedStart/timedFinish so the common path stays a decrement and a compare.
// The flush and the runtime timers are timed whole (a few calls a second).
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentCost } from '../protocol/agent-cost.js';
import type { Recorder } from './recorder.js';

export const HOOK_SAMPLE_EVERY = 256;
/** Timed hook calls kept per hook for the estimate. */
const KEPT = 64;

/** The cost of the two clock reads around a timed section, ns (the fastest of a few tries). */
function clockCostNs(): number {
  let best = Infinity;
  for (let i = 0; i < 64; i++) {
    const t0 = performance.now();
    best = Math.min(best, performance.now() - t0);
  }
  return best * 1e6;
}

export class CostMeter {
  startCountdown = HOOK_SAMPLE_EVERY;
  finishCountdown = HOOK_SAMPLE_EVERY;
  flushUs = 0;
  timerUs = 0;
  private startWraps = 0;
  // The newest KEPT timings of each hook, ns; an estimate is their mean without the
  // slowest and fastest tenth: a GC or a cold first call inside one is not the hook's.
  private readonly startNs = new Float64Array(KEPT);
  private startSamples = 0;
  private readonly finishNs = new Float64Array(KEPT);
  private finishSamples = 0;
  private readonly sorted = new Float64Array(KEPT);
  /** Hook work estimated up to `estimatedRequests`, µs. */
  private hookUs = 0;
  private estimatedRequests = 0;
  private readonly clockNs = clockCostNs();

  /** Requests the start hook saw, from its countdown. */
  get requests(): number {
    return this.startWraps * HOOK_SAMPLE_EVERY + (HOOK_SAMPLE_EVERY - this.startCountdown);
  }

  get nsPerRequest(): number {
    return this.trimmedMean(this.startNs, this.startSamples) + this.trimmedMean(this.finishNs, this.finishSamples);
  }

  private trimmedMean(ns: Float64Array, samples: number): number {
    const n = Math.min(samples, KEPT);
    if (n === 0) return 0;
    const s = this.sorted.subarray(0, n);
    s.set(ns.subarray(0, n));
    s.sort();
    const cut = Math.floor(n / 10);
    let sum = 0;
    for (let i = cut; i < n - cut; i++) sum += s[i]!;
    return sum / (n - 2 * cut);
  }

  timedStart(recorder: Recorder, req: IncomingMessage, res: ServerResponse): void {
    this.startCountdown = HOOK_SAMPLE_EVERY;
    this.startWraps++;
    const t0 = performance.now();
    recorder.onStart(req, res);
    this.startNs[this.startSamples++ % KEPT] = Math.max(0, (performance.now() - t0) * 1e6 - this.clockNs);
  }

  timedFinish(recorder: Recorder, req: IncomingMessage, res: ServerResponse): void {
    this.finishCountdown = HOOK_SAMPLE_EVERY;
    const t0 = performance.now();
    recorder.onFinish(req, res);
    this.finishNs[this.finishSamples++ % KEPT] = Math.max(0, (performance.now() - t0) * 1e6 - this.clockNs);
  }

  /** `body`, its time added to flushUs (flush) or timerUs. */
  timed<A extends unknown[]>(kind: 'flush' | 'timer', body: (...args: A) => void): (...args: A) => void {
    return (...args: A): void => {
      const t0 = performance.now();
      try {
        body(...args);
      } finally {
        const us = (performance.now() - t0) * 1000;
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
      time: Date.now(), requests, nsPerRequest, hookSamples: this.startSamples,
      workUs: this.hookUs + this.flushUs + this.timerUs, flushUs: this.flushUs, timerUs: this.timerUs,
      bytesSent, processCpuUs: cpu.user + cpu.system,
    };
  }
}
