// The stream blocks of a batch (protocol/series.ts): what the agent encodes decodes and
// validates on the collector value for value, and a malformed block is refused with a
// reason before any row is read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readConfig } from '../agent/config.js';
import { startSeries } from '../agent/series.js';
import { createDecoder, createEncoder } from '../protocol/codec.js';
import type { BatchMessage } from '../protocol/messages.js';
import { validateAgentMessage } from '../protocol/validate.js';
import { MAX_SERIES_ROWS, validateBatchSeries } from '../protocol/series.js';

const counters = { recorded: 0, filtered: 0, dropped: 0, sent: 0, buffered: 0, hookErrors: 0 };
const events = {
  count: 0, strings: [], start: new Float64Array(0), duration: new Float64Array(0), method: new Uint32Array(0), path: new Uint32Array(0),
  route: new Uint32Array(0), status: new Uint16Array(0), size: new Float64Array(0), flags: new Uint8Array(0),
};

function roundTrip(extra: object): { message: BatchMessage } | { error: string } {
  const bytes = createEncoder().pack({ t: 'batch', seq: 1, counters, events, ...extra });
  return validateAgentMessage(createDecoder().unpack(bytes)) as { message: BatchMessage } | { error: string };
}

test('outbound calls, samples and pauses taken from the agent decode and validate, value for value', () => {
  const streams = startSeries(readConfig({ NODEFLIGHT_RUNTIME_PERIOD_MS: '0', NODEFLIGHT_STALL_MS: '0', NODEFLIGHT_GC: '0' }), () => {})!;
  try {
    const out = streams.outbound!;
    const ok = { origin: 'http://api.example:8080', method: 'POST', path: '/v1/items?draft=1' };
    out.start(ok);
    out.undiciHeaders(ok, 201);
    const host = new Map([['host', 'Example.org']]);
    const refused = { protocol: 'https:', host: 'example.org', method: 'GET', path: '/x', getHeader: (n: string) => host.get(n) };
    out.start(refused);
    out.httpError(refused, Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    const evil = { origin: 'not an origin', method: 'GET', path: '/' };
    out.start(evil);
    out.undiciError(evil, { name: 'AbortError', code: 20 });
    const before = Date.now();
    const checked = roundTrip(streams.take());
    assert.ok('message' in checked, 'error' in checked ? checked.error : '');
    const m = checked.message;
    const o = m.outbound!;
    assert.equal(o.count, 3);
    const s = (col: Uint32Array, i: number) => o.strings[col[i]!];
    assert.deepEqual([0, 1, 2].map((i) => [s(o.method, i), s(o.origin, i), s(o.path, i), o.status[i], s(o.error, i)]), [
      ['POST', 'http://api.example:8080', '/v1/items', 201, ''],
      ['GET', 'https://example.org', '/x', 0, 'ECONNREFUSED'],
      ['GET', 'other', '/', 0, 'AbortError'],
    ]);
    // Anchored on Date.now(), whose resolution is 1 ms.
    for (let i = 0; i < 3; i++) assert.ok(o.start[i]! <= before + 1 && o.start[i]! > before - 5000 && o.duration[i]! >= 0);
    assert.deepEqual(m.streams, { outbound: { recorded: 3, dropped: 0 }, runtime: { recorded: 0, dropped: 0 }, pauses: { recorded: 0, dropped: 0 } });
    assert.equal(streams.pending, false, 'nothing left to send');
    assert.equal(streams.take().outbound, undefined);
  } finally {
    streams.stop();
  }
});

test('the runtime recorder samples and its rows validate', () => {
  const streams = startSeries(readConfig({ NODEFLIGHT_HTTP_CLIENT: '0', NODEFLIGHT_RUNTIME_PERIOD_MS: '100000', NODEFLIGHT_STALL_MS: '0' }), () => {})!;
  try {
    streams.runtime!.sample();
    const checked = roundTrip(streams.take());
    assert.ok('message' in checked, 'error' in checked ? checked.error : '');
    const r = checked.message.runtime!;
    assert.equal(r.count, 1);
    assert.ok(r.heapUsed[0]! > 0 && r.rss[0]! > 0 && r.elu[0]! >= 0 && r.elu[0]! <= 1 && r.intervalMs[0]! > 0);
    assert.ok(Math.abs(r.time[0]! - Date.now()) < 5000);
  } finally {
    streams.stop();
  }
});

test('malformed stream blocks are refused with a reason', () => {
  const outbound = (patch: Record<string, unknown>) => ({
    count: 1, strings: ['GET', 'http://a:1', '/p', ''], start: Float64Array.of(Date.now()), duration: Float64Array.of(1), method: Uint32Array.of(0),
    origin: Uint32Array.of(1), path: Uint32Array.of(2), status: Uint16Array.of(200), error: Uint32Array.of(3), ...patch,
  });
  assert.equal(validateBatchSeries({ outbound: outbound({}) }), null);
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ outbound: outbound({ duration: Float64Array.of(NaN) }) }, /duration\[0\]/],
    [{ outbound: outbound({ duration: Float64Array.of(-1) }) }, /duration\[0\]/],
    [{ outbound: outbound({ start: Float64Array.of(Infinity) }) }, /start\[0\]/],
    [{ outbound: outbound({ origin: Uint32Array.of(9) }) }, /origin that is not in/],
    [{ outbound: outbound({ strings: ['GET', 'a b', '/p', ''] }) }, /origin token/],
    [{ outbound: outbound({ strings: ['G ET', 'http://a:1', '/p', ''] }) }, /method token/],
    [{ outbound: outbound({ status: Uint16Array.of(1, 2) }) }, /status has 2 rows, expected 1/],
    [{ outbound: outbound({ method: [0] }) }, /method must be a Uint32Array/],
    [{ outbound: outbound({ count: MAX_SERIES_ROWS + 1 }) }, /count/],
    [{ pauses: { count: 1, strings: ['gc-minor'], start: Float64Array.of(Date.now()), duration: Float64Array.of(1), kind: Uint32Array.of(1) } }, /kind that is not in/],
    [{ pauses: { count: 1, strings: ['GC MINOR'], start: Float64Array.of(Date.now()), duration: Float64Array.of(1), kind: Uint32Array.of(0) } }, /kind token/],
    [{ runtime: { count: 1, ...Object.fromEntries(['time', 'intervalMs', 'loopDelayP50', 'loopDelayP99', 'loopDelayMax', 'heapUsed', 'heapTotal', 'rss', 'cpuUser', 'cpuSystem'].map((k) => [k, Float64Array.of(k === 'time' ? Date.now() : 1)])), elu: Float64Array.of(1.5) } }, /elu\[0\]/],
    [{ streams: { outbound: { recorded: 1, dropped: 2 }, runtime: { recorded: 0, dropped: 0 }, pauses: { recorded: 0, dropped: 0 } } }, /more than recorded/],
    [{ streams: { outbound: { recorded: 1, dropped: 0 } } }, /streams.runtime/],
  ];
  for (const [extra, reason] of cases) {
    const r = roundTrip(extra);
    assert.ok('error' in r, `accepted ${JSON.stringify(Object.keys(extra))}`);
    assert.match(r.error, reason);
  }
});
