import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockEncoder } from '../agent/encode.js';
import { METHOD_NAMES, Recorder } from '../agent/recorder.js';
import { createDecoder, createEncoder } from '../protocol/codec.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { defaultLiveSettings } from '../protocol/settings.js';
import { validateAgentMessage } from '../protocol/validate.js';

test('a batch encoded by the agent decodes and validates on the collector side, value for value', () => {
  const recorder = new Recorder(64, [], defaultLiveSettings);
  const ring = recorder.ring;
  const get = METHOD_NAMES.indexOf('GET');
  ring.write(100, 1.25, get, '/orders/1?x', 9, 0, 200, 10, 0);
  ring.write(200, 3.5, get, '/orders/2', 9, 0, 503, -1, 1);
  const events = new BlockEncoder(ring, recorder.routes).encode(0, ring.unsent);
  ring.take(events.count);
  const counters = recorder.counters(0, events.count);
  const bytes = createEncoder().pack({ t: 'batch', seq: 1, counters, events });
  const decoded = createDecoder().unpack(bytes);
  const checked = validateAgentMessage(decoded);
  assert.ok('message' in checked, 'error' in checked ? checked.error : '');
  const got = checked.message;
  assert.equal(got.t, 'batch');
  if (got.t !== 'batch') return;
  assert.equal(got.events.count, 2);
  assert.deepEqual(Array.from(got.events.duration), [1.25, 3.5]);
  assert.deepEqual(Array.from(got.events.status), [200, 503]);
  assert.deepEqual(Array.from(got.events.size), [10, -1]);
  assert.deepEqual(Array.from(got.events.flags), [0, 1]);
  const s = got.events.strings;
  assert.deepEqual([...got.events.path].map((i) => s[i]), ['/orders/1', '/orders/2']);
  assert.deepEqual([...got.events.route].map((i) => s[i]), ['/orders/:id', '/orders/:id']);
  assert.equal(s[got.events.method[0]!], 'GET');
  assert.ok(Math.abs(got.events.start[1]! - got.events.start[0]! - 100) < 1e-6, 'wall-clock starts keep their spacing');
  assert.deepEqual(got.counters, { recorded: 2, filtered: 0, dropped: 0, sent: 0, buffered: 2, hookErrors: 0 });
});

test('hello messages validate; bad ones say why', () => {
  const hello = {
    t: 'hello', protocol: PROTOCOL_VERSION, agentId: 'a1', service: 's', host: 'h', pid: 1, nodeVersion: 'v20', agentVersion: '0.1.0',
    startTime: Date.now(), settings: defaultLiveSettings, settingsVersion: 0,
  };
  assert.ok('message' in validateAgentMessage(hello));
  assert.match((validateAgentMessage({ ...hello, pid: -1 }) as { error: string }).error, /pid/);
  assert.ok('message' in validateAgentMessage({ ...hello, instance: 'f'.repeat(32) }));
  for (const instance of ['short', 'x'.repeat(129), 42]) {
    assert.match((validateAgentMessage({ ...hello, instance }) as { error: string }).error, /hello\.instance must be a string of 16 to 128/);
  }
  assert.match((validateAgentMessage({ ...hello, settings: { ...defaultLiveSettings, pathFilter: '/a(?=b)' } }) as { error: string }).error, /refused/);
  assert.match((validateAgentMessage({ t: 'nope' }) as { error: string }).error, /unknown message type/);
});
