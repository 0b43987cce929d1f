// NODEFLIGHT_DUMP_SIGNAL: an opt-in signal writes the recording to a new file and the
// process goes on; without it the agent installs no handler, and the signal does what
// it always did (SIGUSR2 ends a Node process).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { hit } from './helpers/http.js';
import { repoRoot, startService, waitFor } from './helpers/service-process.js';

test('with NODEFLIGHT_DUMP_SIGNAL each signal writes a new recording and the service goes on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-signal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_DUMP_SIGNAL: 'SIGUSR2', NODEFLIGHT_DUMP: join(dir, 'exit.nfr'), NODEFLIGHT_SERVICE: 'signalled' } });
  t.after(() => svc.stop());
  await hit(svc.url, ['/orders/1', '/orders/2', '/orders/3']);
  svc.child.kill('SIGUSR2');
  const file = await waitFor(() => /^\[nodeflight\] SIGUSR2: wrote the recording to (\S+\.nfr)$/m.exec(svc.stderr())?.[1], 5000, () => `no dump; stderr: ${svc.stderr()}`, svc.exited);
  assert.equal(dirname(file), dir, 'next to NODEFLIGHT_DUMP');
  assert.match(file, new RegExp(`nodeflight-${svc.child.pid}-[0-9TZ-]+-1\\.nfr$`));
  assert.deepEqual(await hit(svc.url, ['/orders/4']), [200], 'the service is still up');

  const print = spawnSync(process.execPath, ['dist/cli/nodeflight.js', 'print', '--json', file], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(print.status, 0, print.stderr);
  const doc = JSON.parse(print.stdout);
  assert.deepEqual(doc.events.map((e: { path: string }) => e.path), ['/orders/1', '/orders/2', '/orders/3']);
  assert.equal(doc.agents[0].service, 'signalled');
});

test('without NODEFLIGHT_DUMP_SIGNAL the agent leaves SIGUSR2 alone: it ends the process as before', async () => {
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_SERVICE: 'unsignalled' } });
  svc.child.kill('SIGUSR2');
  assert.equal(await svc.exited, 'SIGUSR2');
  assert.equal(svc.stderr(), '');
});
