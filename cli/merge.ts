// Exact merges across collectors. Each collector serves every route's HDR histogram in
// its compressed base64 form (`hdr` in GET /v1/routes/:id); route ids are stable hashes
// of (service, method, route), so the same route has the same id everywhere. Adding the
// histograms of one id gives the histogram one collector would have built from all the
// events: the same buckets, so the same percentiles, not an average of percentiles.
//
// Merged histograms are the JS build with 64-bit float counts: a sum over collectors
// can pass the 32-bit counts each collector keeps, and a merge runs once, off any hot path.
import * as hdr from 'hdr-histogram-js';
import { request } from 'undici';
import { latencyMs, type LatencyMs } from '../collector/stats/histogram.js';
import type { RouteJson } from '../collector/stats/route-json.js';

const TIMEOUT_MS = 10_000;
/** Route details fetched at once from one collector. */
const CONCURRENCY = 8;

/** A problem a user can act on: printed as one line, never with a stack trace. */
export class MergeError extends Error {}

/** What one collector's GET /v1/routes/:id says and a merge adds up. */
type RouteCounts = Pick<RouteJson, 'id' | 'service' | 'method' | 'route' | 'count' | 'status' | 'aborted'>;

export interface RouteDetail extends RouteCounts {
  hdr: string;
  /** Exact, where the histogram only knows their buckets. */
  minMs: number;
  maxMs: number;
}

export interface MergedRoute extends RouteCounts {
  /** How many of the collectors had events for this route. */
  collectors: number;
  latencyMs: LatencyMs;
}

export interface FetchOptions {
  service?: string;
  /** As the REST API takes it: `60s`, `5m`. */
  window?: string;
}

/** A collector base URL: http(s), no query, no trailing slash. */
export function collectorBase(raw: string): string {
  let url: URL;
  // host:port reads as a URL whose scheme is the host, or as no URL at all.
  if (!raw.includes('://')) throw new MergeError(`${JSON.stringify(raw)} is not a URL; expected a collector's base URL such as http://${/^[\w.-]+:\d+$/.test(raw) ? raw : '127.0.0.1:8081'}`);
  try {
    url = new URL(raw);
  } catch {
    throw new MergeError(`${JSON.stringify(raw)} is not a URL; expected a collector's base URL such as http://127.0.0.1:8081`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MergeError(`${JSON.stringify(raw)} is not an http:// or https:// URL; expected a collector's base URL such as http://127.0.0.1:8081`);
  }
  if (url.search || url.hash) throw new MergeError(`${JSON.stringify(raw)}: give the collector's base URL, without a query or fragment`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  switch (code) {
    case 'ECONNREFUSED': return 'connection refused (is a collector listening there?)';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'host not found';
    case 'ECONNRESET': return 'connection reset';
    case 'UND_ERR_CONNECT_TIMEOUT': case 'UND_ERR_HEADERS_TIMEOUT': case 'UND_ERR_BODY_TIMEOUT': return `no answer within ${TIMEOUT_MS / 1000} s`;
    default: return e.message ?? e.cause?.message ?? String(err);
  }
}

async function getJson(url: string): Promise<any> {
  let status: number;
  let type: string;
  let text: string;
  try {
    const res = await request(url, { headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS, headers: { accept: 'application/json' } });
    status = res.statusCode;
    type = String(res.headers['content-type'] ?? '');
    text = await res.body.text();
  } catch (err) {
    throw new MergeError(`cannot read ${url}: ${describe(err)}`);
  }
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    throw new MergeError(`${url} answered ${status} with ${type || 'no content type'}, not JSON: is this a nodeflight collector?`);
  }
  if (status !== 200) {
    const why = Array.isArray(body?.errors) ? body.errors.join('; ') : `status ${status}`;
    throw new MergeError(`${url} answered ${status}: ${why}`);
  }
  return body;
}

const isText = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function checkDetail(url: string, d: any): RouteDetail {
  const ok = d !== null && typeof d === 'object' && isText(d.id) && isText(d.service) && isText(d.method) && isText(d.route) &&
    isCount(d.count) && isCount(d.aborted) && isText(d.hdr) && d.status !== null && typeof d.status === 'object' &&
    Object.values(d.status).every(isCount) &&
    (d.count === 0 || (typeof d.latencyMs?.min === 'number' && typeof d.latencyMs?.max === 'number'));
  if (!ok) throw new MergeError(`${url} is not a nodeflight route (missing id, count, status, latencyMs or hdr): is this a nodeflight collector?`);
  return {
    id: d.id, service: d.service, method: d.method, route: d.route, count: d.count, status: d.status, aborted: d.aborted, hdr: d.hdr,
    minMs: d.latencyMs?.min ?? Infinity, maxMs: d.latencyMs?.max ?? -Infinity,
  };
}

/**
 * Every route of one collector with its histogram. The counts are taken from each
 * route's own detail, the same snapshot as its histogram, not from the list.
 */
export async function fetchRoutes(base: string, opts: FetchOptions = {}): Promise<RouteDetail[]> {
  const list = new URLSearchParams();
  if (opts.service !== undefined) list.set('service', opts.service);
  if (opts.window !== undefined) list.set('window', opts.window);
  const detail = new URLSearchParams();
  if (opts.window !== undefined) detail.set('window', opts.window);
  const q = (p: URLSearchParams): string => (p.size ? `?${p}` : '');

  const listUrl = `${base}/v1/routes${q(list)}`;
  const body = await getJson(listUrl);
  if (!Array.isArray(body?.routes) || !body.routes.every((r: any) => isText(r?.id))) {
    throw new MergeError(`${listUrl} answered JSON without a routes list: is this a nodeflight collector?`);
  }
  const ids: string[] = body.routes.map((r: { id: string }) => r.id);
  const out: RouteDetail[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, ids.length) }, async () => {
    while (next < ids.length) {
      const url = `${base}/v1/routes/${encodeURIComponent(ids[next++]!)}${q(detail)}`;
      out.push(checkDetail(url, await getJson(url)));
    }
  }));
  return out;
}

