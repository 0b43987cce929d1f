// The host application never notices the agent's troubles: a throwing hook, a
// collector that sends garbage, closes oddly or stops reading.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRecording } from '../recording/reader.js';
import { startFakeCollector } from './helpers/fake-collector.js';
import { hit } from './helpers/http.js';
import { startService, waitFor } from './helpers/service-process.js';

function tempFile(t: { after(fn: () => void): void }, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-faults-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

async function countersIn(file: string): Promise<Record<string, number>> {
  let counters: Record<string, number> | undefined;
  for await (const entry of readRecording(file)) if (entry.t === 'agent') counters = { ...entry.counters };
  assert.ok(counters, 'the recording names its agent');
  return counters;
}

test('a hook that throws is caught, counted, said once and switched off; the app goes on', async (t) => {
  const dump = tempFile(t, 'evil.nfr');
  const svc = await startService('http-app.mjs', { env: { EXIT_AFTER: '30', EVIL_AT: '10', NODEFLIGHT_DUMP: dump } });
  assert.equal(await svc.exited, 0, 'no uncaughtException reached the app');
  assert.match(svc.stdout(), /^listening \d+\ndone\n$/);
  assert.equal(svc.stderr(), '[nodeflight] the http-server hook failed and is now off: boom from a url getter\n');
  const c = await countersIn(dump);
  assert.equal(c.hookErrors, 1);
  assert.equal(c.recorded, 10, 'the ten requests before the failure were recorded, none after');
  assert.equal(c.recorded, c.sent + c.dropped + c.buffered);
});

test('garbage, unknown messages, oversized frames and odd close codes from the collector: the agent ignores or reconnects', async (t) => {
  let n = 0;
  const fake = await startFakeCollector((ws, welcome) => {
    const k = n++;
    if (k === 0) {
      ws.send(Buffer.from([0xc1, 0xff, 0x00]));           // not msgpack
      ws.send('a text frame');
      welcome();
      ws.send(Buffer.from([0x81, 0xa1, 0x74, 0xa3, 0x62, 0x61, 0x64])); // {t: 'bad'}
      ws.send(Buffer.alloc(256 * 1024, 1));                // over the agent's maxPayload: it closes
    } else if (k === 1) {
      welcome();
      ws.close(4999, 'odd');
    } else {
      welcome();
    }
  });
  t.after(() => fake.close());
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: fake.url, NODEFLIGHT_FLUSH_MS: '20' } });
  t.after(() => svc.stop());
  const statuses = await hit(svc.url, Array.from({ length: 50 }, (_, i) => `/orders/${i}`));
  assert.deepEqual(statuses, Array(50).fill(200));
  await waitFor(() => (fake.connections >= 3 ? true : undefined), 15_000, () => `the agent reconnected ${fake.connections - 1} times`);
  assert.equal(svc.child.exitCode, null, 'the app is still running');
  assert.ok(!svc.stderr().includes('    at '), 'no stack trace');
  for (const line of svc.stderr().trim().split('\n')) assert.match(line, /^\[nodeflight\] /);
  assert.match(svc.stderr(), /ignored a malformed message from the collector/);
});

test('a collector that stops reading: the agent stops writing at its bound, counts drops, and the app is not held', async (t) => {
  const fake = await startFakeCollector((ws, welcome) => {
    welcome();
    // Never read again: the kernel buffers fill and the agent's socket backs up.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  });
  t.after(() => fake.close());
  const dump = tempFile(t, 'stalled.nfr');
  // 12,000 requests with 1 KB paths make ~14 MB of batches: more than the socket
  // buffers plus the agent's 8 MB of unacknowledged batches can hold.
  const svc = await startService('http-app.mjs', {
    env: { NODEFLIGHT_COLLECTOR: fake.url, NODEFLIGHT_FLUSH_MS: '10', NODEFLIGHT_BUFFER_EVENTS: '1024', NODEFLIGHT_DUMP: dump, EXIT_AFTER: '12000', PAD: '1000' },
    timeoutMs: 60_000,
  });
  assert.equal(await svc.exited, 0, 'the app exits by itself although its collector never reads');
  const c = await countersIn(dump);
  assert.equal(c.recorded, 12_000);
  assert.equal(c.sent, 0, 'nothing was acknowledged');
  assert.ok(c.dropped > 0, `the ring overflowed once the transport stopped taking batches (dropped ${c.dropped})`);
  assert.equal(c.recorded, c.sent + c.dropped + c.buffered, 'every event is accounted for');
});
