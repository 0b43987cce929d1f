// Faults around a streaming agent: its collector killed and restarted, hostile paths,
// garbage collection, process exit. Every event stays accounted for.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, connect, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { drained, waitForAgent } from './helpers/agents.js';
import { startCollectorProcess } from './helpers/collector-process.js';
import { getJson, hit } from './helpers/http.js';
import { cleanEnv, repoRoot, startService } from './helpers/service-process.js';

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function routeCounts(url: string, service: string): Promise<Map<string, number>> {
  const { body } = await getJson(`${url}/v1/routes?service=${service}`);
  return new Map(body.routes.map((r: { route: string; count: number }) => [r.route, r.count]));
}

test('collector killed with SIGKILL mid-stream and restarted on the same port: the agent resends, nothing is lost or doubled', async (t) => {
  const port = await freePort();
  const first = await startCollectorProcess({ args: ['--port', String(port)] });
  t.after(() => first.stop());
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: first.url, NODEFLIGHT_SERVICE: 'resend', NODEFLIGHT_FLUSH_MS: '20' } });
  t.after(() => svc.stop());

  await hit(svc.url, Array.from({ length: 200 }, (_, i) => `/p1/${i}`));
  await waitForAgent(first.url, svc.child.pid!, drained(200));

  // Kill the collector while requests keep coming.
  const during = hit(svc.url, Array.from({ length: 300 }, (_, i) => `/p2/${i}`), 2);
  await new Promise((r) => setTimeout(r, 50));
  first.child.kill('SIGKILL');
  await first.exited;
  await during;

  const second = await startCollectorProcess({ args: ['--port', String(port)] });
  t.after(() => second.stop());
  await hit(svc.url, Array.from({ length: 200 }, (_, i) => `/p3/${i}`));
  const agent = await waitForAgent(second.url, svc.child.pid!, (a) => a.counters.recorded === 700 && a.counters.sent === 700, 20_000);
  assert.deepEqual(agent.counters, { recorded: 700, filtered: 0, dropped: 0, sent: 700, buffered: 0, hookErrors: 0 }, 'every event was acknowledged by one collector or the other');

  const counts = await routeCounts(second.url, 'resend');
  assert.equal(counts.get('/p1/:id'), undefined, 'what the first collector acknowledged is not sent again');
  assert.equal(counts.get('/p3/:id'), 200, 'after the restart, every event exactly once');
  const p2 = counts.get('/p2/:id') ?? 0;
  assert.ok(p2 <= 300, `at most the unacknowledged part of phase 2 was resent (${p2})`);
  assert.equal(agent.received, p2 + 200, 'the second collector counted each batch once');
});

test('hostile paths: too long for Node, long, percent-encoded junk, rewritten to Unicode, and a flood of distinct routes', async (t) => {
  const collector = await startCollectorProcess();
  t.after(() => collector.stop());
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'hostile', NODEFLIGHT_FLUSH_MS: '50' } });
  t.after(() => svc.stop());

  // 64 KB: Node's own parser answers 431 before any hook runs; the app serves on.
  const [tooLong] = await hit(svc.url, ['/' + 'a'.repeat(64 * 1024)]);
  assert.equal(tooLong, 431);
  // Raw non-ASCII bytes: Node answers 400 itself.
  const raw = connect(Number(new URL(svc.url).port), '127.0.0.1');
  raw.write(Buffer.concat([Buffer.from('GET /caf'), Buffer.from([0xe9, 0xff]), Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]));
  const answer = await new Promise<string>((resolve) => { let d = ''; raw.on('data', (c) => { d += c; }).on('close', () => resolve(d)); });
  assert.match(answer, /^HTTP\/1\.1 400/);

  const long = '/long/' + 'b'.repeat(10_000);
  const statuses = await hit(svc.url, Array.from({ length: 1500 }, (_, i) => `/flood/w${i}x/y`), 8);
  statuses.push(...await hit(svc.url, [long, '/caf%E9/%FF%FE', '/rewrite'], 1));
  assert.ok(statuses.every((s) => s === 200));
  await waitForAgent(collector.url, svc.child.pid!, drained(1503));

  const { body } = await getJson(`${collector.url}/v1/events?service=hostile&limit=1000`);
  const paths = new Set(body.events.map((e: { path: string }) => e.path));
  assert.ok(paths.has('/caf%E9/%FF%FE'), 'kept verbatim');
  assert.ok(paths.has('/r\u00e9sum\u00e9/\u263a'), 'a rewritten non-Latin-1 path survives');
  const routes = await routeCounts(collector.url, 'hostile');
  assert.ok(routes.size <= 1001, `routes are capped per agent (${routes.size})`);
  assert.ok((routes.get('other') ?? 0) >= 500, 'the rest fold into "other"');
  assert.equal([...routes.values()].reduce((a, b) => a + b, 0), 1503, 'every request is counted once');
  const longEvent = body.events.find((e: { path: string }) => e.path.startsWith('/long/'));
  assert.equal(longEvent?.path, long.slice(0, 2048), 'a long path is kept up to 2048 characters');
});

