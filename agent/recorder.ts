// The per-request path: time a request from its start to its finish, apply the event
// settings, and write one row into the ring. Written plainly on purpose:
//   - two clock reads (performance.now(), ~46 ns each here) and no Date.now(): the
//     wall-clock start is derived at flush time;
//   - no object, closure or string is created per request (a path filter reads the
//     URL up to its query in place);
//   - the route is not named here: the framework's route is kept as a small integer
//     and path-based naming runs at flush time, cached per path.
import { METHODS, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { EventFlag, type Counters, type LiveSettings } from '../protocol/messages.js';
import { compilePathFilter, pathMatches, type PathMatcher } from '../protocol/path-filter.js';
import { settingsErrors } from '../protocol/settings.js';
import { InflightTable, type TrackedResponse } from './inflight.js';
import { responseBodySize } from './node-internals.js';
import { EventRing } from './ring.js';
import { RouteNames } from './route-names.js';

/** Slot of a response in the in-flight table (a small integer, stored without boxing). */
const kSlot = Symbol('nodeflight.slot');
/** Framework route id set on a request by a framework hook (Fastify). */
export const kRoute = Symbol('nodeflight.route');
/** Express Route objects cache their id per mount point here. */
const kExpressRoute = Symbol('nodeflight.expressRoute');

/** Method names by id; id 0 is a method Node's parser accepted that this table lacks. */
export const METHOD_NAMES: readonly string[] = ['OTHER', ...METHODS];
export const methodIds = new Map<string, number>(METHOD_NAMES.map((m, i) => [m, i]));

type Req = IncomingMessage & { [kRoute]?: number; route?: unknown; baseUrl?: string };
type Res = ServerResponse & { [kSlot]?: number };
interface ExpressRoute { path?: unknown; [kExpressRoute]?: { baseUrl: string; id: number } }

export class Recorder {
  readonly ring: EventRing;
  readonly inflight = new InflightTable();
  readonly routes: RouteNames;

  // Live settings as the hot path reads them; replaced together by apply().
  private filter: PathMatcher | null = null;
  private thresholdMs = 0;
  private sampleRate = 1;
  private enabled = true;
  settings: LiveSettings;
  settingsVersion = 0;

  filtered = 0;
  /** Requests not timed because MAX_INFLIGHT were open; recorded and dropped at once. */
  untracked = 0;
  hookErrors = 0;

  constructor(capacity: number, templates: string[], settings: LiveSettings) {
    this.ring = new EventRing(capacity);
    this.routes = new RouteNames(templates);
    this.settings = settings;
    const error = this.apply(settings, 0);
    if (error) throw new Error(error);
  }

  /** Validates and applies live settings between two events; returns why not, or null. */
  apply(settings: LiveSettings, version: number): string | null {
    const errors = settingsErrors(settings, true);
    if (errors.length > 0) return errors.join('; ');
    const compiled = compilePathFilter(settings.pathFilter);
    if (compiled.error !== undefined) return compiled.error;
    this.filter = compiled.matcher;
    this.thresholdMs = settings.thresholdMs;
    this.sampleRate = settings.sampleRate;
    this.enabled = settings.httpServer;
    this.settings = { ...settings };
    this.settingsVersion = version;
    return null;
  }

  onStart(req: IncomingMessage, res: ServerResponse): void {
    if (!this.enabled) return;
    const slot = this.inflight.acquire(req, res as TrackedResponse, performance.now());
    if (slot === -1) {
      this.untracked++;
      return;
    }
    (res as Res)[kSlot] = slot;
  }

  onFinish(req: IncomingMessage, res: ServerResponse): void {
    const slot = (res as Res)[kSlot];
    // The identity check also covers a response the abort sweep already recorded.
    if (slot === undefined || this.inflight.res[slot] !== res) return;
    const end = performance.now();
    const start = this.inflight.start[slot]!;
    this.inflight.release(slot);
    this.record(req as Req, res as Res, start, end - start, 0);
  }

  /** Records responses whose connection closed before they finished; runs on the flush timer. */
  sweepAborted(): void {
    const { inflight } = this;
    if (inflight.size === 0) return;
    const now = performance.now();
    for (let slot = 0; slot < inflight.res.length; slot++) {
      const res = inflight.res[slot];
      if (res === undefined || !res.destroyed || res.writableFinished) continue;
      const start = inflight.start[slot]!;
      const req = inflight.req[slot] as Req;
      inflight.release(slot);
      this.record(req, res as unknown as Res, start, now - start, EventFlag.aborted);
    }
  }

  private record(req: Req, res: Res, start: number, duration: number, flags: number): void {
    if (duration < this.thresholdMs || (this.sampleRate < 1 && Math.random() >= this.sampleRate)) {
      this.filtered++;
      return;
    }
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const pathEnd = q === -1 ? url.length : q;
    if (this.filter !== null && !pathMatches(this.filter, url, pathEnd)) {
      this.filtered++;
      return;
    }
    this.ring.write(start, duration, methodIds.get(req.method!) ?? 0, url, pathEnd, this.frameworkRoute(req), res.statusCode, responseBodySize(res), flags);
  }

  /** The framework route id of a request still open, for agent/inflight-snapshot.ts (not the request path). */
  frameworkRouteOf(req: object): number {
    return this.frameworkRoute(req as Req);
  }

  private frameworkRoute(req: Req): number {
    const id = req[kRoute];
    if (id !== undefined) return id;
    const route = req.route;
    if (route === undefined || route === null || typeof route !== 'object') return 0;
    return this.expressRoute(req.baseUrl ?? '', route as ExpressRoute);
  }

  // Express keeps one Route object per route; its id is cached on it per mount point,
  // so the baseUrl + path string is built once, not per request.
  private expressRoute(baseUrl: string, route: ExpressRoute): number {
    const cached = route[kExpressRoute];
    if (cached !== undefined && cached.baseUrl === baseUrl) return cached.id;
    const id = this.routes.frameworkId(baseUrl + String(route.path ?? ''));
    route[kExpressRoute] = { baseUrl, id };
    return id;
  }

  /** Counters given the transport's share: events acknowledged, and awaiting an ack. */
  counters(sent: number, inFlight: number): Counters {
    const { ring } = this;
    return {
      recorded: ring.head + this.untracked,
      filtered: this.filtered,
      dropped: ring.dropped + this.untracked,
      sent,
      buffered: ring.unsent + inFlight,
      hookErrors: this.hookErrors,
    };
  }
}
