// The agent's snapshot of the requests open now, read from its in-flight table: the
// oldest 100, oldest first, with the count of all; responses the abort sweep will
// record are left out; a request whose getters throw cannot break it. And the collector's
// check of the `inflight` field: a malformed snapshot closes the connection with a reason.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { snapshotInflight } from '../agent/inflight-snapshot.js';
import { Recorder } from '../agent/recorder.js';
import { createDecoder, createEncoder } from '../protocol/codec.js';
import { INFLIGHT_LIMIT } from '../protocol/inflight.js';
import { EventFlag } from '../protocol/messages.js';
import { defaultLiveSettings } from '../protocol/settings.js';
import { validateAgentMessage } from '../protocol/validate.js';

const openRes = () => ({ destroyed: false, writableFinished: false });

test('the 100 oldest of 150 open requests, oldest first, with their ages; destroyed responses left out', () => {
  const recorder = new Recorder(64, [], defaultLiveSettings);
  const now = performance.now();
  // Start times in a scrambled order: slot order says nothing about age.
  const ages = Array.from({ length: 150 }, (_, i) => ((i * 37) % 150) * 10 + 5);
  for (const [i, age] of ages.entries()) recorder.inflight.acquire({ method: 'GET', url: `/orders/${i}?token=x` }, openRes(), now - age);
  recorder.inflight.acquire({ method: 'POST', url: '/gone' }, { destroyed: true, writableFinished: false }, now - 1e6);
  const before = Date.now();
  const s = snapshotInflight(recorder);
  assert.equal(s.open, 150);
  assert.equal(s.events.count, INFLIGHT_LIMIT);
  assert.ok(s.time >= before && s.time <= Date.now());
  const e = s.events;
  // Each age grew by the time the test took to get here, under load maybe many milliseconds.
  const elapsed = performance.now() - now;
  const oldest = [...ages].sort((a, b) => b - a).slice(0, 100);
  const listed = Array.from(e.duration);
  const off = listed.filter((d, i) => d < oldest[i]! || d > oldest[i]! + elapsed);
  assert.deepEqual(off, [], `oldest first, by age: ${listed.slice(0, 5).join()} ... against ${oldest.slice(0, 5).join()} ... (+${elapsed} ms)`);
  for (let i = 0; i < e.count; i++) {
    assert.equal(e.flags[i], EventFlag.inflight);
    assert.equal(e.status[i], 0);
    assert.equal(e.size[i], -1);
    assert.ok(Math.abs(e.start[i]! + e.duration[i]! - s.time) < 5, 'start + age = snapshot time');
    assert.match(e.strings[e.path[i]!]!, /^\/orders\/\d+$/, 'no query string');
    assert.equal(e.strings[e.route[i]!], '/orders/:id');
  }
});

test('an open request whose getters throw shows with an empty path; nothing throws', () => {
  const recorder = new Recorder(64, [], defaultLiveSettings);
  const evil = Object.defineProperty({}, 'url', { get() { throw new Error('boom'); } });
  recorder.inflight.acquire(evil, openRes(), performance.now());
  recorder.inflight.acquire({ method: 'GE T', url: 7 }, openRes(), performance.now() + 1);
  const s = snapshotInflight(recorder);
  assert.equal(s.events.count, 2);
  assert.deepEqual([...s.events.path].map((i) => s.events.strings[i]), ['', '']);
  assert.deepEqual([...s.events.method].map((i) => s.events.strings[i]), ['OTHER', 'OTHER']);
});

test('a batch with a snapshot validates after a round trip; malformed snapshots are refused with the reason', () => {
  const recorder = new Recorder(64, [], defaultLiveSettings);
  recorder.inflight.acquire({ method: 'GET', url: '/hang' }, openRes(), performance.now() - 50);
  const inflight = snapshotInflight(recorder);
  const counters = recorder.counters(0, 0);
  const empty = snapshotInflight(new Recorder(64, [], defaultLiveSettings)).events;
  const batch = { t: 'batch', seq: 1, counters, events: empty, inflight };
  const round = (m: unknown) => validateAgentMessage(createDecoder().unpack(createEncoder().pack(m)));
  const ok = round(batch);
  assert.ok('message' in ok, 'error' in ok ? ok.error : '');
  const err = (m: unknown) => (round(m) as { error: string }).error;
  assert.match(err({ ...batch, inflight: { ...inflight, open: 0 } }), /at most open \(0\)/);
  assert.match(err({ ...batch, inflight: { ...inflight, time: -1 } }), /inflight.time must be a wall-clock time/);
  assert.match(err({ ...batch, inflight: { ...inflight, events: { ...inflight.events, flags: new Uint8Array(1) } } }), /row 0 is not flagged inflight/);
  assert.match(err({ ...batch, inflight: 'x' }), /inflight must be a map/);
  const many = new Recorder(64, [], defaultLiveSettings);
  for (let i = 0; i < 101; i++) many.inflight.acquire({ method: 'GET', url: '/a' }, openRes(), i);
  const big = snapshotInflight(many, 101);
  assert.match(err({ ...batch, inflight: big }), /at most 100 rows/);
  const dump = { t: 'dump-data', requestId: 'r', counters, events: empty, last: true, inflight: { ...inflight, open: -1 } };
  assert.match(err(dump), /dump-data: inflight.open must be a non-negative integer/);
});
