// A route as GET /v1/routes and /v1/routes/:id answer it: written by collector/api/,
// read back by `nodeflight merge` and the demo, so all three share these types.
import type { LatencyMs, PercentilePoint } from './histogram.js';
import type { IntervalPoint } from './route-stats.js';

export interface RouteJson {
  id: string;
  service: string;
  method: string;
  route: string;
  count: number;
  rate: { m1: number; m5: number; m15: number };
  status: Record<string, number>;
  aborted: number;
  /** null when the route had no events in the window. */
  latencyMs: LatencyMs | null;
  /** Requests that arrived during an event-loop stall, and the sum of their waits (upper bounds), in the window. */
  queued: { count: number; waitMs: number };
  /** Since start, with those waits added; null while the route never had a queued request. */
  latencyWithWaitMs: LatencyMs | null;
}

export interface RouteDetailJson extends RouteJson {
  histogram: PercentilePoint[];
  hdr: string;
  intervals: IntervalPoint[];
}
