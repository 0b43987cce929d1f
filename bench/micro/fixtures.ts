// Data shared by the microbenchmark cases.
import { performance } from 'node:perf_hooks';
import { EventRing } from '../../agent/ring.js';
import { RouteNames } from '../../agent/route-names.js';

export const RING_EVENTS = 65536;

/** Appends `events` rows as a busy node:http service records them: mixed paths, methods, statuses. */
export function fillRing(ring: EventRing, events: number): void {
  let t = performance.now();
  for (let i = 0; i < events; i++) {
    const url = i % 8 === 7 ? '/health' : i % 4 === 3 ? `/api/users/${(i * 7) % 256}/orders` : `/api/products/${1000 + (i % 64)}?fields=all&limit=12`;
    const q = url.indexOf('?');
    t += 0.02;
    ring.write(t, 0.2 + (i % 97) / 50, i % 16 === 0 ? 4 : 2, url, q === -1 ? url.length : q, 0, i % 50 === 0 ? 404 : 200, 1043, 0);
  }
}

/** A full ring of `events` rows (~330 distinct paths) and the route names to encode it. */
export function filledRing(events = RING_EVENTS): { ring: EventRing; routes: RouteNames } {
  const ring = new EventRing(events);
  fillRing(ring, events);
  return { ring, routes: new RouteNames([]) };
}
