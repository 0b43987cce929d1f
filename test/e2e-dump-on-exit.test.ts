// NODEFLIGHT_DUMP: the agent writes its recording when the process exits, and the
// recording alone tells what happened, read back with the real CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, startService } from './helpers/service-process.js';

test('the buffered recording is written on exit and reads back with print and summary', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-dump-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'exit.nfr');
  // 40 requests into a ring of 16: the recording holds the last 16 and says 24 were dropped.
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_DUMP: file, NODEFLIGHT_BUFFER_EVENTS: '16', NODEFLIGHT_SERVICE: 'dumper', EXIT_AFTER: '40' } });
  assert.equal(await svc.exited, 0);
  assert.equal(svc.stderr(), '');

  const print = spawnSync(process.execPath, ['dist/cli/nodeflight.js', 'print', '--json', file], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(print.status, 0, print.stderr);
  const doc = JSON.parse(print.stdout);
  assert.equal(doc.events.length, 16);
  assert.deepEqual(doc.events.map((e: { path: string }) => e.path), Array.from({ length: 16 }, (_, i) => `/orders/${24 + i}`));
  assert.ok(doc.events.every((e: { route: string; status: number }) => e.route === '/orders/:id' && e.status === 200));
  const agent = doc.agents[0];
  assert.equal(agent.service, 'dumper');
  assert.deepEqual(agent.counters, { recorded: 40, filtered: 0, dropped: 24, sent: 0, buffered: 16, hookErrors: 0 });

  const summary = spawnSync(process.execPath, ['dist/cli/nodeflight.js', 'summary', file], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(summary.status, 0, summary.stderr);
  assert.match(summary.stdout, /\/orders\/:id/);
  assert.match(summary.stdout, /dropped/i);
});
