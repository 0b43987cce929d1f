import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlockEncoder } from '../agent/encode.js';
import { METHOD_NAMES, Recorder } from '../agent/recorder.js';
import { defaultLiveSettings } from '../protocol/settings.js';
import { random } from './helpers/random.js';

// The encoder hashes and compares paths four bytes at a time and copies columns in
// runs; this checks every column of every event against the ring itself, read one
// event at a time, across wraps, stale bytes left by longer paths and long paths.
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
const letter = (rand: () => number) => LETTERS[Math.floor(rand() * LETTERS.length)]!;

test('encoded blocks equal the ring event for event, across wraps and stale slot bytes', () => {
  const rand = random(7);
  const recorder = new Recorder(4096, [], defaultLiveSettings);
  const { ring } = recorder;
  const encoder = new BlockEncoder(ring, recorder.routes);
  const decoder = ring.pathDecoder();
  const stems = ['/a', '/ab', '/abc', '/abcd', '/users/12345', '/users/12346', '/orders/9/items', '/é/x', '/x'.repeat(40)];
  let checked = 0;
  for (let round = 0; round < 30; round++) {
    const writes = 1 + Math.floor(rand() * 5000);
    for (let w = 0; w < writes; w++) {
      // Thousands of paths that differ only in their last bytes, so that table probes
      // meet paths with the same length and the same leading words.
      const stem = rand() < 0.3 ? stems[Math.floor(rand() * stems.length)]! : `/abc${letter(rand)}${letter(rand)}`;
      // Same stems with different tails: equal hashes prefixes, unequal paths.
      const url = rand() < 0.5 ? stem : `${stem}${Math.floor(rand() * 7)}?q=1`;
      const pathEnd = url.indexOf('?') === -1 ? url.length : url.indexOf('?');
      ring.write(rand() * 1e6, rand() * 100, Math.floor(rand() * METHOD_NAMES.length), url, pathEnd, Math.floor(rand() * 3), 200 + Math.floor(rand() * 300), Math.floor(rand() * 1e4), Math.floor(rand() * 4));
    }
    const transient = rand() < 0.5;
    while (ring.unsent > 0) {
      const from = ring.sendTail;
      const events = encoder.encode(from, Math.min(ring.unsent, 1 + Math.floor(rand() * 5000)), transient);
      const s = events.strings;
      const wallOffset = events.start[0]! - ring.start[from % ring.capacity]!;
      for (let k = 0; k < events.count; k++) {
        const i = (from + k) % ring.capacity;
        const path = ring.pathAt(from + k, decoder);
        assert.equal(s[events.path[k]!], path, `path of event ${from + k}`);
        assert.equal(s[events.route[k]!], recorder.routes.name(path, ring.route[i]!));
        assert.equal(s[events.method[k]!], METHOD_NAMES[ring.method[i]!]);
        assert.ok(Math.abs(events.start[k]! - ring.start[i]! - wallOffset) < 1e-3, 'one wall-clock offset per block');
        assert.equal(events.duration[k], ring.duration[i]);
        assert.equal(events.status[k], ring.status[i]);
        assert.equal(events.size[k], ring.size[i]);
        assert.equal(events.flags[k], ring.flags[i]);
        checked++;
      }
      ring.take(events.count);
    }
  }
  assert.ok(ring.head > 4 * ring.capacity, 'the ring wrapped several times');
  assert.equal(checked, ring.head - ring.dropped);
});
