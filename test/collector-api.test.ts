// The REST API's contract: versioned paths, error bodies and statuses for every kind of
// bad input, and the read endpoints over events sent by a scripted agent.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, rawHttp } from './helpers/http.js';
import { AgentClient } from './helpers/ingest-client.js';

let collector: CollectorProcess;
let agent: AgentClient;

before(async () => {
  collector = await startCollectorProcess();
  agent = await AgentClient.connect(collector.url);
  await agent.handshake('api-agent', 'api-svc');
  await agent.batch(1, [
    { path: '/users/1', route: '/users/:id', durationMs: 5, size: 120, start: 1_700_000_000_001 },
    { path: '/users/2', route: '/users/:id', durationMs: 50, status: 500, start: 1_700_000_000_002 },
    { path: '/health', durationMs: 0.25, start: 1_700_000_000_003 },
    { method: 'POST', path: '/users', durationMs: 12.345, status: 201, start: 1_700_000_000_004 },
    { path: '/users/3', route: '/users/:id', durationMs: 7, aborted: true, start: 1_700_000_000_005 },
  ]);
});
after(async () => {
  await agent.close();
  assert.equal(await collector.stop(), 0);
});

/** Status and parsed body of a raw HTTP exchange the client libraries would not send. */
const raw = (text: string) => rawHttp(collector.url, text);

test('unversioned paths answer as v1; an unknown version is a 404 with an errors body', async () => {
  const v1 = await getJson(`${collector.url}/v1/overview`);
  const bare = await getJson(`${collector.url}/overview`);
  assert.equal(bare.status, 200);
  assert.deepEqual({ ...bare.body, uptimeMs: 0 }, { ...v1.body, uptimeMs: 0 });
  assert.deepEqual(Object.keys(v1.body).sort(), ['agents', 'connectedAgents', 'events', 'rejectedFrames', 'routes', 'routesOverflowed', 'servicesOverflowed', 'uptimeMs', 'version']);
  assert.deepEqual(await getJson(`${collector.url}/v9/overview`), { status: 404, body: { errors: ['unknown API version v9; this collector serves v1'] } });
  assert.deepEqual(await getJson(`${collector.url}/v1/nothing`), { status: 404, body: { errors: ['no such endpoint: /v1/nothing'] } });
  assert.deepEqual(await getJson(`${collector.url}/dashboard/nothing.js`), { status: 404, body: { errors: ['no dashboard file "/dashboard/nothing.js"'] } });
  assert.deepEqual((await getJson(`${collector.url}/routes`)).body, (await getJson(`${collector.url}/v1/routes`)).body);
});

test('a wrong method is a 405 with an Allow header', async () => {
  const res = await request(`${collector.url}/v1/routes`, { method: 'DELETE' });
  assert.equal(res.statusCode, 405);
  assert.equal(res.headers.allow, 'GET, HEAD');
  assert.deepEqual(await res.body.json(), { errors: ['DELETE is not allowed here; allowed: GET, HEAD'] });
  const head = await request(`${collector.url}/v1/overview`, { method: 'HEAD' });
  assert.equal(head.statusCode, 200);
  assert.equal(await head.body.text(), '');
});

test('bad query values are 400s that say what was expected', async () => {
  const cases: Array<[string, string]> = [
    ['/v1/routes?window=abc', 'window must be a positive duration such as 60s or 5m, got "abc"'],
    ['/v1/routes?window=0s', 'window must be a positive duration such as 60s or 5m, got "0s"'],
    ['/v1/routes?window=10m', 'window 10m is longer than the 5m this collector retains'],
    ['/v1/routes?colour=red', 'unknown query parameter "colour"; this endpoint takes service, window'],
    ['/v1/overview?x=1', 'unknown query parameter "x"; this endpoint takes none'],
    ['/v1/events?limit=-1', 'limit must be an integer from 1 to 1000, got "-1"'],
    ['/v1/events?limit=0', 'limit must be an integer from 1 to 1000, got "0"'],
    ['/v1/events?limit=1001', 'limit must be an integer from 1 to 1000, got "1001"'],
    ['/v1/events?limit=1&limit=2', 'query parameter limit is given more than once'],
    ['/v1/events?minMs=fast', 'minMs must be a non-negative number of milliseconds, got "fast"'],
    ['/v1/events?service=', 'service must not be empty'],
    ['/v1/routes/abc?window=1x', 'window must be a positive duration such as 60s or 5m, got "1x"'],
  ];
  for (const [path, message] of cases) {
    assert.deepEqual(await getJson(collector.url + path), { status: 400, body: { errors: [message] } }, path);
  }
});

