// Turns batches into per-route statistics. Built for high ingest (millions of events
// a second on one core), so a batch is handled in two plain loops over its typed-array
// columns: the first maps each event to a batch-local route slot, resolving each
// distinct (method, route) pair of the batch to its RouteStats once; the second only
// indexes arrays and records. No per-event object, string or closure.
//
// Routes are capped: past `maxRoutes`, a service's new routes fold into one route
// named `other` (method `*`) per service, whose count says how many events that was.
// Services are capped too, or each new name would bring its own `other`: past
// `maxServices`, a new service's events fold into one route `other` of service `*`.
// So there are at most maxRoutes + maxServices + 1 routes.
import { createHash } from 'node:crypto';
import { MAX_BLOCK_EVENTS } from '../../protocol/validate.js';
import type { EventColumns } from '../../protocol/messages.js';
import { createHistogram, type Histogram } from './histogram.js';
import { LatencySummary } from './latency-summary.js';
import { RecentEvents } from './recent-events.js';
import { ROW, RouteStats } from './route-stats.js';

/** Stable across collectors and restarts, so results from several collectors line up. */
export function routeId(service: string, method: string, route: string): string {
  return createHash('sha256').update(`${service}\n${method}\n${route}`).digest('hex').slice(0, 16);
}

const OTHER_ROUTE = 'other';
const OTHER_METHOD = '*';
/** The service of the route that services past the cap fold into; no service is let in under this name. */
export const FOLDED_SERVICE = '*';

export class Aggregator {
  readonly recent: RecentEvents;
  /** One histogram, summary and counter row that queries merge into; queries run one at a time. */
  readonly scratch: Histogram = createHistogram();
  readonly summary = new LatencySummary();
  readonly scratchCounts = new Float64Array(ROW);

  private readonly byKey = new Map<string, RouteStats>();
  private readonly byId = new Map<string, RouteStats>();
  /** Separate from byKey so that no agent-chosen name can collide with an overflow route. */
  private readonly otherByService = new Map<string, RouteStats>();
  private readonly services = new Set<string>();
  private folded: RouteStats | null = null;

  // Per-batch scratch, reused. `slots` maps event -> batch-local slot; `routes` maps
  // slot -> RouteStats. A slot is found from the event's route string index through
  // `slotOfRoute`, then along `nextSlot` to the slot with the event's method (one step
  // unless a route is served under several methods). Typed arrays, no hashing.
  private readonly slots = new Int32Array(MAX_BLOCK_EVENTS);
  private readonly batchRoutes: RouteStats[] = [];
  private readonly slotOfRoute = new Int32Array(3 * MAX_BLOCK_EVENTS + 3).fill(-1);
  private readonly slotMethod = new Int32Array(MAX_BLOCK_EVENTS);
  private readonly slotRoute = new Int32Array(MAX_BLOCK_EVENTS);
  private readonly nextSlot = new Int32Array(MAX_BLOCK_EVENTS);

  constructor(private readonly maxRoutes: number, maxRecentEvents: number, private readonly maxServices: number) {
    this.recent = new RecentEvents(maxRecentEvents);
  }

  get routeCount(): number {
    return this.byId.size;
  }

  /** Events counted under an `other` route because the route cap was reached. */
  overflowedEvents(): number {
    let n = 0;
    for (const r of this.otherByService.values()) n += r.countSinceStart();
    return n;
  }

  /** Events counted under the `*` service's `other` route because the service cap was reached. */
  foldedServiceEvents(): number {
    return this.folded?.countSinceStart() ?? 0;
  }

  /** `events` must have passed validateColumns (string indexes in range, count <= MAX_BLOCK_EVENTS). */
  recordBatch(agentId: string, service: string, events: EventColumns, now: number): void {
    const { count, strings, method, route, path, start, duration, status, flags, queuedMs } = events;
    const { slots, batchRoutes: routes, slotOfRoute, slotMethod, slotRoute, nextSlot } = this;
    routes.length = 0;
    try {
      for (let i = 0; i < count; i++) {
        const m = method[i]!;
        const r = route[i]!;
        let s = slotOfRoute[r]!;
        while (s !== -1 && slotMethod[s] !== m) s = nextSlot[s]!;
        if (s === -1) {
          s = routes.length;
          routes.push(this.resolve(service, strings[m]!, strings[r]!, now));
          slotMethod[s] = m;
          slotRoute[s] = r;
          nextSlot[s] = slotOfRoute[r]!;
          slotOfRoute[r] = s;
        }
        slots[i] = s;
      }
    } finally {
      // Even if creating a route failed, the next batch must find the index clean.
      for (let s = 0; s < routes.length; s++) slotOfRoute[slotRoute[s]!] = -1;
    }
    for (let i = 0; i < count; i++) {
      const r = routes[slots[i]!]!;
      const d = duration[i]!;
      const b = r.record(d, status[i]!, flags[i]!, queuedMs === undefined ? 0 : queuedMs[i]!);
      // The exemplar's strings are looked up only for an event slower than the kept one.
      if (d >= r.exemplars.floor[b]!) r.exemplars.keep(b, d, strings[path[i]!]!, agentId, start[i]! + d, now);
    }
    this.recent.append(agentId, service, events, slots, routes);
  }

  private resolve(service: string, method: string, route: string, now: number): RouteStats {
    if (!this.services.has(service)) {
      if (service === FOLDED_SERVICE || this.services.size >= this.maxServices) return this.foldService(now);
      this.services.add(service);
    }
    const key = `${service}\n${method}\n${route}`;
    let r = this.byKey.get(key);
    if (r === undefined) {
      if (this.byKey.size < this.maxRoutes) {
        r = this.add(service, method, route, now);
        this.byKey.set(key, r);
      } else {
        r = this.otherByService.get(service);
        if (r === undefined) {
          r = this.add(service, OTHER_METHOD, OTHER_ROUTE, now);
          this.otherByService.set(service, r);
        }
      }
    }
    r.advance(now);
    return r;
  }

  private foldService(now: number): RouteStats {
    this.folded ??= this.add(FOLDED_SERVICE, OTHER_METHOD, OTHER_ROUTE, now);
    this.folded.advance(now);
    return this.folded;
  }

  private add(service: string, method: string, route: string, now: number): RouteStats {
    const r = new RouteStats(routeId(service, method, route), service, method, route, now);
    this.byId.set(r.id, r);
    return r;
  }

  get(id: string): RouteStats | undefined {
    return this.byId.get(id);
  }

  /** Sorted by service, route, method; `other` routes included. */
  list(service?: string): RouteStats[] {
    const all = [...this.byId.values()].filter((r) => service === undefined || r.service === service);
    return all.sort((a, b) => cmp(a.service, b.service) || cmp(a.route, b.route) || cmp(a.method, b.method));
  }

  destroy(): void {
    for (const r of this.byId.values()) r.destroy();
    this.scratch.destroy();
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
