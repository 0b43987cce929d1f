// A bounded memory of the most recent raw events. It keeps the decoded batches
// themselves (already columns: typed arrays, and strings the rows index) rather than
// copying rows out of them: at millions of events a second nearly every row would be
// overwritten before anyone reads it, so a batch costs O(1) here and a row is only
// built when /v1/events asks. Holds at most `capacity` rows plus one batch's worth.
import { EventFlag, type EventColumns } from '../../protocol/messages.js';
import type { RouteStats } from './route-stats.js';

export interface EventRow {
  agentId: string;
  service: string;
  method: string;
  path: string;
  route: string;
  routeId: string;
  status: number;
  /** Bytes, null when the agent did not know it. */
  size: number | null;
  aborted: boolean;
  /** Wall-clock start, ms since the epoch. */
  start: number;
  durationMs: number;
  /** It arrived during an event-loop stall; `queuedMs` bounds the wait that `durationMs` leaves out. */
  queued: boolean;
  queuedMs: number;
}

export interface EventFilter {
  service?: string;
  /** A route id or a route template. */
  route?: string;
  minMs?: number;
  limit: number;
}

interface Block {
  agentId: string;
  service: string;
  events: EventColumns;
  /** The route each row was counted under (the service's `other` route past the cap): routes[slots[i]]. */
  slots: Int32Array;
  routes: RouteStats[];
  /** Rows before this one were never kept. */
  from: number;
}

export class RecentEvents {
  /** Oldest first. */
  private readonly blocks: Block[] = [];
  private rows = 0;

  constructor(private readonly capacity: number) {}

  /** `slots` and `routes` are the caller's scratch: copied, as they are reused. */
  append(agentId: string, service: string, events: EventColumns, slots: Int32Array, routes: RouteStats[]): void {
    const from = Math.max(0, events.count - this.capacity);
    if (from === events.count) return;
    this.blocks.push({ agentId, service, events, slots: slots.slice(0, events.count), routes: routes.slice(), from });
    this.rows += events.count - from;
    // Drop the oldest blocks while the rest still hold `capacity` rows.
    for (;;) {
      const oldest = this.blocks[0]!;
      const kept = oldest.events.count - oldest.from;
      if (this.rows - kept < this.capacity) break;
      this.blocks.shift();
      this.rows -= kept;
    }
  }

  /** Newest first, among the newest `capacity` rows. */
  query(f: EventFilter): EventRow[] {
    const out: EventRow[] = [];
    const minMs = f.minMs ?? 0;
    let budget = this.capacity;
    for (let b = this.blocks.length - 1; b >= 0 && budget > 0 && out.length < f.limit; b--) {
      const { agentId, service, events: ev, slots, routes, from } = this.blocks[b]!;
      if (f.service !== undefined && service !== f.service) {
        budget -= ev.count - from;
        continue;
      }
      for (let i = ev.count - 1; i >= from && budget > 0 && out.length < f.limit; i--, budget--) {
        const stats = routes[slots[i]!]!;
        const route = ev.strings[ev.route[i]!]!;
        if (f.route !== undefined && stats.id !== f.route && route !== f.route) continue;
        if (ev.duration[i]! < minMs) continue;
        out.push({
          agentId,
          service,
          method: ev.strings[ev.method[i]!]!,
          path: ev.strings[ev.path[i]!]!,
          route,
          routeId: stats.id,
          status: ev.status[i]!,
          size: ev.size[i] === -1 ? null : ev.size[i]!,
          aborted: (ev.flags[i]! & EventFlag.aborted) !== 0,
          start: ev.start[i]!,
          durationMs: ev.duration[i]!,
          queued: (ev.flags[i]! & EventFlag.queued) !== 0,
          queuedMs: ev.queuedMs?.[i] ?? 0,
        });
      }
    }
    return out;
  }
}
