// How the collector serves the dashboard (its files, with types, caching and no way out
// of the asset table) and the live feed GET /v1/live (server-sent events: what the REST
// reads answer, once a second, to a bounded number of clients, timers gone with them).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { LiveFeed } from '../collector/api/live.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, rawHttp } from './helpers/http.js';
import { AgentClient } from './helpers/ingest-client.js';

let collector: CollectorProcess;
let agent: AgentClient;

before(async () => {
  collector = await startCollectorProcess({ token: 'serve-secret' });
  agent = await AgentClient.connect(collector.url, 'serve-secret');
  await agent.handshake('serve-agent', 'serve-svc');
  await agent.batch(1, [
    { path: '/users/1', route: '/users/:id', durationMs: 5 },
    { path: '/users/2', route: '/users/:id', durationMs: 50, status: 500 },
    { path: '/health', durationMs: 0.25 },
  ]);
});
after(async () => {
  await agent.close();
  assert.equal(await collector.stop(), 0);
});

/** A GET of `target` byte for byte: no client library would send these paths unchanged. */
const raw = (target: string) => rawHttp(collector.url, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);

test('the page and every file it loads are served with their type, no-cache and an ETag', async () => {
  const page = await request(`${collector.url}/`);
  assert.equal(page.statusCode, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['cache-control'], 'no-cache');
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'; style-src 'self'/);
  const html = await page.body.text();

  // Everything the page and its modules name, followed transitively.
  const seen = new Set<string>();
  const queue = [...html.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)].map((m) => m[1]!);
  assert.ok(queue.includes('/dashboard/app.js') && queue.includes('/dashboard/vendor/uPlot.min.css'));
  while (queue.length > 0) {
    const path = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const res = await request(collector.url + path);
    const body = await res.body.text();
    assert.equal(res.statusCode, 200, path);
    const type = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' }[path.split('.').pop()!];
    assert.equal(res.headers['content-type'], type, path);
    assert.match(String(res.headers.etag), /^"[\w-]{22}"$/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    for (const m of body.matchAll(/^import .* from '([^']+)';$/gm)) queue.push(new URL(m[1]!, `http://x${path}`).pathname);
  }
  assert.ok(seen.has('/dashboard/vendor/uPlot.esm.js') && seen.has('/dashboard/charts.js'), [...seen].join(' '));
  // No module reaches outside the collector.
  assert.doesNotMatch(html, /https?:\/\//);

  const uplot = await request(`${collector.url}/dashboard/vendor/uPlot.esm.js`);
  assert.match(await uplot.body.text(), /export \{ uPlot as default \}/);
});

test('an unchanged file is a 304 without a body; HEAD has the headers only', async () => {
  const first = await request(`${collector.url}/dashboard/app.js`);
  await first.body.dump();
  const etag = String(first.headers.etag);
  const again = await request(`${collector.url}/dashboard/app.js`, { headers: { 'if-none-match': `"other", ${etag}` } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.headers.etag, etag);
  assert.equal(await again.body.text(), '');
  const head = await request(`${collector.url}/dashboard/app.js`, { method: 'HEAD' });
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-length'], first.headers['content-length']);
  assert.equal(await head.body.text(), '');
});

test('no request path leaves the asset table: traversal and unknown files are 404 JSON', async () => {
  const targets = [
    '/dashboard/nothing.js',
    '/dashboard/../package.json',
    '/dashboard/%2e%2e/package.json',
    '/dashboard/..%2fpackage.json',
    '/dashboard/..%5c..%5cpackage.json',
    '/dashboard/vendor/../../package.json',
    '/dashboard/vendor/%2e%2e/%2e%2e/%2e%2e/package.json',
    '/dashboard//etc/passwd',
    '/dashboard/%2fetc%2fpasswd',
    '/dashboard/vendor/uPlot.cjs.js',
    '/dashboard/vendor/../../node_modules/uplot/package.json',
    '/dashboard/app.js%00.html',
    '/dashboard/dashboard.ts',
    '/dashboard/../../../../../../etc/passwd',
  ];
  for (const target of targets) {
    const { status, body } = await raw(target);
    assert.equal(status, 404, target);
    assert.equal(body.errors.length, 1, target);
    assert.doesNotMatch(JSON.stringify(body), /"version"|root:/, target);
  }
  assert.deepEqual(await getJson(`${collector.url}/dashboard/nothing.css`), { status: 404, body: { errors: ['no dashboard file "/dashboard/nothing.css"'] } });
});

/** A response whose body has not been read yet, on a connection of its own. */
async function stream(url: string): Promise<IncomingMessage> {
  const req = httpRequest(url, { agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  return res;
}

/** Reads server-sent events from `path` until `count` snapshots came, then closes. */
async function snapshots(path: string, count: number): Promise<{ res: IncomingMessage; events: Array<{ at: number; data: any }> }> {
  const res = await stream(collector.url + path);
  const events: Array<{ at: number; data: any }> = [];
  let buffered = '';
  res.setEncoding('utf8');
  for await (const chunk of res) {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = /^event: snapshot\ndata: (.*)$/m.exec(frame);
      if (data) events.push({ at: Date.now(), data: JSON.parse(data[1]!) });
    }
    if (events.length >= count) break;
  }
  res.destroy();
  return { res, events };
}

test('GET /v1/live streams what the REST reads answer, once a second, without the token', async () => {
  const { res, events } = await snapshots('/v1/live', 3);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(res.headers['cache-control'], 'no-store');
  // The first at once, then one a second.
  const gaps = events.slice(1).map((e, i) => e.at - events[i]!.at);
  for (const gap of gaps) assert.ok(gap > 500 && gap < 1600, `gaps ${gaps}`);
  const last = events.at(-1)!.data;
  const [overview, routes, agents] = await Promise.all(['/v1/overview', '/v1/routes', '/v1/agents'].map((p) => getJson(collector.url + p)));
  assert.deepEqual({ ...last.overview, uptimeMs: 0 }, { ...overview!.body, uptimeMs: 0 });
  // Rates move on every 5-second tick, which may fall between the two reads.
  const steady = (body: any) => body.routes.map(({ rate, ...r }: any) => ({ ...r, rate: Object.keys(rate) }));
  assert.deepEqual(steady(last.routes), steady(routes!.body));
  assert.deepEqual(last.agents, agents!.body);
  assert.deepEqual(last.routes.routes.map((r: any) => [r.route, r.count]).sort(), [['/health', 1], ['/users/:id', 2]]);
  assert.equal(typeof last.time, 'number');
});

test('GET /v1/live takes no query parameters, and a wrong version is a 404', async () => {
  assert.deepEqual(await getJson(`${collector.url}/v1/live?service=x`), { status: 400, body: { errors: ['unknown query parameter "service"; this endpoint takes none'] } });
  assert.equal((await getJson(`${collector.url}/v9/live`)).status, 404);
});

test('the live feed serves at most 32 clients; a freed slot can be taken again', async () => {
  const open: IncomingMessage[] = [];
  try {
    for (let i = 0; i < 32; i++) {
      const res = await stream(`${collector.url}/v1/live`);
      assert.equal(res.statusCode, 200);
      res.resume();
      open.push(res);
    }
    const full = await request(`${collector.url}/v1/live`);
    assert.equal(full.statusCode, 503);
    assert.equal(full.headers['retry-after'], '10');
    assert.deepEqual(await full.body.json(), { errors: ['the live feed has its maximum of 32 clients; poll the REST API or retry later'] });

    open.pop()!.destroy();
    // The server sees the close a moment later.
    for (let i = 0; ; i++) {
      const { res, events } = await snapshots('/v1/live', 1).catch(() => ({ res: undefined, events: [] }));
      if (res?.statusCode === 200 && events.length === 1) break;
      assert.ok(i < 50, 'the freed slot was never given back');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    for (const res of open) res.destroy();
  }
});

async function until(done: () => boolean, why: string): Promise<void> {
  for (let i = 0; !done(); i++) {
    assert.ok(i < 500, why);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('LiveFeed: the timer runs only while a client listens, and a client that does not read is cut off', async () => {
  const big = JSON.stringify({ pad: 'x'.repeat(256 * 1024) });
  const feed = new LiveFeed({ snapshot: () => big, periodMs: 10, maxUnsentBytes: 64 * 1024 });
  const server = createServer((req, res) => feed.serve(req, res)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    assert.equal(feed.ticking, false);
    // A reader that keeps up stays connected.
    const readRes = (await stream(url)).resume();
    assert.equal(feed.clientCount, 1);
    assert.equal(feed.ticking, true);

    // A client that never reads: its unsent data passes the bound and it is closed.
    const stalledRes = (await stream(url)).pause();
    assert.equal(feed.clientCount, 2);
    // (A paused client would not notice the close: watch the server's side.)
    await until(() => feed.clientCount === 1, 'the stalled client was never cut off');
    stalledRes.destroy();
    assert.equal(readRes.destroyed, false);

    readRes.destroy();
    await until(() => feed.clientCount === 0, 'the server never saw the client go');
    assert.equal(feed.ticking, false);
  } finally {
    feed.close();
    server.closeAllConnections();
    server.close();
  }
});
