// The per-call path of outbound HTTP: time a call from its start to its response
// headers (or its failure) and write one row into a second EventRing, the same columnar
// ring the server events use, with the origin in its `route` column and the error code
// in its `code` column. The same discipline as recorder.ts:
//   - two performance.now() reads per call, no Date.now(): wall-clock times at flush;
//   - the start hook tags the request object with its in-flight slot (a small integer
//     under a symbol: measured cheaper than a WeakMap, see bench/micro-outbound.ts);
//   - no object, closure or string per call: origins and error codes are interned into
//     small tables once per distinct value, the path is copied into the ring as bytes.
// Both clients end a call at its response headers: that is when node:http publishes
// `http.client.response.finish`, and undici `undici:request:headers`.
import { performance } from 'node:perf_hooks';
import { InflightTable, type TrackedResponse } from './inflight.js';
import { methodIds } from './recorder.js';
import { EventRing } from './ring.js';

/** In-flight slot of a call, on the undici Request or http.ClientRequest. */
const kCall = Symbol('nodeflight.call');
/** Distinct origins and error codes named; past these, they share the name `other` / `ERROR`. */
const MAX_ORIGINS = 1024;
const MAX_CODES = 256;
/** What the collector accepts as an origin and an error code (protocol/series.ts). */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^\s/?#]{1,255}$/;
const CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** What the recorder reads of an undici Request (undici and Node's bundled copy alike). */
export interface UndiciRequest {
  origin: unknown;
  method: string;
  path: string;
  completed?: boolean;
  aborted?: boolean;
  upgrade?: unknown;
  [kCall]?: number;
}

/** What the recorder reads of an http.ClientRequest. */
export interface ClientRequestLike {
  protocol?: string;
  host?: string;
  method: string;
  path: string;
  destroyed?: boolean;
  /** Set by node:http when the response switched protocols (or answered a CONNECT): no finish is published. */
  upgradeOrConnect?: boolean;
  getHeader(name: string): unknown;
  [kCall]?: number;
}

type Call = UndiciRequest | ClientRequestLike;

export class OutboundRecorder {
  readonly ring: EventRing;
  readonly inflight = new InflightTable(64);
  /** Origin names by id (the ring's `route` column); 0 is `other`. */
  readonly origins: string[] = ['other'];
  /** Error codes by id (the ring's `code` column); 0 is no error. */
  readonly codes: string[] = [''];
  /** Calls not timed because the in-flight table was full; recorded and dropped at once. */
  untracked = 0;

  private readonly originIds = new Map<string, number>();
  // node:http requests: origin id by Host header, per scheme, so the origin string is
  // built once per distinct host rather than per call.
  private readonly httpHosts = new Map<string, number>();
  private readonly httpsHosts = new Map<string, number>();
  private readonly codeIds = new Map<string, number>();
  private readonly codeAborted: number;
  private readonly codeUnknown: number;

  constructor(capacity: number) {
    this.ring = new EventRing(capacity, true);
    this.codeAborted = this.codeId('ABORTED');
    this.codeUnknown = this.codeId('ERROR');
  }

  /** undici:request:create and http.client.request.start. */
  start(call: Call): void {
    const slot = this.inflight.acquire(call, call as unknown as TrackedResponse, performance.now());
    if (slot === -1) {
      this.untracked++;
      return;
    }
    call[kCall] = slot;
  }

  /** undici:request:headers */
  undiciHeaders(request: UndiciRequest, status: number): void {
    const slot = this.finish(request);
    if (slot !== -1) this.writeUndici(request, slot, status, 0);
  }

  /** http.client.response.finish (published when the response headers are parsed). */
  httpResponse(request: ClientRequestLike, status: number): void {
    const slot = this.finish(request);
    if (slot !== -1) this.writeHttp(request, slot, status, 0);
  }

  /** undici:request:error */
  undiciError(request: UndiciRequest, error: unknown): void {
    const slot = this.finish(request);
    if (slot !== -1) this.writeUndici(request, slot, 0, this.errorCode(error));
  }

  /** http.client.request.error */
  httpError(request: ClientRequestLike, error: unknown): void {
    const slot = this.finish(request);
    if (slot !== -1) this.writeHttp(request, slot, 0, this.errorCode(error));
  }

  /**
   * Records calls that ended without a response or an error the hooks saw, their
   * duration known to within one flush: as failed with the code ABORTED (a Node line
   * without http.client.request.error, a destroyed request), or as 101 when a node:http
   * request was upgraded. Nothing stays in the in-flight table once its call is over.
   * Runs on the flush timer.
   */
  sweep(): void {
    const { inflight } = this;
    if (inflight.size === 0) return;
    for (let slot = 0; slot < inflight.req.length; slot++) {
      const call = inflight.req[slot] as (UndiciRequest & ClientRequestLike) | undefined;
      if (call === undefined) continue;
      const upgraded = call.upgradeOrConnect === true;
      if (!(upgraded || call.destroyed === true || call.completed === true || call.aborted === true)) continue;
      if (this.finish(call) === -1) continue;
      const status = upgraded ? 101 : 0;
      const code = upgraded ? 0 : this.codeAborted;
      if (typeof call.origin === 'string') this.writeUndici(call, slot, status, code);
      else this.writeHttp(call, slot, status, code);
    }
  }

  // Takes the call's slot out of the in-flight table, leaving its start time readable
  // until the next acquire; -1 when the call was not tracked (or already recorded).
  private finish(call: Call): number {
    const slot = call[kCall];
    if (slot === undefined || this.inflight.req[slot] !== call) return -1;
    this.inflight.release(slot);
    return slot;
  }

  private writeUndici(request: UndiciRequest, slot: number, status: number, code: number): void {
    const origin = request.origin;
    this.write(slot, request.method, request.path, this.originId(typeof origin === 'string' ? origin : String(origin)), status, code);
  }

  private writeHttp(request: ClientRequestLike, slot: number, status: number, code: number): void {
    this.write(slot, request.method, request.path, this.httpOrigin(request), status, code);
  }

  private write(slot: number, method: string, path: string, origin: number, status: number, code: number): void {
    const start = this.inflight.start[slot]!;
    const duration = performance.now() - start;
    const url = typeof path === 'string' ? path : '';
    const q = url.indexOf('?');
    const { ring } = this;
    ring.write(start, duration, methodIds.get(method) ?? 0, url, q === -1 ? url.length : q, origin, status, -1, 0);
    ring.code[(ring.headIdx + ring.mask) & ring.mask] = code;
  }

  /** The origin as sent: the Host header (the port left out when it is the default), else the host. */
  private httpOrigin(request: ClientRequestLike): number {
    const header = request.getHeader('host');
    const host = typeof header === 'string' ? header : String(request.host ?? 'localhost');
    const https = request.protocol === 'https:';
    const byHost = https ? this.httpsHosts : this.httpHosts;
    let id = byHost.get(host);
    if (id === undefined) {
      id = this.originId(`${https ? 'https:' : 'http:'}//${host}`);
      if (byHost.size < MAX_ORIGINS) byHost.set(host, id);
    }
    return id;
  }

  private originId(origin: string): number {
    let id = this.originIds.get(origin);
    if (id !== undefined) return id;
    // Rare path: a new origin, checked once so that no name can make the collector refuse a batch.
    const name = origin.toLowerCase();
    id = ORIGIN.test(name) && this.origins.length < MAX_ORIGINS ? this.origins.push(name) - 1 : 0;
    if (this.originIds.size < MAX_ORIGINS) this.originIds.set(origin, id);
    return id;
  }

  private errorCode(error: unknown): number {
    const e = error as { code?: unknown; name?: unknown } | null;
    const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'ERROR';
    return this.codeId(code);
  }

  private codeId(code: string): number {
    let id = this.codeIds.get(code);
    if (id !== undefined) return id;
    if (!CODE.test(code) || this.codes.length >= MAX_CODES) return this.codeUnknown;
    id = this.codes.push(code) - 1;
    this.codeIds.set(code, id);
    return id;
  }

  /** Calls recorded (entered the ring, or were counted as untracked) and lost before they were sent. */
  counts(): { recorded: number; dropped: number } {
    return { recorded: this.ring.head + this.untracked, dropped: this.ring.dropped + this.untracked };
  }
}
