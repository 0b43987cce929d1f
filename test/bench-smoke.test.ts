// A smoke run of both benchmark harnesses in a tiny configuration: they start, measure
// and write numbers, into a temporary directory (never the committed BENCHMARKS.md or
// bench/results), and leave no process behind. No timing is asserted: figures on a
// shared two-core machine are only checked to be finite and positive.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { groupGone, runHarness } from './helpers/harness-process.js';
import { repoRoot as root } from './helpers/service-process.js';

function snapshot(): { md: string; results: string[] } {
  let md = '';
  try {
    md = `${statSync(join(root, 'BENCHMARKS.md')).mtimeMs} ${readFileSync(join(root, 'BENCHMARKS.md'), 'utf8').length}`;
  } catch {
    md = 'absent';
  }
  let results: string[] = [];
  try {
    results = readdirSync(join(root, 'bench/results')).sort();
  } catch {
    results = [];
  }
  return { md, results };
}

const positive = (v: unknown, what: string) => assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `${what} should be a finite number > 0, got ${String(v)}`);

test('bench harnesses: a quick run of each emits numbers, writes only to --out, leaves no process', { timeout: 60_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'nodeflight-bench-smoke-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const before = snapshot();

  const macro = await runHarness('run.js', ['--quick', '--out', out], t);
  assert.equal(macro.code, 0, `npm run bench -- --quick failed:\n${macro.stderr}\n${macro.stdout}`);
  assert.ok(await groupGone(macro.pgid), 'the macro harness left processes behind');
  const [macroFile] = readdirSync(join(out, 'results')).filter((f) => !f.startsWith('micro-'));
  const run = JSON.parse(readFileSync(join(out, 'results', macroFile!), 'utf8')) as { samples: Array<Record<string, unknown>> };
  assert.deepEqual(run.samples.map((s) => s.variant).sort(), ['bare', 'nodeflight']);
  for (const s of run.samples) {
    for (const k of ['rps', 'p50Ms', 'p99Ms', 'cpuUsPerReq', 'rate', 'rateCpuUsPerReq', 'rateP99Ms', 'rssMB', 'youngMB', 'rssOutsideYoungMB', 'requests']) positive(s[k], `${s.variant} ${k}`);
  }
  const agent = (run.samples.find((s) => s.variant === 'nodeflight')!.counters as { nodeflight: { recorded: number } }).nodeflight;
  positive(agent.recorded, 'events the agent recorded');

  const micro = await runHarness('micro.js', ['--quick', '--out', out], t);
  assert.equal(micro.code, 0, `npm run bench:micro -- --quick failed:\n${micro.stderr}\n${micro.stdout}`);
  assert.ok(await groupGone(micro.pgid), 'the micro harness left processes behind');
  const [microFile] = readdirSync(join(out, 'results')).filter((f) => f.startsWith('micro-'));
  const { results } = JSON.parse(readFileSync(join(out, 'results', microFile!), 'utf8')) as { results: Array<{ case: string; medianNs: number; minNs: number }> };
  for (const name of ['agent-default', 'agent-path-filter', 'agent-express-route', 'node-objects', 'agent-node-objects', 'encode', 'pack', 'send', 'flush', 'ingest', 'GET /v1/routes']) {
    const r = results.find((x) => x.case === name);
    assert.ok(r, `micro case ${name} reported nothing`);
    positive(r.medianNs, `${name} median`);
    positive(r.minNs, `${name} min`);
  }

  const md = readFileSync(join(out, 'BENCHMARKS.md'), 'utf8');
  for (const marker of ['<!-- bench:macro:begin -->', '<!-- bench:micro:begin -->']) assert.ok(md.includes(marker), `BENCHMARKS.md lacks ${marker}`);
  assert.match(md, /\| nodeflight \| [\d,]+ /);
  assert.deepEqual(snapshot(), before, 'the smoke run touched the committed BENCHMARKS.md or bench/results');
});

test('bench harnesses: a partial run without --out, or a record without today\'s figures, is refused before anything is written', { timeout: 30_000 }, async (t) => {
  const before = snapshot();
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-bench-from-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const old = join(dir, 'old.json');
  writeFileSync(old, JSON.stringify({ kind: 'nodeflight-macro-benchmark', samples: [{ round: 1, service: 'hello', variant: 'bare', rps: 1, cpuUsPerReq: 1, rssMB: 1 }] }));
  const from = await runHarness('run.js', ['--from', old, '--out', dir], t);
  assert.equal(from.code, 1, `--from an old record should fail:\n${from.stdout}\n${from.stderr}`);
  assert.match(from.stderr, /holds no fixed-rate or young-generation figures/);
  assert.deepEqual(readdirSync(dir), ['old.json'], 'a refused --from wrote something');
  for (const [script, args] of [['run.js', ['--quick']], ['run.js', ['--services', 'hello']], ['micro.js', ['--cases', 'encode']]] as const) {
    const r = await runHarness(script, [...args], t);
    assert.equal(r.code, 1, `${script} ${args.join(' ')} should fail:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /a partial run \(.*\) writes only where --out DIR says, not over BENCHMARKS\.md/);
    assert.ok(await groupGone(r.pgid), `${script} left processes behind`);
  }
  assert.deepEqual(snapshot(), before, 'a refused run touched the committed BENCHMARKS.md or bench/results');
});
