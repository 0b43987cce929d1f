// Per-route counts and latency percentiles over a recording's events, for
// `nodeflight summary`. Latency goes into an HDR histogram per route (microseconds,
// 3 significant digits, as the collector keeps them), so memory per route is fixed
// however many events a file holds. The JS build of hdr-histogram-js is enough here:
// a summary runs once, off any hot path.
import { build, type Histogram } from 'hdr-histogram-js';
import { EventFlag, type EventColumns } from '../protocol/messages.js';

/** Routes kept apart; the rest fold into one row (* * (other)), so a hostile file cannot exhaust memory. */
const MAX_SUMMARY_ROUTES = 10_000;
/** Not a JSON array, so no route's key can equal it. */
const OVERFLOW_KEY = 'overflow';

export const PERCENTILES = [50, 90, 99, 99.9] as const;

export interface RouteRow {
  service: string;
  method: string;
  route: string;
  count: number;
  /** Responses with a 5xx status. */
  errors: number;
  aborted: number;
  histogram: Histogram;
  /** Exact, where the histogram would round it to its bucket. */
  maxMs: number;
}

export class RouteTable {
  private readonly rows = new Map<string, RouteRow>();

  add(service: string, b: EventColumns): void {
    // A block interns its strings, so rows are looked up once per method and route pair.
    const rows = new Map<number, RouteRow>();
    const n = b.strings.length;
    for (let i = 0; i < b.count; i++) {
      const pair = b.method[i]! * n + b.route[i]!;
      let row = rows.get(pair);
      if (!row) {
        row = this.row(service, b.strings[b.method[i]!]!, b.strings[b.route[i]!]!);
        rows.set(pair, row);
      }
      const ms = b.duration[i]!;
      row.count++;
      if (b.status[i]! >= 500) row.errors++;
      if (b.flags[i]! & EventFlag.aborted) row.aborted++;
      row.histogram.recordValue(Math.round(ms * 1000));
      if (ms > row.maxMs) row.maxMs = ms;
    }
  }

  /** Busiest first; ties in name order, so that the output is stable. */
  sorted(): RouteRow[] {
    return [...this.rows.values()].sort((a, b) => b.count - a.count || a.service.localeCompare(b.service) ||
      a.route.localeCompare(b.route) || a.method.localeCompare(b.method));
  }

  private row(service: string, method: string, route: string): RouteRow {
    const key = JSON.stringify([service, method, route]);
    const row = this.rows.get(key) ?? this.rows.get(OVERFLOW_KEY);
    if (row) return row;
    if (this.rows.size < MAX_SUMMARY_ROUTES) return this.create(key, service, method, route);
    return this.create(OVERFLOW_KEY, '*', '*', '(other)');
  }

  private create(key: string, service: string, method: string, route: string): RouteRow {
    const row = { service, method, route, count: 0, errors: 0, aborted: 0, histogram: build({ numberOfSignificantValueDigits: 3 }), maxMs: 0 };
    this.rows.set(key, row);
    return row;
  }
}
