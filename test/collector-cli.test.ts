// `nodeflight collector` as a user runs it: one line on stdout, refusals with exit 2,
// environment fallbacks, and a clean exit on SIGINT and SIGTERM.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCollectorCli, startCollectorProcess } from './helpers/collector-process.js';
import { getJson } from './helpers/http.js';

test('prints exactly one line with the URL, serves on the port it picked, and exits 0 on SIGTERM', async () => {
  const c = await startCollectorProcess();
  assert.match(c.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(c.url, 'http://127.0.0.1:0');
  assert.equal((await getJson(`${c.url}/v1/overview`)).status, 200);
  assert.equal(await c.stop(), 0);
  assert.equal(c.stdout(), `nodeflight collector listening on ${c.url}\n`);
  assert.equal(c.stderr(), '');
});

test('exits 0 on SIGINT too', async () => {
  const c = await startCollectorProcess();
  c.child.kill('SIGINT');
  assert.equal(await c.exited, 0);
});

test('refuses a non-loopback address without a token, with exit 2 and a clear message', async () => {
  const r = await runCollectorCli(['--host', '0.0.0.0', '--port', '0']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^nodeflight collector: refusing to listen on 0\.0\.0\.0 without a token/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');

  const fromEnv = await runCollectorCli(['--port', '0'], { NODEFLIGHT_COLLECTOR_HOST: '0.0.0.0' });
  assert.equal(fromEnv.code, 2);
  assert.match(fromEnv.stderr, /refusing to listen on 0\.0\.0\.0 without a token/);
});

test('with a token a non-loopback address is allowed; flags win over the environment', async () => {
  const c = await startCollectorProcess({ env: { NODEFLIGHT_COLLECTOR_HOST: '0.0.0.0', NODEFLIGHT_COLLECTOR_TOKEN: 'env-token', NODEFLIGHT_COLLECTOR_PORT: '1' } });
  assert.match(c.url, /^http:\/\/0\.0\.0\.0:\d+$/, '--port 0 beat NODEFLIGHT_COLLECTOR_PORT=1');
  const port = new URL(c.url).port;
  assert.equal((await getJson(`http://127.0.0.1:${port}/v1/overview`)).status, 200);
  assert.equal(await c.stop(), 0);
});

test('bad flags and values exit 2 with what was wrong', async () => {
  const badPort = await runCollectorCli(['--port', 'eighty']);
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /^nodeflight collector: --port must be an integer from 0 to 65535, got "eighty"/);
  const badEnv = await runCollectorCli([], { NODEFLIGHT_COLLECTOR_PORT: '70000' });
  assert.equal(badEnv.code, 2);
  assert.match(badEnv.stderr, /NODEFLIGHT_COLLECTOR_PORT must be an integer from 0 to 65535, got "70000"/);
  for (const [args, why] of [
    [['--allowed-hosts', 'evil test'], /--allowed-hosts has a malformed host name "evil test"/],
    [['--max-services', '0'], /--max-services must be a positive integer, got "0"/],
    [['--gone-agent-ms', 'soon'], /--gone-agent-ms must be an integer number of milliseconds/],
  ] as const) {
    const bad = await runCollectorCli([...args]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, why);
  }
  const unknown = await runCollectorCli(['--colour']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Unknown option '--colour'/);
});

test('a port in use is reported without a stack trace', async () => {
  const first = await startCollectorProcess();
  const port = new URL(first.url).port;
  const second = await runCollectorCli(['--port', port]);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /^nodeflight collector: listen EADDRINUSE/);
  assert.equal(await first.stop(), 0);
});
