// Data shared by the microbenchmark cases.
import { performance } from 'node:perf_hooks';
import { EventRing } from '../../agent/ring.js';
import { RouteNames } from '../../agent/route-names.js';

export const RING_EVENTS = 65536;

/** A ring as a busy node:http service leaves it: mixed paths, methods and statuses. */
export function filledRing(events = RING_EVENTS): { ring: EventRing; routes: RouteNames } {
  const ring = new EventRing(events);
  const routes = new RouteNames([]);
  let t = performance.now();
  for (let i = 0; i < events; i++) {
    const url = i % 8 === 7 ? '/health' : i % 4 === 3 ? `/api/users/${(i * 7) % 256}/orders` : `/api/products/${1000 + (i % 64)}?fields=all&limit=12`;
    const q = url.indexOf('?');
    t += 0.02;
    ring.write(t, 0.2 + (i % 97) / 50, i % 16 === 0 ? 4 : 2, url, q === -1 ? url.length : q, 0, i % 50 === 0 ? 404 : 200, 1043, 0);
  }
  return { ring, routes };
}
