// A smoke run of `npm run bench:instructions` in a tiny configuration: the agent's row on
// hello world under callgrind, counted, divided and written into --out only, with nothing
// left running. No figure is asserted beyond being a finite positive count.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { groupGone, runHarness } from './helpers/harness-process.js';
import { repoRoot } from './helpers/service-process.js';

const valgrind = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
const skip = valgrind.error !== undefined || valgrind.status !== 0 ? 'valgrind is not installed (.ci/run installs it)' : false;

test('bench:instructions: a tiny run under callgrind emits instructions and misses per request', { skip, timeout: 300_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'nodeflight-instructions-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const committed = statSync(join(repoRoot, 'BENCHMARKS.md')).mtimeMs;
  const args = ['--services', 'hello', '--rows', 'nodeflight', '--runs', '1', '--warmup', '40', '--requests', '40', '--windows', '2', '--out', out];
  const r = await runHarness('instructions.js', args, t, 280_000);
  assert.equal(r.code, 0, `bench:instructions failed (signal ${r.signal}):\n${r.stderr}\n${r.stdout}`);
  assert.ok(await groupGone(r.pgid), 'bench:instructions left processes behind');
  const { results } = JSON.parse(readFileSync(join(out, 'instructions.json'), 'utf8')) as {
    results: Array<{ service: string; row: string; windows: Array<Record<string, number>> }>;
  };
  assert.deepEqual(results.map((x) => `${x.service} ${x.row}`), ['hello nodeflight']);
  assert.equal(results[0]!.windows.length, 2);
  for (const w of results[0]!.windows) {
    for (const k of ['instructions', 'd1Misses', 'llMisses']) {
      assert.ok(Number.isFinite(w[k]) && w[k]! > 0, `${k} per request should be a finite count > 0, got ${w[k]} (${JSON.stringify(w)})`);
    }
  }
  const md = readFileSync(join(out, 'BENCHMARKS.md'), 'utf8');
  assert.match(md, /<!-- bench:instructions:begin -->/);
  assert.match(md, /\| nodeflight \| [\d,]+ \| [\d,]+–[\d,]+ \|/);
  assert.equal(statSync(join(repoRoot, 'BENCHMARKS.md')).mtimeMs, committed, 'the smoke run touched the committed BENCHMARKS.md');
});
