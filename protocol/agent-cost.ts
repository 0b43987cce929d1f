// What the agent spends, as it measures it itself: every batch carries the totals since
// the agent started, so a lost or resent batch loses nothing and the collector turns
// two reports into rates.
//
// Measured: the HTTP hooks' bodies on a sample of requests (1 in HOOK_SAMPLE_EVERY, timed
// with performance.now(), the clock's own cost taken off), and all of the flush (encode,
// pack, socket write) and the runtime timers, in process CPU time (process.cpuUsage(): what
// other threads spend meanwhile counts too, preemption does not). Not measured: diagnostics_channel's
// dispatch to the hooks, GC of what the agent allocates, and kernel time of its writes.

export interface AgentCost {
  /** Wall-clock time of the report, ms since the epoch. */
  time: number;
  /** HTTP server requests the hooks saw (started). */
  requests: number;
  /** Estimated hook work per request (start + finish), ns; 0 before the first sample. */
  nsPerRequest: number;
  /** Requests whose hooks were timed. */
  hookSamples: number;
  /** Estimated agent CPU time on the main thread, µs: hooks (estimated) + flush + timers (measured). */
  workUs: number;
  flushUs: number;
  timerUs: number;
  /** Bytes written to the collector's socket, resends included. */
  bytesSent: number;
  /** The whole process's CPU time (user + system), µs: what workUs is a share of. */
  processCpuUs: number;
}

export const COST_FIELDS = ['time', 'requests', 'nsPerRequest', 'hookSamples', 'workUs', 'flushUs', 'timerUs', 'bytesSent', 'processCpuUs'] as const;

export function validateCost(v: unknown): string | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'cost must be a map';
  const o = v as Record<string, unknown>;
  for (const k of COST_FIELDS) {
    const x = o[k];
    if (!(typeof x === 'number' && x >= 0 && x < 1e18)) return `cost.${k} must be a finite non-negative number`;
  }
  return null;
}
