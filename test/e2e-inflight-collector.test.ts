// Requests open now, through a real collector: GET /v1/inflight (all, per service, per
// agent) lists what two instrumented services have started and not finished, oldest
// first, with ages and the route's p99; POST /v1/recordings puts them in the file,
// flagged inflight; once they end, the list empties.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit, sendJson } from './helpers/http.js';
import { finishedRecording } from './helpers/recordings.js';
import { repoRoot, startService, waitFor, type Service } from './helpers/service-process.js';

let collector: CollectorProcess;
let shop: Service;
let other: Service;
let shopId: string;
const aborts: AbortController[] = [];

interface Row { agentId: string; service: string; method: string; path: string; route: string; start: number; ageMs: number; routeP99Ms: number | null; overP99: boolean }

/** Sends a request that the service holds for `ms`; its abort controller ends it early. */
function open(svc: Service, path: string): void {
  const ac = new AbortController();
  aborts.push(ac);
  request(svc.url + path, { signal: ac.signal, headersTimeout: 120_000, bodyTimeout: 120_000 }).then((r) => r.body.dump(), () => undefined);
}

/** The in-flight gauges of GET /metrics, per service: [open, oldest age in seconds]. */
async function inflightGauges(): Promise<Record<string, [number, number]>> {
  const text = await (await request(`${collector.url}/metrics`)).body.text();
  const out: Record<string, [number, number]> = {};
  for (const m of text.matchAll(/^nodeflight_http_server_(requests_in_flight|oldest_request_in_flight_seconds)\{service="(\w+)"\} (\S+)$/gm)) {
    (out[m[2]!] ??= [NaN, NaN])[m[1] === 'requests_in_flight' ? 0 : 1] = Number(m[3]);
  }
  return out;
}

