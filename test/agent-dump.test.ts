// The agent's read-out of its ring for dumps: the age bound, the request's lastMs,
// blocks that fit the collector's frame limit, and the last-block flag.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { answerDump, dumpWindow, firstWithin, RingCursor } from '../agent/dump.js';
import { BlockEncoder } from '../agent/encode.js';
import { EventRing } from '../agent/ring.js';
import { RouteNames } from '../agent/route-names.js';
import { createEncoder } from '../protocol/codec.js';
import type { DumpDataMessage } from '../protocol/messages.js';
import { MAX_AGENT_FRAME_BYTES, MAX_BLOCK_EVENTS, validateAgentMessage } from '../protocol/validate.js';

const counters = () => ({ recorded: 0, filtered: 0, dropped: 0, sent: 0, buffered: 0, hookErrors: 0 });

/** A ring whose event i ended `ageMs(i)` milliseconds ago. */
function ringOf(n: number, capacity: number, ageMs: (i: number) => number): EventRing {
  const ring = new EventRing(capacity);
  const now = performance.now();
  for (let i = 0; i < n; i++) {
    const path = `/orders/${i}`;
    ring.write(now - ageMs(i) - 1, 1, 1, path, path.length, 0, 200, 2, 0);
  }
  return ring;
}

test('the window is lastMs bounded by maxAge; 0 leaves either side unbounded', () => {
  assert.equal(dumpWindow(0, 0), 0);
  assert.equal(dumpWindow(5000, 0), 5000);
  assert.equal(dumpWindow(0, 900_000), 900_000);
  assert.equal(dumpWindow(5000, 900_000), 5000);
  assert.equal(dumpWindow(2_000_000, 900_000), 900_000);
});

test('only events that ended within the window are read out, found by bisection', () => {
  // Events 0..99 ended 100..1 seconds ago.
  const ring = ringOf(100, 128, (i) => (100 - i) * 1000);
  assert.equal(firstWithin(ring, 0), 0);
  assert.equal(firstWithin(ring, 10_500), 90);
  assert.equal(firstWithin(ring, 1), 100, 'nothing that young');
  assert.equal(firstWithin(ring, 1_000_000), 0);
  const cursor = new RingCursor(ring, new BlockEncoder(ring, new RouteNames([])), 10_500);
  const block = cursor.next();
  assert.ok(cursor.done);
  assert.deepEqual([...block.path].map((p) => block.strings[p]), Array.from({ length: 10 }, (_, i) => `/orders/${90 + i}`));
});

test('a dump answer is one block per message, each under the frame limit, the last flagged', async () => {
  const n = 2 * MAX_BLOCK_EVENTS + 100;
  const ring = ringOf(n, 32768, () => 0);
  const packr = createEncoder();
  const sent: DumpDataMessage[] = [];
  const sizes: number[] = [];
  await new Promise<void>((resolve) => {
    answerDump('req-1', {
      cursor: new RingCursor(ring, new BlockEncoder(ring, new RouteNames([])), 0),
      counters,
      send(m) {
        sizes.push(packr.pack(m).length);
        sent.push(m);
        assert.ok('message' in validateAgentMessage(m), 'the collector accepts it');
        if (m.last) resolve();
      },
    });
  });
  assert.deepEqual(sent.map((m) => [m.events.count, m.last]), [[MAX_BLOCK_EVENTS, false], [MAX_BLOCK_EVENTS, false], [100, true]]);
  assert.ok(sizes.every((s) => s < MAX_AGENT_FRAME_BYTES));
  assert.equal(sent.reduce((k, m) => k + m.events.count, 0), n);
});

test('an empty ring answers with one empty last block', () => {
  const ring = new EventRing(16);
  const sent: DumpDataMessage[] = [];
  answerDump('req-2', { cursor: new RingCursor(ring, new BlockEncoder(ring, new RouteNames([])), 0), counters, send: (m) => sent.push(m) });
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.events.count, 0);
  assert.equal(sent[0]!.last, true);
});

test('rows overwritten while a dump is read out are skipped, never read twice', () => {
  const ring = ringOf(16, 16, () => 0);
  const cursor = new RingCursor(ring, new BlockEncoder(ring, new RouteNames([])), 0);
  // The app records 10 more before the dump reads: the 10 oldest are gone.
  const now = performance.now();
  for (let i = 0; i < 10; i++) ring.write(now, 1, 1, '/late', 5, 0, 200, 2, 0);
  const block = cursor.next();
  assert.ok(cursor.done);
  assert.deepEqual([...block.path].map((p) => block.strings[p]), Array.from({ length: 6 }, (_, i) => `/orders/${10 + i}`));
});