/** The compressed base64 form, decoded into a JS histogram with 64-bit float counts. */
export function decodeHdr(base64: string, where = 'a route'): hdr.Histogram {
  try {
    return hdr.decodeFromCompressedBase64(base64, 64, false);
  } catch (err) {
    throw new MergeError(`the hdr histogram of ${where} cannot be decoded: ${(err as Error).message}`);
  }
}

/** Adds up the routes of the same id, each collector's list given once. Sorted by service, route, method. */
export function mergeRoutes(perCollector: RouteDetail[][]): MergedRoute[] {
  type Sum = { first: RouteDetail; histogram: hdr.Histogram; count: number; aborted: number; status: Record<string, number>; collectors: number; minMs: number; maxMs: number };
  const byId = new Map<string, Sum>();
  for (const routes of perCollector) {
    for (const r of routes) {
      if (r.count === 0) continue;
      const h = decodeHdr(r.hdr, `${r.service} ${r.method} ${r.route}`);
      const m = byId.get(r.id);
      if (m === undefined) {
        byId.set(r.id, { first: r, histogram: h, count: r.count, aborted: r.aborted, status: { ...r.status }, collectors: 1, minMs: r.minMs, maxMs: r.maxMs });
        continue;
      }
      m.histogram.add(h);
      m.count += r.count;
      m.aborted += r.aborted;
      for (const [cls, n] of Object.entries(r.status)) m.status[cls] = (m.status[cls] ?? 0) + n;
      m.collectors++;
      m.minMs = Math.min(m.minMs, r.minMs);
      m.maxMs = Math.max(m.maxMs, r.maxMs);
    }
  }
  const merged: MergedRoute[] = [];
  for (const m of byId.values()) {
    const { id, service, method, route } = m.first;
    // A decoded histogram knows its extremes only to their bucket; the collectors knew
    // them exactly. A percentile is reported as at most that max (as `nodeflight
    // summary` does), where its bucket's upper end can pass it.
    const latency = { ...latencyMs(m.histogram), min: m.minMs, max: m.maxMs };
    for (const k of ['p50', 'p75', 'p90', 'p95', 'p99', 'p999'] as const) latency[k] = Math.min(latency[k], m.maxMs);
    merged.push({ id, service, method, route, count: m.count, status: m.status, aborted: m.aborted, collectors: m.collectors, latencyMs: latency });
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return merged.sort((a, b) => cmp(a.service, b.service) || cmp(a.route, b.route) || cmp(a.method, b.method));
}