async function inflight(query = ''): Promise<{ time: number; open: number; agents: any[]; requests: Row[] }> {
  const { status, body } = await getJson(`${collector.url}/v1/inflight${query}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

before(async () => {
  collector = await startCollectorProcess();
  const env = (service: string) => ({ NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_FLUSH_MS: '100', NODEFLIGHT_SERVICE: service });
  shop = await startService('http-app.mjs', { env: env('shop') });
  other = await startService('http-app.mjs', { env: env('other') });
  shopId = (await waitForAgent(collector.url, shop.child.pid!, (a) => a.connected)).id;
  await waitForAgent(collector.url, other.child.pid!, (a) => a.connected);
});

after(async () => {
  for (const ac of aborts) ac.abort();
  await shop?.stop();
  await other?.stop();
  await collector?.stop();
});

test('GET /v1/inflight lists the open requests of every agent, oldest first, with ages and the route p99', async () => {
  // /sleep/:id gets a p99 of a few ms; a request of the same route held for a minute is far over it.
  await hit(shop.url, Array.from({ length: 20 }, () => '/sleep/1'));
  open(shop, '/sleep/60000');
  await new Promise((r) => setTimeout(r, 50));
  open(other, '/hang');
  await new Promise((r) => setTimeout(r, 50));
  open(shop, '/hang?q=secret');
  let last: unknown;
  const body = await waitFor(async () => {
    const b = await inflight();
    last = b;
    // A snapshot taken while the short requests ran may list some of them: wait for the three long ones.
    const paths = b.requests.map((r) => r.path).join(' ');
    return paths === '/sleep/60000 /hang /hang' && b.requests[0]!.overP99 ? b : undefined;
  }, 15_000, () => `the three open requests were not listed; last: ${JSON.stringify(last)}`);
  assert.deepEqual(body.requests.map((r) => [r.service, r.method, r.path, r.route]), [
    ['shop', 'GET', '/sleep/60000', '/sleep/:id'], ['other', 'GET', '/hang', '/hang'], ['shop', 'GET', '/hang', '/hang'],
  ], 'oldest first, across agents; the query string left out');
  const [sleeping, , hung] = body.requests as [Row, Row, Row];
  assert.equal(sleeping.agentId, shopId);
  assert.ok(sleeping.routeP99Ms !== null && sleeping.routeP99Ms < 1000 && sleeping.ageMs > sleeping.routeP99Ms);
  assert.equal(hung.routeP99Ms, null, 'a route that never finished a request has no p99');
  assert.equal(hung.overP99, false);
  assert.ok(body.requests.every((r, i) => i === 0 || r.start >= body.requests[i - 1]!.start));
  assert.ok(body.requests.every((r) => Math.abs(r.ageMs - (body.time - r.start)) < 1));
  assert.equal(body.open, 3);
  assert.deepEqual(body.agents.map((a) => [a.service, a.open, a.listed, a.connected]).sort(), [['other', 1, 1, true], ['shop', 2, 2, true]]);

  // Ages grow while the requests stay open.
  const later = await waitFor(async () => {
    const b = await inflight();
    return b.requests[0] && b.requests[0].ageMs > sleeping.ageMs + 200 ? b : undefined;
  }, 10_000, () => 'the age did not grow');
  assert.equal(later.requests[0]!.path, '/sleep/60000');

  // /metrics: the count per service and the oldest age, counted to the scrape.
  const gauges = await inflightGauges();
  assert.deepEqual(Object.keys(gauges).sort(), ['other', 'shop'], JSON.stringify(gauges));
  assert.equal(gauges.shop![0], 2);
  assert.equal(gauges.other![0], 1);
  assert.ok(gauges.shop![1] * 1000 >= later.requests[0]!.ageMs, `shop oldest ${gauges.shop![1]} s`);
  assert.ok(gauges.shop![1] > gauges.other![1], JSON.stringify(gauges));
});

test('per service and per agent, and bad queries', async () => {
  await waitFor(async () => ((await inflight()).requests.length === 3 ? true : undefined), 15_000, () => 'not listed');
  assert.deepEqual((await inflight('?service=other')).requests.map((r) => r.path), ['/hang']);
  assert.deepEqual((await inflight('?service=shop&limit=1')).requests.map((r) => r.path), ['/sleep/60000']);
  const one = await getJson(`${collector.url}/v1/agents/${shopId}/inflight`);
  assert.equal(one.status, 200);
  assert.equal(one.body.connected, true);
  assert.equal(one.body.ended, null);
  assert.deepEqual(one.body.requests.map((r: Row) => r.path), ['/sleep/60000', '/hang']);
  assert.equal((await getJson(`${collector.url}/inflight`)).status, 200, 'unversioned answers as v1');
  for (const [path, status, message] of [
    ['/v1/inflight?limit=0', 400, /limit must be an integer from 1 to 1000/],
    ['/v1/inflight?window=5m', 400, /unknown query parameter "window"/],
    ['/v1/inflight?service=', 400, /service must not be empty/],
    ['/v1/agents/nope/inflight', 404, /no agent with id "nope"/],
  ] as const) {
    const res = await getJson(collector.url + path);
    assert.equal(res.status, status, path);
    assert.match(res.body.errors[0], message);
  }
});

test('POST /v1/recordings writes the open requests as inflight records, with their age at dump time', async () => {
  const started = await sendJson('POST', `${collector.url}/v1/recordings`, { service: 'shop' });
  assert.equal(started.status, 202);
  const done = await finishedRecording(collector.url, started.body['request-id']);
  assert.equal(done.status.id, 'COMPLETED', JSON.stringify(done));
  const file = await request(`${collector.url}/v1/recordings/${started.body['request-id']}/file`);
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-inflight-rec-'));
  try {
    const path = join(dir, 'rec.nfr');
    writeFileSync(path, Buffer.from(await file.body.arrayBuffer()));
    const print = spawnSync(process.execPath, ['dist/cli/nodeflight.js', 'print', '--json', path], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(print.status, 0, print.stderr);
    const events = JSON.parse(print.stdout).events as Array<{ path: string; inflight: boolean; durationMs: number; status: number | null }>;
    const open = events.filter((e) => e.inflight);
    assert.deepEqual(open.map((e) => e.path), ['/sleep/60000', '/hang']);
    assert.ok(open.every((e) => e.status === null && e.durationMs > 100), JSON.stringify(open));
    assert.equal(events.filter((e) => !e.inflight && e.path === '/sleep/1').length, 20);
    const text = spawnSync(process.execPath, ['dist/cli/nodeflight.js', 'print', path], { cwd: repoRoot, encoding: 'utf8' });
    assert.match(text.stdout, /GET \/sleep\/60000 \/sleep\/:id - \d+\.\d{3}ms - inflight\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('requests that end leave the list', async () => {
  for (const ac of aborts) ac.abort();
  let last: unknown;
  await waitFor(async () => {
    const b = await inflight();
    last = b;
    return b.requests.length === 0 && b.open === 0 ? true : undefined;
  }, 15_000, () => `still listed: ${JSON.stringify(last)}`);
  assert.deepEqual(await inflightGauges(), { other: [0, 0], shop: [0, 0] });
});
