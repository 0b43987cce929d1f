// Why was a request slow? What ran on the same agent while it did: garbage-collection
// pauses and event-loop stalls (during which its code could not run), the outbound calls
// in flight, and the runtime samples of those seconds. Lined up by time overlap on the
// agent's own clock, which its request events and time line share.
//
// Outbound calls are not attributed to the request that made it: that would take an
// AsyncLocalStorage context per request in the agent (promise hooks on Node 20 and 22,
// a cost on every promise of the application), so it is left to overlap. A call that
// started and ended inside the request is marked `within`; with concurrent requests a
// call is `within` each request that spans it, so read it as a candidate, not a parent.
import type { OutboundRow, PauseRow, SampleRow, Timeline } from './timeline.js';

export interface RequestContext {
  pauses: Array<PauseRow & { overlapMs: number }>;
  outbound: Array<OutboundRow & { within: boolean }>;
  samples: SampleRow[];
  summary: {
    /** Time of the request spent in garbage collection, ms. */
    gcPauseMs: number;
    /** Time of the request inside event-loop stalls, ms (stalls include the GC pauses in them). */
    stallMs: number;
    outboundCalls: number;
    /** Calls that started and ended within the request. */
    outboundWithin: number;
  };
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** What overlapped [start, start + durationMs] on the agent whose time line is `t`. */
export function contextOf(t: Timeline | undefined, start: number, durationMs: number): RequestContext {
  const end = start + durationMs;
  const summary = { gcPauseMs: 0, stallMs: 0, outboundCalls: 0, outboundWithin: 0 };
  if (t === undefined) return { pauses: [], outbound: [], samples: [], summary };
  const pauses = t.pausesBetween(start, end).map((p) => {
    const overlapMs = round3(Math.max(0, Math.min(end, p.start + p.durationMs) - Math.max(start, p.start)));
    if (p.kind === 'stall') summary.stallMs += overlapMs;
    else if (p.kind.startsWith('gc')) summary.gcPauseMs += overlapMs;
    return { ...p, overlapMs };
  });
  const outbound = t.outboundBetween(start, end).map((c) => {
    const within = c.start >= start && c.start + c.durationMs <= end;
    if (within) summary.outboundWithin++;
    return { ...c, within };
  });
  summary.outboundCalls = outbound.length;
  summary.gcPauseMs = round3(summary.gcPauseMs);
  summary.stallMs = round3(summary.stallMs);
  return { pauses, outbound, samples: t.samplesBetween(start, end), summary };
}