test('channels survive garbage collection: requests are recorded while the app collects garbage all the time', async (t) => {
  const collector = await startCollectorProcess();
  t.after(() => collector.stop());
  const svc = await startService('http-app.mjs', {
    nodeArgs: ['--expose-gc'],
    env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_FLUSH_MS: '20', GC_EVERY_MS: '5' },
  });
  t.after(() => svc.stop());
  for (let round = 0; round < 5; round++) {
    await hit(svc.url, Array.from({ length: 40 }, (_, i) => `/gc/${i}`));
    await new Promise((r) => setTimeout(r, 30));
  }
  await waitForAgent(collector.url, svc.child.pid!, drained(200));
});

test('on exit the agent flushes what is buffered: a process that exits before any timed flush still delivers every event', async (t) => {
  const collector = await startCollectorProcess();
  t.after(() => collector.stop());
  // The flush timer would first fire after a minute; only the exit flush can deliver.
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_FLUSH_MS: '60000', NODEFLIGHT_SERVICE: 'exit-flush', EXIT_AFTER: '300' } });
  assert.equal(await svc.exited, 0);
  const { body } = await getJson(`${collector.url}/v1/agents`);
  const agent = body.agents.find((a: { service: string }) => a.service === 'exit-flush');
  assert.equal(agent?.received, 300);
});

test('the agent installs no signal handler; with NODEFLIGHT_DUMP, only SIGINT and SIGTERM (which still end the process)', () => {
  const listeners = (env: Record<string, string>) => spawnSync(process.execPath, ['--import', 'nodeflight/agent', '-e',
    'setTimeout(() => console.log(JSON.stringify(["SIGINT","SIGTERM","SIGHUP","SIGUSR1","SIGUSR2","SIGQUIT"].map((s) => process.listenerCount(s)))), 100)'], {
    cwd: repoRoot, env: cleanEnv({ NODEFLIGHT_COLLECTOR: 'http://127.0.0.1:1', ...env }), encoding: 'utf8',
  }).stdout;
  assert.equal(listeners({}), '[0,0,0,0,0,0]\n');
  // test/e2e-inflight-dump.test.ts shows that the process still dies by the signal.
  assert.equal(listeners({ NODEFLIGHT_DUMP: '/dev/null' }), '[1,1,0,0,0,0]\n');
});

test('a collector unreachable for a long time: memory stays bounded, every event is accounted for', async (t) => {
  const run = async (withAgent: boolean) => {
    const svc = await startService('http-app.mjs', {
      preload: withAgent ? 'import' : 'none',
      env: { NODEFLIGHT_COLLECTOR: 'http://127.0.0.1:1', NODEFLIGHT_BUFFER_EVENTS: '4096', EXIT_AFTER: '20000', REPORT_RSS: '1' },
      timeoutMs: 60_000,
    });
    t.after(() => svc.stop());
    assert.equal(await svc.exited, 0);
    return Number(/rss (\d+)/.exec(svc.stdout())![1]);
  };
  const bare = await run(false);
  const instrumented = await run(true);
  const extraMb = (instrumented - bare) / 1048576;
  // Ring (4096 slots) + transport thread + at most 8 MB of unacknowledged batches.
  assert.ok(extraMb < 64, `the agent added ${extraMb.toFixed(1)} MB`);
});
