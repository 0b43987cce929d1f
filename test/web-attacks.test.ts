// Hostile web pages against a real collector process, in real headless Chromium, with
// and without a token. Names are mapped to loopback by Chromium's resolver rules; the
// attacker's pages come from a real server of the test's on evil.test or 127.0.0.2. The
// DNS-rebinding page is served on a port that the attacker's server then gives up to a
// collector, so that the page's own origin (evil.test:port) now reaches the collector:
//   - the rebinding read of /v1/agents and PUT /v1/settings {"sampleRate": 0};
//   - a WebSocket to the ingest endpoint that poses as an agent and injects a 500;
//   - 30 no-cors text/plain POST /v1/recordings.
// Each must fail and change nothing, while the dashboard, under a name given with
// --allowed-hosts, still works.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { request } from 'undici';
import { createEncoder } from '../protocol/codec.js';
import { waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, sendJson } from './helpers/http.js';
import { AgentClient, columns, counters, hello } from './helpers/ingest-client.js';
import { finishedRecording } from './helpers/recordings.js';
import { startService, type Service } from './helpers/service-process.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: install Debian's chromium package (.ci/run does) to run this test`;
const TOKEN = 'web-attacks-token';

/** The attacker's web server, on `host`, with one page. */
async function attackerServer(host: string, port = 0): Promise<Server & { port: number }> {
  const server = createServer((_req, res) => res.end('<!doctype html><title>hostile</title>'));
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

async function stopServer(server: Server): Promise<void> {
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeAllConnections();
  await closed;
}

/** Opens the attacker's page at `url` in a new tab. */
async function hostilePage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  const res = await page.goto(url);
  assert.equal(res?.status(), 200);
  return page;
}

for (const token of [undefined, TOKEN]) {
  const label = token === undefined ? 'without a token' : 'with a token';
  describe(`hostile pages against a collector ${label}`, { skip, timeout: 90_000 }, () => {
    let collector: CollectorProcess;
    let service: Service;
    let browser: Browser;
    let dir: string;
    let port: string;
    let evil: Server & { port: number };
    let local2: Server & { port: number };
    const auth: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'nodeflight-web-'));
      collector = await startCollectorProcess({ token, args: ['--data-dir', dir, '--allowed-hosts', 'dash.test'] });
      port = new URL(collector.url).port;
      service = await startService('http-app.mjs', {
        env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'shop', NODEFLIGHT_FLUSH_MS: '100', ...(token ? { NODEFLIGHT_TOKEN: token } : {}) },
      });
      await waitForAgent(collector.url, service.child.pid!, (a) => a.connected);
      evil = await attackerServer('127.0.0.1');
      local2 = await attackerServer('127.0.0.2');
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
          '--host-resolver-rules=MAP evil.test 127.0.0.1, MAP dash.test 127.0.0.1'],
      });
    });

    after(async () => {
      await browser?.close();
      await service?.stop();
      await collector?.stop();
      if (evil) await stopServer(evil);
      if (local2) await stopServer(local2);
      rmSync(dir, { recursive: true, force: true });
    });

    test('a DNS-rebinding page can neither read /v1/agents nor PUT /v1/settings', async (t) => {
      const rebound = await attackerServer('127.0.0.1');
      const page = await hostilePage(browser, `http://evil.test:${rebound.port}/attack.html`);
      await stopServer(rebound);
      const target = await startCollectorProcess({ token, args: ['--port', String(rebound.port)] });
      t.after(() => target.stop());
      const agent = await AgentClient.connect(target.url, token);
      await agent.handshake('rebinding-victim', 'shop');
      const before = (await getJson(`${target.url}/v1/settings`)).body;
      // Same origin for the browser: nothing but the Host header tells the collector apart.
      const seen = await page.evaluate(async () => {
        const read = await fetch('/v1/agents');
        const write = await fetch('/v1/settings', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"sampleRate":0}' });
        return { read: { status: read.status, body: await read.text() }, write: { status: write.status, body: await write.text() } };
      });
      await page.close();
      assert.equal(seen.read.status, 403, seen.read.body);
      assert.doesNotMatch(seen.read.body, /rebinding-victim/);
      assert.match(JSON.parse(seen.read.body).errors[0], /Host "evil\.test:\d+" is not allowed.*--allowed-hosts evil\.test/);
      assert.equal(seen.write.status, 403, seen.write.body);
      const after = (await getJson(`${target.url}/v1/settings`)).body;
      assert.deepEqual(after.settings, before.settings);
      assert.equal(after.latestVersion, before.latestVersion);
      await agent.close();
    });

    test('a page on another origin cannot read the API: no CORS header lets it', async () => {
      const page = await hostilePage(browser, `http://evil.test:${evil.port}/attack.html`);
      const seen = await page.evaluate(async (url) => {
        try {
          const r = await fetch(`${url}/v1/agents`);
          return `read ${r.status}: ${await r.text()}`;
        } catch (err) {
          return `blocked: ${(err as Error).name}`;
        }
      }, collector.url);
      await page.close();
      assert.equal(seen, 'blocked: TypeError');
      const r = await request(`${collector.url}/v1/agents`, { headers: { origin: `http://evil.test:${evil.port}` } });
      await r.body.dump();
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
      // Nor does a preflight let it send JSON: no Access-Control-Allow-* header answers it.
      const pre = await request(`${collector.url}/v1/settings`, {
        method: 'OPTIONS',
        headers: { origin: `http://evil.test:${evil.port}`, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
      });
      await pre.body.dump();
      assert.deepEqual(Object.keys(pre.headers).filter((h) => h.startsWith('access-control-')), []);
    });

    test('a page at 127.0.0.2 cannot pose as an agent over the ingest WebSocket', async () => {
      const encoder = createEncoder();
      const frames = [
        encoder.pack(hello('browser-agent', 'shop')),
        encoder.pack({ t: 'batch', seq: 1, counters: counters(1), events: columns([{ path: '/checkout', status: 500, durationMs: 9999 }]) }),
      ].map((b) => [...b]);
      const page = await hostilePage(browser, `http://127.0.0.2:${local2.port}/ws.html`);
      const seen = await page.evaluate(({ url, frames }) => new Promise<string>((resolve) => {
        const ws = new WebSocket(url);
        ws.binaryType = 'arraybuffer';
        let opened = false;
        ws.onopen = () => {
          opened = true;
          for (const f of frames) ws.send(new Uint8Array(f));
        };
        ws.onmessage = () => resolve('welcomed');
        ws.onclose = (e) => resolve(`${opened ? 'opened' : 'refused'} ${e.code}`);
      }), { url: `${collector.url.replace('http', 'ws')}/v1/ingest`, frames });
      await page.close();
      assert.equal(seen, 'refused 1006');
      const { agents } = (await getJson(`${collector.url}/v1/agents`)).body;
      assert.deepEqual(agents.map((a: any) => a.id).filter((id: string) => id === 'browser-agent'), []);
      const { events } = (await getJson(`${collector.url}/v1/events?minMs=9000`)).body;
      assert.deepEqual(events, []);
    });

    test('30 no-cors text/plain POST /v1/recordings start nothing and leave no file', async () => {
      const page = await hostilePage(browser, `http://evil.test:${evil.port}/post.html`);
      const statuses = await page.evaluate(async (url) => {
        const out: string[] = [];
        for (let i = 0; i < 30; i++) {
          const r = await fetch(`${url}/v1/recordings`, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{}' });
          out.push(r.type);
        }
        return out;
      }, collector.url);
      await page.close();
      assert.deepEqual(new Set(statuses), new Set(['opaque']));
      // One legitimate dump, answered after the 30: the directory holds its file alone.
      const res = await sendJson('POST', `${collector.url}/v1/recordings`, {}, auth);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const done = await finishedRecording(collector.url, res.body['request-id']);
      assert.equal(done.status.id, 'COMPLETED', JSON.stringify(done));
      assert.deepEqual(readdirSync(join(dir, 'recordings')), [`${res.body['request-id']}.nfr`]);
    });

    test('the dashboard works under a name given with --allowed-hosts', async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://dash.test:${port}/`);
      await page.waitForSelector('#live-status[data-state="live"]');
      await page.waitForSelector(`#agents-table tbody tr[data-agent-id]`);
      await page.close();
      assert.deepEqual(errors, []);
    });
  });
}