test('requests Node cannot parse, oversized bodies and plain GETs of the ingest endpoint get precise JSON errors', async () => {
  const garbage = await raw('NONSENSE / HTTP/1.1\r\n\r\n');
  assert.equal(garbage.status, 400);
  assert.match(garbage.body.errors[0], /^malformed HTTP request: /);
  const big = await raw(`PUT /v1/settings HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\nConnection: close\r\n\r\n`);
  assert.deepEqual(big, { status: 413, body: { errors: ['request body is larger than 1048576 bytes'] } });
  const headers = await raw(`GET /v1/overview HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.equal(headers.status, 431);
  const badPercent = await getJson(`${collector.url}/v1/routes/%E0%A4%A`);
  assert.deepEqual(badPercent, { status: 400, body: { errors: ['malformed percent-encoding in path segment "%E0%A4%A"'] } });
  const ingest = await getJson(`${collector.url}/v1/ingest`);
  assert.equal(ingest.status, 426);
});

test('/v1/routes lists routes sorted by service, route, method with counts, statuses and latency', async () => {
  const { body } = await getJson(`${collector.url}/v1/routes?service=api-svc`);
  assert.deepEqual(body.routes.map((r: any) => `${r.method} ${r.route} ${r.count}`), ['GET /health 1', 'POST /users 1', 'GET /users/:id 3']);
  const users = body.routes[2];
  assert.match(users.id, /^[0-9a-f]{16}$/);
  assert.deepEqual(users.status, { '1xx': 0, '2xx': 2, '3xx': 0, '4xx': 0, '5xx': 1 });
  assert.equal(users.aborted, 1);
  assert.deepEqual(Object.keys(users.rate), ['m1', 'm5', 'm15']);
  assert.equal(users.latencyMs.min, 5);
  assert.equal(users.latencyMs.max, 50);
  assert.equal(body.routes[1].latencyMs.min, 12.345, 'microsecond resolution');
  assert.ok(Math.abs(body.routes[1].latencyMs.p50 - 12.345) <= 12.345 * 0.001, 'percentiles to 3 significant digits');
  assert.deepEqual((await getJson(`${collector.url}/v1/routes?service=nobody`)).body, { routes: [] });
});

test('/v1/routes/:id adds the percentile distribution, the HDR form and intervals; unknown ids are 404', async () => {
  const { body: list } = await getJson(`${collector.url}/v1/routes?service=api-svc`);
  const id = list.routes[2].id;
  const { status, body } = await getJson(`${collector.url}/v1/routes/${id}`);
  assert.equal(status, 200);
  assert.equal(body.route, '/users/:id');
  assert.equal(body.histogram.at(-1).percentile, 100);
  assert.equal(body.histogram.at(-1).count, 3);
  assert.equal(typeof body.hdr, 'string');
  // The real clock may have crossed a 5 s boundary since the batch: count over all intervals.
  assert.equal(body.intervals.reduce((n: number, i: any) => n + i.count, 0), 3);
  assert.deepEqual(await getJson(`${collector.url}/v1/routes/0000000000000000`), { status: 404, body: { errors: ['no route with id "0000000000000000"'] } });
});

test('/v1/events returns recent events newest first, filtered by service, route (id or template) and minMs', async () => {
  const all = (await getJson(`${collector.url}/v1/events?service=api-svc`)).body.events;
  assert.deepEqual(all.map((e: any) => e.path), ['/users/3', '/users', '/health', '/users/2', '/users/1']);
  assert.deepEqual(all[4], {
    agentId: 'api-agent', service: 'api-svc', method: 'GET', path: '/users/1', route: '/users/:id', routeId: all[4].routeId,
    status: 200, size: 120, aborted: false, start: 1_700_000_000_001, durationMs: 5, queued: false, queuedMs: 0,
  });
  assert.equal(all[0].aborted, true);
  assert.equal(all[0].size, null);
  const byTemplate = (await getJson(`${collector.url}/v1/events?route=${encodeURIComponent('/users/:id')}&limit=2`)).body.events;
  assert.deepEqual(byTemplate.map((e: any) => e.path), ['/users/3', '/users/2']);
  const byId = (await getJson(`${collector.url}/v1/events?route=${all[4].routeId}`)).body.events;
  assert.equal(byId.length, 3);
  const slow = (await getJson(`${collector.url}/v1/events?minMs=10`)).body.events;
  assert.deepEqual(slow.map((e: any) => e.durationMs), [12.345, 50]);
});

test('/v1/agents and /v1/settings', async () => {
  const { body } = await getJson(`${collector.url}/v1/agents`);
  const a = body.agents.find((x: any) => x.id === 'api-agent');
  for (const k of ['id', 'service', 'host', 'pid', 'nodeVersion', 'agentVersion', 'connected', 'connectedAt', 'lastSeenAt', 'settings', 'settingsVersion', 'counters', 'received']) assert.ok(k in a, k);
  assert.deepEqual(Object.keys(a.counters), ['recorded', 'filtered', 'dropped', 'sent', 'buffered', 'hookErrors']);
  const settings = (await getJson(`${collector.url}/v1/settings`)).body;
  assert.deepEqual(settings.settings, { pathFilter: '.*', thresholdMs: 0, sampleRate: 1, httpServer: true });
  assert.deepEqual([settings.version, settings.set], [0, {}], 'nothing set: agents run their own settings');
});
