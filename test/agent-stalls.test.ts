// StallLog (agent/stalls.ts) on a real ring and in-flight table: which requests a stall
// flags as queued (only those that start in the two loop turns after it is detected), what
// it counts, and which watchdog stack it takes as its own.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { EventFlag } from '../protocol/messages.js';
import { InflightTable } from '../agent/inflight.js';
import { EventRing } from '../agent/ring.js';
import { StallLog } from '../agent/stalls.js';

const turn = () => new Promise<void>((r) => setImmediate(r));
const res = { destroyed: false, writableFinished: false };
const write = (ring: EventRing, start: number) => ring.write(start, 1, 1, '/x', 2, 0, 200, 2, 0);

test('only requests that start in the turns right after a stall are flagged queued, with the time since its start', async () => {
  const ring = new EventRing(64);
  const inflight = new InflightTable(16);
  const log = new StallLog(inflight, ring, false);
  const before = performance.now();
  write(ring, before);
  inflight.acquire({ method: 'GET', url: '/victim?q=1' }, res, before);
  const stallStart = performance.now() - 300;
  log.onStall(stallStart, 300);
  // Parsed in the poll phase after the stall: one finished, one still open.
  const inside = performance.now();
  write(ring, inside);
  inflight.acquire({ method: 'POST', url: '/open' }, res, inside);
  assert.equal(log.ready, false, 'not sent before its window closed');
  await turn();
  await turn();
  await turn();
  const after = performance.now();
  write(ring, after);

  const starts = Float64Array.of(before, inside, after);
  const flags = new Uint8Array(3);
  const queuedMs = log.annotate(starts, 0, flags, 3);
  assert.deepEqual([...flags], [0, EventFlag.queued, 0]);
  assert.ok(queuedMs !== undefined && queuedMs[0] === 0 && queuedMs[2] === 0);
  assert.ok(Math.abs(queuedMs[1]! - (inside - stallStart)) < 1e-6, `${queuedMs[1]}`);
  assert.equal(log.annotate(Float64Array.of(before), 0, new Uint8Array(1), 1), undefined, 'no column without a queued row');

  assert.equal(log.ready, true);
  const [r] = log.take(1000);
  assert.equal(r!.start, stallStart + 1000);
  assert.equal(r!.queued, 2, 'the finished one and the open one');
  assert.equal(r!.inflight, 1);
  assert.deepEqual(r!.requests.map((q) => [q.method, q.path]), [['GET', '/victim']]);
  assert.equal(r!.stack, undefined);
});

test('a stack caught before a stall (a shorter one the loop timer missed) does not stand for it', async () => {
  const log = new StallLog(new InflightTable(16), new EventRing(64), true);
  const frame = (fn: string) => [{ fn, url: 'file:///app.js', line: 1, col: 1 }];
  const now = performance.now();
  // 400 ms ago: inside [start - duration, now], outside the stall itself.
  log.onStack({ at: now - 400, frames: frame('earlier') });
  log.onStall(now - 300, 300);
  log.onStack({ at: now - 100, frames: frame('blocker') });
  await turn();
  await turn();
  assert.equal(log.ready, true);
  assert.equal(log.take(0)[0]!.stack![0]!.fn, 'blocker');
});
