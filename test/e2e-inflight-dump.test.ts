// Requests in flight in the exit dump (NODEFLIGHT_DUMP): a process that crashes, or is
// stopped by SIGTERM/SIGINT after a hang, still tells which requests were stuck, and it
// ends exactly as the same app without the agent does (exit code or signal, stderr).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { repoRoot, startService, waitFor, type Service } from './helpers/service-process.js';

interface PrintedEvent { path: string; route: string; status: number | null; durationMs: number; inflight: boolean; startMs: number }

function printJson(file: string): { events: PrintedEvent[] } {
  const print = spawnSync(process.execPath, ['dist/cli/nodeflight.js', 'print', '--json', file], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(print.status, 0, print.stderr);
  return JSON.parse(print.stdout);
}

/**
 * Starts requests that never finish; resolves 300 ms after the service said it has them all
 * (REPORT_HANG), with the time they were sent: on a loaded machine they can take a while to arrive.
 */
async function hang(svc: Service, paths: string[]): Promise<number> {
  const sentAt = Date.now();
  for (const p of paths) request(svc.url + p, { headersTimeout: 60_000 }).then((r) => r.body.dump(), () => undefined);
  await waitFor(() => paths.every((p) => svc.stdout().includes(`hang ${p}\n`)) || undefined, 15_000, () => `not all of ${paths} arrived; stdout: ${svc.stdout()}`, svc.exited);
  await new Promise((r) => setTimeout(r, 300));
  return sentAt;
}

/** The same run with and without the agent: what the parent sees must be the same. */
interface Ending { end: number | string; stderr: string; stdout: string }

async function bothWays(env: Record<string, string>, act: (svc: Service) => Promise<void>): Promise<{ bare: Ending; agent: Ending }> {
  const out: Record<string, Ending> = {};
  for (const preload of ['none', 'import'] as const) {
    const svc = await startService('http-app.mjs', { preload, env: { REPORT_HANG: '1', ...env } });
    await act(svc);
    const timer = setTimeout(() => svc.child.kill('SIGKILL'), 20_000);
    const end = await svc.exited;
    clearTimeout(timer);
    out[preload] = { end, stderr: svc.stderr(), stdout: svc.stdout().replace(/^listening \d+\n/, '').replace(/^hang .*\n/gm, '') };
  }
  return { bare: out.none!, agent: out.import! };
}

test('an uncaught exception writes the exit dump with the requests in flight; exit code 1 and stderr unchanged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-inflight-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'crash.nfr');
  let sentAt = 0;
  const { bare, agent } = await bothWays({ NODEFLIGHT_DUMP: file, NODEFLIGHT_SERVICE: 'crasher' }, async (svc) => {
    await request(svc.url + '/orders/1').then((r) => r.body.dump());
    sentAt = await hang(svc, ['/hang/a', '/hang/b?q=1']);
    await request(svc.url + '/crash').then((r) => r.body.dump(), () => undefined);
  });
  const crashedAt = Date.now();
  assert.equal(bare.end, 1);
  assert.equal(agent.end, 1);
  assert.match(bare.stderr, /Error: crash from a request handler/);
  assert.equal(agent.stderr, bare.stderr, 'the agent changes nothing the process prints');

  const { events } = printJson(file);
  assert.deepEqual(events.filter((e) => !e.inflight).map((e) => [e.path, e.status]), [['/orders/1', 200]]);
  const open = events.filter((e) => e.inflight);
  assert.deepEqual(open.map((e) => e.path), ['/hang/a', '/hang/b', '/crash'], `oldest first: ${JSON.stringify(open)}`);
  assert.ok(open.every((e) => e.status === null && e.route.startsWith('/')));
  // Ages at dump time: the hung ones were open for the 300 ms before the crash, and no longer than the whole run.
  for (const e of open.slice(0, 2)) assert.ok(e.durationMs >= 250 && e.durationMs <= crashedAt - sentAt, `age ${e.durationMs}`);
  assert.ok(open[2]!.durationMs < open[1]!.durationMs);

  const summary = spawnSync(process.execPath, ['dist/cli/nodeflight.js', 'summary', file], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(summary.status, 0, summary.stderr);
  assert.match(summary.stdout, /in flight {2}3 requests had not finished/);
  assert.match(summary.stdout, /3 open at .*\n +\d+\.\d{3} {2}GET \/hang\/a \(\/hang\/a\)/);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} with NODEFLIGHT_DUMP: the dump lists the hung requests and the process still dies by ${signal}`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'nodeflight-inflight-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'stop.nfr');
    const { bare, agent } = await bothWays({ NODEFLIGHT_DUMP: file }, async (svc) => {
      await hang(svc, ['/hang/1', '/hang/2']);
      svc.child.kill(signal);
    });
    assert.equal(bare.end, signal);
    assert.equal(agent.end, signal, 'killed by the signal, as without the agent');
    assert.equal(agent.stderr, bare.stderr);
    const open = printJson(file).events.filter((e) => e.inflight);
    assert.deepEqual(open.map((e) => e.path), ['/hang/1', '/hang/2']);
    assert.ok(open.every((e) => e.durationMs >= 250), JSON.stringify(open));
  });

  test(`${signal} with NODEFLIGHT_DUMP and the app's own handler: the app decides (exit code 7), the dump is written`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'nodeflight-inflight-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'stop.nfr');
    const { bare, agent } = await bothWays({ NODEFLIGHT_DUMP: file, APP_STOP_HANDLER: '1' }, async (svc) => {
      await hang(svc, ['/hang/x']);
      svc.child.kill(signal);
    });
    assert.equal(bare.end, 7);
    assert.equal(agent.end, 7);
    assert.equal(agent.stderr, bare.stderr);
    // The app's handler ran once: the agent did not raise the signal again.
    assert.equal(agent.stdout, `stopping on ${signal}\n`);
    assert.equal(agent.stdout, bare.stdout);
    assert.deepEqual(printJson(file).events.filter((e) => e.inflight).map((e) => e.path), ['/hang/x']);
  });
}

test('a NODEFLIGHT_DUMP_SIGNAL dump lists the requests open then, with their ages; the service goes on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-inflight-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_DUMP_SIGNAL: 'SIGUSR2', NODEFLIGHT_DUMP: join(dir, 'exit.nfr'), REPORT_HANG: '1' } });
  t.after(() => svc.stop());
  await request(svc.url + '/orders/1').then((r) => r.body.dump());
  await hang(svc, ['/hang/s']);
  svc.child.kill('SIGUSR2');
  const wrote = /^\[nodeflight\] SIGUSR2: wrote the recording to (\S+\.nfr)$/m;
  const file = await waitFor(() => wrote.exec(svc.stderr())?.[1], 5000, () => `no dump; stderr: ${svc.stderr()}`, svc.exited);
  const { events } = printJson(file);
  assert.deepEqual(events.map((e) => [e.path, e.inflight]), [['/orders/1', false], ['/hang/s', true]], JSON.stringify(events));
  assert.ok(events[1]!.durationMs >= 250, `age ${events[1]!.durationMs}`);
  assert.equal((await request(svc.url + '/orders/2')).statusCode, 200, 'the service is still up');
});

test('without NODEFLIGHT_DUMP the agent installs no SIGTERM listener: the signal kills as before', async () => {
  const svc = await startService('http-app.mjs', { env: {} });
  svc.child.kill('SIGTERM');
  assert.equal(await svc.exited, 'SIGTERM');
  assert.equal(svc.stderr(), '');
});
