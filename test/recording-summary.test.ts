// `nodeflight summary` through the real CLI: agents and their losses, and per-route
// percentiles checked against an exact sort of the same durations.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventFlag } from '../protocol/messages.js';
import { writeRecordingSync } from '../recording/index.js';
import { block, counters, identity, random, runCli, tempDir, type Row } from './recording-helpers.js';

const dir = tempDir();
const rnd = random(42);

// Two routes with different shapes: log-uniform from 0.05 ms to 2 s, and a narrow band.
const wide: Row[] = Array.from({ length: 12_000 }, (_, i) => ({
  start: 1_700_000_000_000 + i, duration: 0.05 * 40_000 ** rnd(), method: 'GET', path: `/orders/${i}`, route: '/orders/:id',
  status: i % 50 === 0 ? 503 : 200, size: 10, flags: i % 400 === 0 ? EventFlag.aborted : 0,
}));
const narrow: Row[] = Array.from({ length: 3_000 }, (_, i) => ({
  start: 1_700_000_000_000 + i, duration: 10 + rnd(), method: 'POST', path: '/login', route: '/login', status: i % 3 === 0 ? 500 : 204, size: -1, flags: 0,
}));

function blocksOf(rows: Row[]): ReturnType<typeof block>[] {
  const out = [];
  for (let i = 0; i < rows.length; i += 5000) out.push(block(rows.slice(i, i + 5000)));
  return out;
}

const file = join(dir, 'summary.nfr');
writeRecordingSync(file, {
  source: 'collector',
  agents: [
    { identity: identity('a1', 'orders'), counters: counters(12_500, 500), blocks: blocksOf(wide) },
    { identity: identity('b2', 'auth', 7), counters: counters(3_000), blocks: blocksOf(narrow) },
  ],
});

/** The value at percentile p as HDR defines it: the smallest value with at least p% of values at or below it. */
function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(Math.ceil((p / 100) * sorted.length) - 1, 0)]!;
}

test('summary: header, agents with a clear data-loss line, and per-route percentiles', async () => {
  const r = await runCli(['summary', file]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  const out = r.stdout;
  assert.match(out, /^Recording .*summary\.nfr\n {2}format {5}nodeflight-recording, version 1\n {2}created {4}\S+Z by a collector\n {2}events {5}15000 in 4 blocks\n/);
  assert.match(out, /\n {2}data loss {2}500 events dropped by 1 of 2 agents \(see below\)\n/);
  assert.match(out, /\n {2}orders\[4242\] on web-1, node v20\.18\.0, agent 0\.1\.0, started 2023-11-14T22:13:20\.000Z, id a1\n {4}recorded 12500, filtered 3, dropped 500, sent 12000, buffered 0, hook errors 0; 12000 events in this file\n {4}! dropped 500 recorded events/);
  assert.match(out, /\n {2}auth\[7\] .*\n {4}recorded 3000, .*; 3000 events in this file\n\n/);

  const lines = out.split('\n');
  const head = lines.findIndex((l) => l.trim().startsWith('service'));
  assert.deepEqual(lines[head]!.trim().split(/ +/), ['service', 'method', 'route', 'count', 'errors', 'aborted', 'p50', 'p90', 'p99', 'p99.9', 'max']);
  const table = lines.slice(head + 1, head + 3).map((l) => l.trim().split(/ +/));
  assert.deepEqual(table.map((c) => c.slice(0, 6)), [
    ['orders', 'GET', '/orders/:id', '12000', '240', '30'],
    ['auth', 'POST', '/login', '3000', '1000', '0'],
  ]);
  for (const [k, rows] of [wide, narrow].entries()) {
    const sorted = rows.map((e) => e.duration).sort((a, b) => a - b);
    const cells = table[k]!.slice(6).map(Number);
    [50, 90, 99, 99.9].forEach((p, j) => {
      const exact = exactPercentile(sorted, p);
      // HDR with 3 significant digits, of microseconds, printed to the microsecond.
      assert.ok(Math.abs(cells[j]! - exact) <= exact * 1e-3 + 1.5e-3, `p${p} ${cells[j]} vs exact ${exact}`);
    });
    assert.equal(cells[4], Number(sorted.at(-1)!.toFixed(3)));
  }
});

test('summary says so when nothing was lost', async () => {
  const p = join(dir, 'clean.nfr');
  writeRecordingSync(p, { source: 'agent', agents: [{ identity: identity('a1', 'orders'), counters: counters(0), blocks: [] }] });
  const r = await runCli(['summary', p]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /\n {2}data loss {2}none\n/);
  assert.match(r.stdout, /\nRoutes: no events\n/);
  assert.doesNotMatch(r.stdout, /!/);
});

test('routes beyond the first 10000 fold into one (other) row', async () => {
  const p = join(dir, 'many-routes.nfr');
  const rows: Row[] = Array.from({ length: 10_005 }, (_, i) => ({
    start: 1_700_000_000_000 + i, duration: 1, method: 'GET', path: `/r/${i}`, route: `/r/${i}`, status: 200, size: 1, flags: 0,
  }));
  writeRecordingSync(p, { source: 'agent', agents: [{ identity: identity('a1', 'orders'), counters: counters(rows.length), blocks: blocksOf(rows) }] });
  const r = await runCli(['summary', p]);
  assert.equal(r.code, 0);
  const table = r.stdout.split('\n').filter((l) => l.startsWith('  orders ') || l.startsWith('  * '));
  assert.equal(table.length, 10_001);
  assert.match(table[0]!, /^ {2}\* +\* +\(other\) +5 /);
});
