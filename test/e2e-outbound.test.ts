// Outbound HTTP calls from a real instrumented service, through the global fetch (Node's
// bundled undici), the npm undici package and node:http, to a local upstream whose
// latency and status are known, and to a refused port; checked at a real collector.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit } from './helpers/http.js';
import { startService, waitFor } from './helpers/service-process.js';

interface OutboundRow { start: number; durationMs: number; method: string; origin: string; path: string; status: number; error: string | null }
interface OutboundRoute { id: string; service: string; method: string; origin: string; count: number; status: Record<string, number>; errors: number; errorCodes: Record<string, number>; latencyMs: Record<string, number> | null }

let collector: CollectorProcess;
let upstream: http.Server;
let upstreamUrl: string;
let refusedUrl: string;

before(async () => {
  collector = await startCollectorProcess();
  // /wait/:ms?status=N answers N after ms milliseconds.
  upstream = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    setTimeout(() => {
      res.statusCode = Number(url.searchParams.get('status') ?? 200);
      res.end('upstream');
    }, Number(url.pathname.split('/')[2]));
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  // A port that was free a moment ago: nothing listens there.
  const probe = http.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  refusedUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((r) => probe.close(r));
});

after(async () => {
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
  await collector.stop();
});

test('fetch, undici and node:http calls are recorded with origin, path, status and duration; a refused connection as an error', async (t) => {
  const svc = await startService('series-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'e2e-outbound', NODEFLIGHT_FLUSH_MS: '50' } });
  t.after(() => svc.stop());
  const calls: Array<[via: string, url: string]> = [
    ['fetch', `${upstreamUrl}/wait/120?status=201`],
    ['undici', `${upstreamUrl}/wait/80?status=202`],
    ['http', `${upstreamUrl}/wait/40?status=404`],
    ['fetch', `${refusedUrl}/nobody?x=1`],
    ['http', `${refusedUrl}/nobody`],
  ];
  const startedAt = Date.now();
  const statuses = await hit(svc.url, calls.map(([via, url]) => `/call/${via}?url=${encodeURIComponent(url)}`), 1);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
  const agent = await waitForAgent(collector.url, svc.child.pid!, (a) => a.received >= calls.length);

  const runtimeUrl = `${collector.url}/v1/agents/${agent.id}/runtime`;
  const streams = await waitFor(async () => {
    const { body } = await getJson<{ streams: { outbound: { recorded: number; dropped: number; received: number } } }>(runtimeUrl);
    return body.streams.outbound.received >= calls.length ? body.streams : undefined;
  }, 10_000, () => 'the outbound calls did not reach the collector');
  assert.deepEqual(streams.outbound, { recorded: calls.length, dropped: 0, received: calls.length });

  const { body: ctx } = await getJson<{ outbound: OutboundRow[] }>(`${collector.url}/v1/agents/${agent.id}/context?from=${startedAt - 1000}&to=${Date.now()}`);
  const rows = ctx.outbound;
  assert.equal(rows.length, calls.length);
  const [viaFetch, viaUndici, viaHttp, refusedFetch, refusedHttp] = rows;
  const origin = upstreamUrl;
  for (const [row, status, sleptMs, path] of [[viaFetch, 201, 120, '/wait/120'], [viaUndici, 202, 80, '/wait/80'], [viaHttp, 404, 40, '/wait/40']] as const) {
    assert.equal(row!.origin, origin);
    assert.equal(row!.method, 'GET');
    assert.equal(row!.path, path, 'the path is kept without its query');
    assert.equal(row!.status, status);
    assert.equal(row!.error, null);
    // Timed to the response headers: never less than the upstream's sleep (libuv may fire
    // a timer up to 1 ms early); the upper bound catches a wrong unit, not a slow machine.
    assert.ok(row!.durationMs >= sleptMs - 1 && row!.durationMs < sleptMs + 1000, `${path}: ${row!.durationMs} ms`);
    assert.ok(row!.start >= startedAt - 50 && row!.start <= Date.now(), 'a wall-clock start');
  }
  for (const [row, path] of [[refusedFetch, '/nobody'], [refusedHttp, '/nobody']] as const) {
    assert.equal(row!.origin, refusedUrl);
    assert.equal(row!.path, path);
    assert.equal(row!.status, 0);
    assert.equal(row!.error, 'ECONNREFUSED');
  }

  // Per-origin statistics, with HDR percentiles and errors by code.
  const { body: list } = await getJson<{ outbound: OutboundRoute[] }>(`${collector.url}/v1/outbound?service=e2e-outbound`);
  const up = list.outbound.find((r) => r.origin === origin)!;
  assert.equal(up.count, 3);
  assert.deepEqual(up.status, { '1xx': 0, '2xx': 2, '3xx': 0, '4xx': 1, '5xx': 0 });
  assert.equal(up.errors, 0);
  assert.ok(up.latencyMs!.max >= 119 && up.latencyMs!.min >= 39, JSON.stringify(up.latencyMs));
  const down = list.outbound.find((r) => r.origin === refusedUrl)!;
  assert.equal(down.count, 2);
  assert.equal(down.errors, 2);
  assert.deepEqual(down.errorCodes, { ECONNREFUSED: 2 });
  const { status, body: one } = await getJson<OutboundRoute & { hdr: string; intervals: unknown[] }>(`${collector.url}/v1/outbound/${up.id}`);
  assert.equal(status, 200);
  assert.equal(one.count, 3);
  assert.ok(one.hdr.length > 0 && one.intervals.length > 0);
  assert.equal((await getJson(`${collector.url}/v1/outbound/nope`)).status, 404);

  // The inbound request that made each call holds it within its own time span.
  const { body: ev } = await getJson<{ events: Array<{ path: string; context: { outbound: Array<OutboundRow & { within: boolean }>; summary: { outboundWithin: number } } }> }>(
    `${collector.url}/v1/events/context?service=e2e-outbound&limit=10`);
  const fetchCall = ev.events.find((e) => e.path === '/call/fetch' && e.context.outbound.some((c) => c.path === '/wait/120'))!;
  assert.ok(fetchCall, 'the /call/fetch request lists its outbound call');
  assert.ok(fetchCall.context.outbound.find((c) => c.path === '/wait/120')!.within);

  // Prometheus: per-origin counters and the duration histogram with fixed buckets.
  const metrics = (await (await fetch(`${collector.url}/metrics`)).text());
  const labels = `service="e2e-outbound",method="GET",origin="${origin}"`;
  assert.match(metrics, new RegExp(`nodeflight_http_client_requests_total\\{${escapeRe(labels)},status_class="2xx"\\} 2\\n`));
  assert.match(metrics, new RegExp(`nodeflight_http_client_request_duration_seconds_count\\{${escapeRe(labels)}\\} 3\\n`));
  assert.match(metrics, new RegExp(`nodeflight_http_client_errors_total\\{service="e2e-outbound",method="GET",origin="${escapeRe(refusedUrl)}",code="ECONNREFUSED"\\} 2\\n`));
});

test('NODEFLIGHT_HTTP_CLIENT=0 records no outbound call', async (t) => {
  const svc = await startService('series-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'e2e-outbound-off', NODEFLIGHT_FLUSH_MS: '50', NODEFLIGHT_HTTP_CLIENT: '0' } });
  t.after(() => svc.stop());
  await hit(svc.url, [`/call/fetch?url=${encodeURIComponent(`${upstreamUrl}/wait/1`)}`, `/call/http?url=${encodeURIComponent(`${upstreamUrl}/wait/1`)}`], 1);
  const agent = await waitForAgent(collector.url, svc.child.pid!, (a) => a.received >= 2);
  const { body } = await getJson<{ streams: { outbound: { recorded: number } } }>(`${collector.url}/v1/agents/${agent.id}/runtime`);
  assert.equal(body.streams.outbound.recorded, 0);
  assert.deepEqual((await getJson<{ outbound: unknown[] }>(`${collector.url}/v1/outbound?service=e2e-outbound-off`)).body.outbound, []);
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
