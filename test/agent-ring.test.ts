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
  // A slot that held a long path reads as its new short one when reused.
  for (let i = 0; i < 16; i++) write(ring, '/z');
  for (let p = 5; p < 21; p++) assert.equal(ring.pathAt(p, dec), '/z');
});

test('long paths live in a fixed arena: what it has overwritten comes back as the first 64 characters, flagged; nothing else grows', () => {
  const ring = new EventRing(1024);
  const dec = ring.pathDecoder();
  const path = (n: number) => `/${String(n).padStart(6, '0')}/${'x'.repeat(1200)}`;
  // 1,024 slots of 128 arena bytes: room for about 107 of these 1,208-byte paths.
  for (let n = 0; n < 1024; n++) write(ring, path(n));
  let whole = 0;
  for (let n = 0; n < 1024; n++) {
    const p = ring.pathAt(n, dec);
    if (p === path(n)) {
      whole++;
      assert.equal(ring.flags[n]! & EventFlag.truncatedPath, 0);
    } else {
      assert.equal(p, path(n).slice(0, PATH_STRIDE), `event ${n}`);
      assert.equal(ring.flags[n]! & EventFlag.truncatedPath, EventFlag.truncatedPath);
    }
  }
  assert.ok(whole >= 100 && whole <= 108, `${whole} kept whole`);
  for (let n = 1024 - whole; n < 1024; n++) assert.equal(ring.pathAt(n, dec), path(n), 'the newest are the whole ones');
  // A non-Latin-1 path round-trips through the arena; overwritten, it is only flagged.
  write(ring, '/caf\u00e9/\u263a/' + 'w'.repeat(100));
  assert.equal(ring.pathAt(1024, dec), '/caf\u00e9/\u263a/' + 'w'.repeat(100));
  for (let n = 0; n < 200; n++) write(ring, path(n));
  assert.equal(ring.pathAt(1024, dec), '/');
  assert.equal(ring.flags[0]! & EventFlag.truncatedPath, EventFlag.truncatedPath);
  const held = Object.values(ring).filter((v) => ArrayBuffer.isView(v)).reduce((a, v) => a + (v as Uint8Array).byteLength, 0);
  assert.ok(held <= 1024 * (PATH_STRIDE + 64) + 1024 * 128, `${held} bytes`);
});

test('capacity must be a power of two', () => {
  assert.throws(() => new EventRing(100), /power of two/);
});
