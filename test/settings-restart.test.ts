// Settings survive a collector restart with --data-dir: the collector comes back on the
// same port, an agent that reconnects and an agent that connects for the first time
// both get the stored settings in their welcome, apply them and acknowledge them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitForAgent } from './helpers/agents.js';
import { runCollectorCli, startCollectorProcess } from './helpers/collector-process.js';
import { getJson, hit, sendJson } from './helpers/http.js';
import { startService } from './helpers/service-process.js';

/** A port that was free a moment ago: listen on 0, note the port, close. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('stored settings reach reconnecting and new agents in their welcome after a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-settings-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const args = ['--port', String(await freePort()), '--data-dir', dir];
  const env = (name: string) => ({ NODEFLIGHT_SERVICE: name, NODEFLIGHT_FLUSH_MS: '50' });

  let collector = await startCollectorProcess({ args });
  const first = await startService('http-app.mjs', { env: { ...env('restart-svc'), NODEFLIGHT_COLLECTOR: collector.url } });
  t.after(() => first.stop());
  await waitForAgent(collector.url, first.child.pid!, (a) => a.connected);
  const put = await sendJson('PUT', `${collector.url}/v1/settings?service=restart-svc`, { thresholdMs: 250 });
  assert.equal(put.status, 200);
  const version = put.body.version;
  await waitForAgent(collector.url, first.child.pid!, (a) => (a as any).settingsVersion === version);
  const stored = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8'));
  assert.deepEqual(stored.services['restart-svc'], { set: { thresholdMs: 250 }, version });
  assert.equal(await collector.stop(), 0);

  // Started while the collector is down: it records with its own settings meanwhile.
  const second = await startService('http-app.mjs', { env: { ...env('restart-svc'), NODEFLIGHT_COLLECTOR: collector.url } });
  t.after(() => second.stop());

  collector = await startCollectorProcess({ args });
  t.after(() => collector.stop());
  const settled = (a: any) => a.connected && a.settingsVersion === version && a.settings.thresholdMs === 250;
  await waitForAgent(collector.url, first.child.pid!, settled, 20_000);
  await waitForAgent(collector.url, second.child.pid!, settled, 20_000);
  const shown = (await getJson(`${collector.url}/v1/settings?service=restart-svc`)).body;
  assert.deepEqual([shown.set, shown.version, shown.latestVersion], [{ thresholdMs: 250 }, version, version]);
  for (const a of shown.agents) assert.deepEqual([a.requested.version, a.acknowledged.version], [version, version]);

  // The new agent applies it: fast requests are filtered now.
  await hit(second.url, ['/orders/1', '/orders/2', '/sleep/400']);
  const a = await waitForAgent(collector.url, second.child.pid!, (x) => x.counters.filtered === 2 && x.received === 1);
  assert.equal(a.counters.recorded, 1);
});

test('a damaged settings file stops the collector with a message naming it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-settings-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'settings.json'), '{"format": "nodeflight-collector-settings", "formatVersion": 1, "latestVersion": 3, "defaults": {"set": {"pathFilter": "/a(?=b)"}, "version": 3}, "services": {}, "agents": {}}');
  const r = await runCollectorCli(['--port', '0', '--data-dir', dir]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^nodeflight collector: the settings file .*settings\.json is damaged \(defaults pathFilter "\/a\(\?=b\)" is refused: lookahead .*\); fix it or remove it/);
  assert.ok(!r.stderr.includes('    at '), 'no stack trace');
});
