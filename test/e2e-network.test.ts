// The agent's connection on a hostile network, between a real instrumented service and a
// real collector: a partition that drops every packet without a reset or a close; a wire
// anyone can read (TLS with a private CA made by openssl, and a certificate from another CA).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, setGlobalDispatcher } from 'undici';
import { drained, waitForAgent } from './helpers/agents.js';
import { runCollectorCli, startCollectorProcess } from './helpers/collector-process.js';
import { getJson, hit } from './helpers/http.js';
import { startService, waitFor } from './helpers/service-process.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { makeCerts, type TestCerts } from './helpers/tls-certs.js';

let certs: TestCerts;
before(() => {
  certs = makeCerts();
  // This test process reads the TLS collector's REST API trusting the test CA.
  setGlobalDispatcher(new Agent({ connect: { ca: certs.ca } }));
});
after(() => certs.remove());

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

test('wss with a private CA: the token and the paths never cross the wire in clear; another CA is refused with a clear line, the app serves on', async (t) => {
  const token = 'tls-token-6f1e';
  const tokenFile = join(certs.dir, 'token');
  writeFileSync(tokenFile, `${token}\n`);
  const collector = await startCollectorProcess({ args: ['--tls-cert', certs.certFile, '--tls-key', certs.keyFile, '--token-file', tokenFile] });
  t.after(() => collector.stop());
  assert.match(collector.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const proxy = await startTcpProxy(Number(new URL(collector.url).port));
  t.after(() => proxy.close());
  const base = `https://127.0.0.1:${proxy.port}`;
  const auth = { authorization: `Bearer ${token}` };

  const svc = await startService('http-app.mjs', {
    env: { NODEFLIGHT_COLLECTOR: base, NODEFLIGHT_CA: certs.caFile, NODEFLIGHT_TOKEN: token, NODEFLIGHT_SERVICE: 'tls', NODEFLIGHT_FLUSH_MS: '20' },
  });
  t.after(() => svc.stop());
  const secretPath = '/secret-path-9d2c';
  assert.ok((await hit(svc.url, Array.from({ length: 50 }, (_, i) => `${secretPath}/${i}`))).every((s) => s === 200));
  const waitAgent = async (pid: number) => waitFor(async () => {
    const { body } = await getJson(`${collector.url}/v1/agents`, auth);
    const a = body.agents.find((x: { pid: number }) => x.pid === pid);
    return a !== undefined && drained(50)(a) ? a : undefined;
  }, 20_000, () => `agent ${pid} not drained over wss; stderr: ${svc.stderr()}`);
  await waitAgent(svc.child.pid!);
  assert.equal(svc.stderr(), '', 'no complaint over a verified wss connection');
  const wire = proxy.sent().toString('latin1');
  assert.ok(wire.length > 1000, `${wire.length} bytes crossed the proxy`);
  assert.ok(!wire.includes(token) && !wire.includes('secret-path') && !wire.includes('Upgrade'), 'the wire holds no clear text');

  // Certificates from another CA, and Node's defaults alone: refused before anything is sent.
  for (const [why, env] of [['another CA', { NODEFLIGHT_CA: certs.otherCaFile }], ["Node's CAs", {}]] as const) {
    const bytesBefore = proxy.sent().length;
    const other = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: base, NODEFLIGHT_TOKEN: token, NODEFLIGHT_SERVICE: 'tls-wrong', ...env } });
    t.after(() => other.stop());
    const line = await waitFor(() => /^\[nodeflight\] refused the TLS certificate .*$/m.exec(other.stderr())?.[0], 15_000, () => `${why}: stderr: ${other.stderr()}`);
    assert.match(line, new RegExp(`^\\[nodeflight\\] refused the TLS certificate of the collector at wss://127\\.0\\.0\\.1:${proxy.port}/v1/ingest ` +
      '\\((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY): .*\\); nothing is sent to it\\. ' +
      'If a private CA signed it, set NODEFLIGHT_CA to that CA\'s PEM file\\. Recording in-process and retrying$'), why);
    assert.ok((await hit(other.url, ['/orders/1', '/orders/2'])).every((s) => s === 200), `${why}: the app serves on`);
    assert.equal(other.stderr().trim().split('\n').length, 1, `${why}: said once: ${other.stderr()}`);
    const sentNow = proxy.sent().subarray(bytesBefore).toString('latin1');
    assert.ok(!sentNow.includes(token), `${why}: the token was not sent`);
    const { body } = await getJson(`${collector.url}/v1/agents`, auth);
    assert.equal(body.agents.some((a: { pid: number }) => a.pid === other.child.pid), false, `${why}: never connected`);
    await other.stop();
  }
});

test('the collector refuses a TLS or token file setting it cannot use, naming the flag and the file', async () => {
  const keyOfOtherCa = join(certs.dir, 'other-ca.key');
  const emptyToken = join(certs.dir, 'empty-token');
  writeFileSync(emptyToken, '\n');
  const cases: Array<[string[], RegExp]> = [
    [['--tls-cert', certs.certFile], /--tls-cert and --tls-key go together/],
    [['--tls-key', certs.keyFile], /--tls-cert and --tls-key go together/],
    [['--tls-cert', '/nonexistent/cert.pem', '--tls-key', certs.keyFile], /--tls-cert "\/nonexistent\/cert\.pem" cannot be read: ENOENT/],
    [['--tls-cert', certs.certFile, '--tls-key', keyOfOtherCa], /--tls-cert ".*server\.pem" and --tls-key ".*other-ca\.key" cannot serve TLS: .*key values mismatch/],
    [['--tls-cert', certs.keyFile, '--tls-key', certs.keyFile], /cannot serve TLS/],
    [['--token', 'a', '--token-file', emptyToken], /either as --token or as --token-file, not both/],
    [['--token-file', emptyToken], /--token-file ".*empty-token" must hold the token on its first line, in printable ASCII/],
    [['--token-file', '/nonexistent/token'], /--token-file "\/nonexistent\/token" cannot be read: ENOENT/],
  ];
  for (const [args, message] of cases) {
    const r = await runCollectorCli(['--port', '0', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    assert.equal(r.stdout, '');
  }
});
