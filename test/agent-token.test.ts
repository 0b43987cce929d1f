// The agent's secrets against a hostile environment: a token that would smuggle a header
// into the upgrade request, and a collector URL carrying `user:password@`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { test } from 'node:test';
import { readConfig } from '../agent/config.js';
import { startService, waitFor } from './helpers/service-process.js';

/** A TCP server that keeps the first request head it receives and answers nothing. */
async function recordingServer(t: { after(fn: () => unknown): void }): Promise<{ port: number; head: () => string }> {
  let head = '';
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.setEncoding('latin1').on('data', (d: string) => { head += d; });
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => { for (const s of sockets) s.destroy(); server.close(); });
  return { port: (server.address() as AddressInfo).port, head: () => head };
}

test('a token with CR/LF cannot inject a header into the upgrade request: refused, named, never echoed', async (t) => {
  const srv = await recordingServer(t);
  const svc = await startService('http-app.mjs', {
    env: { NODEFLIGHT_COLLECTOR: `http://127.0.0.1:${srv.port}`, NODEFLIGHT_TOKEN: 'abc\r\nX-Injected: yes\r\nX-Other: 1' },
  });
  t.after(() => svc.stop());
  const head = await waitFor(() => (srv.head().includes('\r\n\r\n') ? srv.head() : undefined), 10_000, () => `no upgrade request; stderr: ${svc.stderr()}`);
  assert.doesNotMatch(head, /X-Injected/i, head);
  assert.doesNotMatch(head, /authorization/i, 'a refused token is not sent at all');
  assert.match(svc.stderr(), /^\[nodeflight\] NODEFLIGHT_TOKEN must be printable ASCII/m);
  assert.ok(!svc.stderr().includes('abc') && !svc.stderr().includes('Injected'), svc.stderr());
  const res = await fetch(`${svc.url}/orders/1`);
  assert.equal(res.status, 200, 'the app serves on');
});

test('every control character and non-ASCII character in a token is refused; printable ones are kept', () => {
  for (let c = 0; c < 0x20; c++) assert.equal(readConfig({ NODEFLIGHT_TOKEN: `a${String.fromCharCode(c)}b` }).token, undefined, `char ${c}`);
  for (const bad of ['a\x7fb', 'caf\u00e9', 'a\u2028b']) assert.equal(readConfig({ NODEFLIGHT_TOKEN: bad }).token, undefined, JSON.stringify(bad));
  assert.equal(readConfig({ NODEFLIGHT_TOKEN: 'Ab0-._~+/= !#$%&*' }).token, 'Ab0-._~+/= !#$%&*');
});

test('a collector URL with user:password@ is refused without ever echoing the credentials', () => {
  for (const raw of ['http://alice:s3cr3t-pw@127.0.0.1:9', 'http://alice:s3cr3t-pw@[bad', 'ftp://alice:s3cr3t-pw@host/x', 'wss://s3cr3t-pw@host', 'http://alice:pa/s3cr3t-pw@host']) {
    const r = spawnSync(process.execPath, ['--import', 'nodeflight/agent', '-e', 'console.log("app ran")'], {
      cwd: new URL('../../', import.meta.url), env: { PATH: process.env.PATH, NODEFLIGHT_COLLECTOR: raw }, encoding: 'utf8',
    });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'app ran\n');
    assert.match(r.stderr, /^\[nodeflight\] NODEFLIGHT_COLLECTOR /, raw);
    assert.ok(!r.stderr.includes('s3cr3t-pw') && !r.stderr.includes('alice'), r.stderr);
  }
});

test('a token is never sent over plain ws:// to a non-loopback host: refused with a precise line, the app runs', async (t) => {
  // A local address that is not loopback, if this machine has one: the agent must not even connect to it.
  const outside = Object.values(networkInterfaces()).flat().find((a) => a !== undefined && !a.internal && a.family === 'IPv4')?.address;
  let connected = false;
  let port = 9;
  if (outside !== undefined) {
    const server = createServer((s) => { connected = true; s.destroy(); }).listen(0, outside);
    await once(server, 'listening');
    t.after(() => server.close());
    port = (server.address() as AddressInfo).port;
  }
  const host = outside ?? '192.0.2.1';
  for (const [collector, token] of [[`http://${host}:${port}`, 'tok-secret'], [`ws://${host}:${port}`, 'tok-secret']] as const) {
    const r = spawnSync(process.execPath, ['--import', 'nodeflight/agent', '-e', 'setTimeout(() => console.log("app ran"), 300)'], {
      cwd: new URL('../../', import.meta.url), env: { PATH: process.env.PATH, NODEFLIGHT_COLLECTOR: collector, NODEFLIGHT_TOKEN: token }, encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'app ran\n');
    assert.equal(r.stderr, `[nodeflight] NODEFLIGHT_TOKEN is not sent in clear text to ${host}:${port}, which is not a loopback address: ` +
      'give NODEFLIGHT_COLLECTOR as https:// or wss:// (the collector\'s --tls-cert and --tls-key); recording in-process only\n');
  }
  assert.equal(connected, false, 'the agent connected to a non-loopback host with its token');
  // Loopback and wss:// are fine.
  for (const collector of ['ws://127.0.0.1:9', 'ws://localhost:9', 'ws://[::1]:9', 'wss://collector.example:8443']) {
    assert.equal(readConfig({ NODEFLIGHT_COLLECTOR: collector, NODEFLIGHT_TOKEN: 't' }).collector, collector);
  }
  assert.equal(readConfig({ NODEFLIGHT_COLLECTOR: 'ws://10.1.2.3:9' }).collector, 'ws://10.1.2.3:9', 'without a token there is nothing to leak');
});
