import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventFlag } from '../protocol/messages.js';
import { EventRing, MAX_PATH, PATH_STRIDE } from '../agent/ring.js';

function write(ring: EventRing, url: string, duration = 1): void {
  const q = url.indexOf('?');
  ring.write(1000, duration, 1, url, q === -1 ? url.length : q, 0, 200, 5, 0);
}

test('the ring wraps around, overwrites the oldest unsent events and counts each as dropped', () => {
  const ring = new EventRing(16);
  for (let i = 0; i < 20; i++) write(ring, `/e/${i}`, i);
  assert.equal(ring.head, 20);
  assert.equal(ring.dropped, 4);
  assert.equal(ring.unsent, 16);
  assert.equal(ring.sendTail, 4);
  const dec = ring.pathDecoder();
  // The oldest kept event is number 4; the newest 19.
  assert.equal(ring.pathAt(ring.sendTail, dec), '/e/4');
  assert.equal(ring.pathAt(19, dec), '/e/19');
  assert.equal(ring.duration[19 % 16], 19);
});

test('sent events are overwritten without being counted as dropped', () => {
  const ring = new EventRing(16);
  for (let i = 0; i < 10; i++) write(ring, '/a');
  ring.take(10);
  for (let i = 0; i < 16; i++) write(ring, '/b');
  assert.equal(ring.dropped, 0);
  write(ring, '/c');
  assert.equal(ring.dropped, 1, 'the 17th unsent event pushes out the oldest unsent one');
  assert.equal(ring.head - ring.sendTail, 16);
});

test('the path is kept without its query, long and non-Latin-1 paths survive, very long ones are cut and flagged', () => {
  const ring = new EventRing(16);
  const dec = ring.pathDecoder();
  write(ring, '/orders/17?debug=1&x=2');
  const long = '/' + 'x'.repeat(PATH_STRIDE * 2);
  write(ring, long + '?q');
  write(ring, '/caf\u00e9/\u263a');
  const huge = '/' + 'y'.repeat(64 * 1024);
  write(ring, huge);
  write(ring, '/short-again');
  assert.equal(ring.pathAt(0, dec), '/orders/17');
  assert.equal(ring.pathAt(1, dec), long);
  assert.equal(ring.pathAt(2, dec), '/caf\u00e9/\u263a');
  assert.equal(ring.pathAt(3, dec).length, MAX_PATH);
  assert.equal(ring.flags[3]! & EventFlag.truncatedPath, EventFlag.truncatedPath);
  assert.equal(ring.pathAt(4, dec), '/short-again');
  // A slot that held a long path forgets it when reused for a short one.
  for (let i = 0; i < 16; i++) write(ring, '/z');
  assert.equal(ring.longPath.filter((p) => p !== undefined).length, 0);
});

test('capacity must be a power of two', () => {
  assert.throws(() => new EventRing(100), /power of two/);
});
