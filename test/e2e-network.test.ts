// The agent's connection on a hostile network: a partition that drops every packet
// without a reset or a close, between a real instrumented service and a real collector.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drained, waitForAgent } from './helpers/agents.js';
import { startCollectorProcess } from './helpers/collector-process.js';
import { hit } from './helpers/http.js';
import { startService, waitFor } from './helpers/service-process.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

const PING_TIMEOUT_MS = 2000;

test('a collector lost behind a partition (no reset, no close) is noticed within the ping timeout; the agent reconnects with backoff and loses nothing', async (t) => {
  const collector = await startCollectorProcess();
  t.after(() => collector.stop());
  const proxy = await startTcpProxy(Number(new URL(collector.url).port));
  t.after(() => proxy.close());
  const svc = await startService('http-app.mjs', {
    env: {
      NODEFLIGHT_COLLECTOR: `http://127.0.0.1:${proxy.port}`, NODEFLIGHT_SERVICE: 'partition', NODEFLIGHT_FLUSH_MS: '20',
      NODEFLIGHT_PING_TIMEOUT_MS: String(PING_TIMEOUT_MS), NODE_DEBUG: 'nodeflight',
    },
  });
  t.after(() => svc.stop());
  const pid = svc.child.pid!;

  assert.ok((await hit(svc.url, Array.from({ length: 100 }, (_, i) => `/before/${i}`))).every((s) => s === 200));
  await waitForAgent(collector.url, pid, drained(100));
  assert.equal(proxy.connections.length, 1);

  proxy.partition();
  const cutAt = Date.now();
  // The app serves on while its collector is unreachable.
  const during = await hit(svc.url, Array.from({ length: 200 }, (_, i) => `/during/${i}`));
  assert.ok(during.every((s) => s === 200), `statuses during the partition: ${[...new Set(during)]}`);
  const first = proxy.connections[0]!;
  await waitFor(() => first.closedAt, 20_000, () => `the agent kept its connection ${Date.now() - cutAt} ms into the partition; stderr: ${svc.stderr()}`);
  const noticedMs = first.closedAt! - cutAt;
  // Pinged at half the timeout, dropped at it (checked four times per timeout), plus this host's load.
  assert.ok(noticedMs <= PING_TIMEOUT_MS * 1.25 + 1500, `noticed after ${noticedMs} ms`);
  assert.match(svc.stderr(), /connection timeout 1: the collector sent nothing for \d+ ms, not even a pong/);
  assert.match(svc.stderr(), /^\[nodeflight\] the collector sent nothing for \d+ ms, not even a pong \(ws:\/\/127\.0\.0\.1:\d+\/v1\/ingest\): taken for lost, reconnecting$/m);

  // Still partitioned: each new attempt gets no handshake answer; attempts are spaced out, not a tight loop.
  await waitFor(() => (proxy.connections.length >= 3 ? true : undefined), 30_000, () => `${proxy.connections.length} attempts; stderr: ${svc.stderr()}`);
  const attempts = proxy.connections.slice(1, 3);
  const spacing = attempts[1]!.openedAt - attempts[0]!.openedAt;
  assert.ok(spacing >= PING_TIMEOUT_MS * 0.9, `attempts ${spacing} ms apart: each waits out its handshake timeout`);

  proxy.heal();
  const after = await hit(svc.url, Array.from({ length: 100 }, (_, i) => `/after/${i}`));
  assert.ok(after.every((s) => s === 200));
  const agent = await waitForAgent(collector.url, pid, (a) => a.connected && drained(400)(a), 30_000);
  assert.deepEqual(agent.counters, { recorded: 400, filtered: 0, dropped: 0, sent: 400, buffered: 0, hookErrors: 0 }, 'every event acknowledged once');
  assert.equal(svc.stdout().trim().split('\n').length, 1, `the app's stdout is its own: ${svc.stdout()}`);
  assert.equal(svc.child.exitCode, null, 'the app runs on');
});
