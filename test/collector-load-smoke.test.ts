// A smoke run of bench/collector-load.ts in a tiny configuration: it starts its
// collector, streams, measures and ends by itself, leaving no process behind. No
// figure is asserted beyond being there: the machine is shared and has two cores.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './helpers/service-process.js';

test('bench/collector-load: ingest and memory steps, received = sent, nothing left running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-load-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'load.json');
  const child = spawn(process.execPath, [join(repoRoot, 'dist/bench/collector-load.js'), '--seconds', '1', '--agents', '1,3', '--routes', '5,10', '--json', out], {
    cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = child.pid!;
  const killGroup = (): void => { try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ } };
  t.after(killGroup);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timer = setTimeout(killGroup, 90_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /\| agents \| events\/s \|/);
  assert.match(stdout, /per connected agent: RSS/);
  const results = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(results.ingest.map((r: any) => r.agents), [1, 3]);
  for (const r of results.ingest) {
    assert.ok(r.eventsPerSecond > 0 && Number.isFinite(r.eventsPerSecond));
    assert.equal(r.receivedMatches, true, 'the collector received every event sent');
  }
  assert.deepEqual(results.memory.map((s: any) => [s.routes, s.agents]), [[0, 0], [5, 1], [10, 1], [10, 1], [10, 1], [10, 101]]);
  assert.ok(results.memory.every((s: any) => s.rssMB > 0 && s.series >= 0));
  // The collector host exits with the IPC channel: the group is empty.
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('a process of the benchmark is still running');
});
