// The host application never notices the agent: a refused token or an unreachable
// collector leaves its responses, stdout and exit untouched.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { startCollectorProcess } from './helpers/collector-process.js';
import { getJson, hit } from './helpers/http.js';
import { fixture, startService, waitFor } from './helpers/service-process.js';

test('a wrong token is refused before the upgrade; the app serves as before', async (t) => {
  const collector = await startCollectorProcess({ token: 'right-token' });
  t.after(() => collector.stop());
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_TOKEN: 'wrong-token', NODEFLIGHT_FLUSH_MS: '50' } });
  t.after(() => svc.stop());
  const statuses = await hit(svc.url, Array.from({ length: 20 }, (_, i) => `/orders/${i}`));
  assert.deepEqual(statuses, Array(20).fill(200));
  const deadline = Date.now() + 5000;
  while (!svc.stderr().includes('401') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  assert.match(svc.stderr(), /^\[nodeflight\] .*refused the connection \(HTTP 401: wrong or missing NODEFLIGHT_TOKEN\)/m);
  assert.ok(!svc.stderr().includes('wrong-token') && !svc.stderr().includes('right-token'), 'tokens are never printed');
  const { body } = await getJson(`${collector.url}/v1/overview`);
  assert.equal(body.agents, 0);
  assert.equal(svc.stdout(), svc.stdout().split('\n')[0] + '\n', 'nothing but the app\'s own line on stdout');
});

test('an unreachable collector: the app serves as before, and is told once on stderr', async (t) => {
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: 'http://127.0.0.1:1', NODEFLIGHT_FLUSH_MS: '20' } });
  t.after(() => svc.stop());
  assert.deepEqual(await hit(svc.url, Array.from({ length: 30 }, (_, i) => `/orders/${i}`)), Array(30).fill(200));
  await waitFor(() => (svc.stderr().includes('ECONNREFUSED') ? true : undefined), 10_000, () => `no warning; stderr: ${svc.stderr()}`);
  // Retries keep failing; the line is still said once.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(svc.stderr(), `[nodeflight] cannot stream to the collector at ws://127.0.0.1:1/v1/ingest (connect ECONNREFUSED 127.0.0.1:1); recording in-process and retrying\n`);
  assert.match(svc.stdout(), /^listening \d+\n$/);
});

test('with an unreachable collector the app still exits by itself, with its stdout untouched', async () => {
  const svc = await startService('http-app.mjs', {
    env: { NODEFLIGHT_COLLECTOR: 'http://127.0.0.1:1', NODEFLIGHT_FLUSH_MS: '20', EXIT_AFTER: '50' },
  });
  const code = await Promise.race([svc.exited, new Promise((r) => setTimeout(() => r('still running after 10 s'), 10_000))]);
  if (code !== 0) await svc.stop();
  assert.equal(code, 0);
  assert.match(svc.stdout(), /^listening \d+\ndone\n$/);
  // The process may end before the transport thread has anything to say.
  assert.match(svc.stderr(), /^(\[nodeflight\] cannot stream to the collector .*\n)?$/);
});

test('with no collector configured the app exits by itself and nothing is printed', async () => {
  const svc = await startService('http-app.mjs', { env: { EXIT_AFTER: '10' } });
  assert.equal(await svc.exited, 0);
  assert.match(svc.stdout(), /^listening \d+\ndone\n$/);
  assert.equal(svc.stderr(), '');
});

test('a collector address that black-holes the connect: the app exits as soon as it is done', async (t) => {
  const hole = fork(fixture('black-hole.mjs'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  t.after(() => hole.kill('SIGKILL'));
  const [port] = (await once(hole, 'message')) as [number];
  // Fill the backlog: from here on a connect to the port hangs in SYN_SENT.
  const fillers: net.Socket[] = [];
  t.after(() => { for (const s of fillers) s.destroy(); });
  for (let i = 0; i < 4; i++) fillers.push(net.connect(port, '127.0.0.1').on('error', () => {}));
  await waitFor(() => (fillers.filter((s) => !s.connecting).length >= 1 && fillers.some((s) => s.connecting) ? true : undefined), 5000, () => 'the backlog did not fill');
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: `http://127.0.0.1:${port}`, NODEFLIGHT_FLUSH_MS: '20', EXIT_AFTER: '50' } });
  t.after(() => svc.stop());
  await waitFor(() => (svc.stdout().includes('done') ? true : undefined), 10_000, () => `the app did not finish: ${svc.stdout()}`);
  const done = Date.now();
  // The agent's connect would hang for its 10 s handshake timeout: the app must not wait for it.
  const code = await Promise.race([svc.exited, new Promise((r) => setTimeout(() => r('still running 5 s after it was done'), 5000))]);
  assert.equal(code, 0, `exit ${Date.now() - done} ms after done`);
  assert.match(svc.stdout(), /^listening \d+\ndone\n$/);
  assert.equal(svc.stderr(), '', 'a connect still under way is nothing to warn about');
});
