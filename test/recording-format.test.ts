// The .nfr writer and reader through their API: round trips, records split across
// read chunks, offsets, forward-compatible record types and bounded reads of bad lengths.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, createWriteStream, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { test } from 'node:test';
import { createEncoder } from '../protocol/codec.js';
import { MAX_BLOCK_EVENTS } from '../protocol/validate.js';
import { readRecording, RecordingDamage, RecordingWriter, writeRecordingSync, type RecordingEntry } from '../recording/index.js';
import { block, counters, identity, random, tempDir, type Row } from './recording-helpers.js';

const dir = tempDir();

function rows(n: number, seed: number): Row[] {
  const rnd = random(seed);
  return Array.from({ length: n }, (_, i) => ({
    start: 1_700_000_000_000 + i * 1.5, duration: rnd() * 100, method: i % 3 ? 'GET' : 'POST', path: `/items/${i % 50}`,
    route: '/items/:id', status: i % 7 ? 200 : 503, size: i % 5 ? i : -1, flags: i % 11 ? 0 : 1,
  }));
}

async function readAll(path: string, chunkBytes?: number): Promise<{ entries: RecordingEntry[]; damage: RecordingDamage | null }> {
  const entries: RecordingEntry[] = [];
  try {
    for await (const e of readRecording(path, { chunkBytes })) entries.push(e);
  } catch (err) {
    if (err instanceof RecordingDamage) return { entries, damage: err };
    throw err;
  }
  return { entries, damage: null };
}

const blocks = [block(rows(1000, 1)), block(rows(10, 2))];
const path = join(dir, 'sync.nfr');
writeRecordingSync(path, {
  source: 'agent', createdAt: 1_700_000_001_000,
  agents: [{ identity: identity('a1', 'orders'), counters: counters(1010), blocks }, { identity: identity('a2', 'users', 7), counters: counters(0), blocks: [] }],
});

test('a recording written synchronously reads back record by record', async () => {
  const { entries, damage } = await readAll(path);
  assert.equal(damage, null);
  assert.deepEqual(entries.map((e) => e.t), ['header', 'agent', 'events', 'events', 'agent']);
  assert.deepEqual(entries[0], { t: 'header', offset: 0, header: { format: 'nodeflight-recording', version: 1, createdAt: 1_700_000_001_000, source: 'agent' } });
  const agent = entries[1]!;
  assert.ok(agent.t === 'agent');
  assert.deepEqual(agent.identity, identity('a1', 'orders'));
  assert.deepEqual(agent.counters, counters(1010));
  for (const [k, e] of entries.slice(2, 4).entries()) {
    assert.ok(e.t === 'events');
    assert.equal(e.agentId, 'a1');
    assert.deepEqual({ ...e.events, flags: new Uint8Array(e.events.flags) }, blocks[k]);
  }
  const offsets = entries.map((e) => e.offset);
  assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
});

test('records split across read chunks of any size decode the same', async () => {
  const whole = await readAll(path);
  for (const chunkBytes of [3, 7, 100, 4096]) {
    const split = await readAll(path, chunkBytes);
    assert.equal(split.damage, null);
    assert.deepEqual(split.entries, whole.entries, `chunks of ${chunkBytes} bytes`);
  }
});

test('records are yielded as they arrive, before the file is complete', { timeout: 10_000 }, async () => {
  // Through a named pipe whose writer waits for the reader: a reader that wanted the
  // whole file first would never see the end.
  const fifo = join(dir, 'live.nfr');
  execFileSync('mkfifo', [fifo]);
  const bytes = readFileSync(path);
  const { entries } = await readAll(path);
  const writer = createWriteStream(fifo);
  writer.write(bytes.subarray(0, entries[3]!.offset));
  const seen: string[] = [];
  for await (const e of readRecording(fifo)) {
    seen.push(e.t);
    if (seen.length === 3) writer.end(bytes.subarray(entries[3]!.offset));
  }
  await finished(writer);
  assert.deepEqual(seen, entries.map((e) => e.t));
});

test('a file cut at a record boundary reads cleanly; cut inside a record names its offset', async () => {
  const { entries } = await readAll(path);
  const bytes = readFileSync(path);
  const cut = join(dir, 'cut.nfr');
  for (let k = 1; k < entries.length; k++) {
    const offset = entries[k]!.offset;
    writeFileSync(cut, bytes.subarray(0, offset));
    const atBoundary = await readAll(cut, 64);
    assert.equal(atBoundary.damage, null);
    assert.equal(atBoundary.entries.length, k);
    writeFileSync(cut, bytes.subarray(0, offset + 3));
    const inside = await readAll(cut, 64);
    assert.equal(inside.entries.length, k);
    assert.equal(inside.damage?.offset, offset);
    assert.equal(inside.damage?.reason, 'truncated record: the file ends 3 bytes into it');
  }
});

test('the streaming writer keeps the order of overlapping calls and counts events', async () => {
  const p = join(dir, 'async.nfr');
  const w = await RecordingWriter.open(p, 'collector', 1_700_000_002_000);
  const a = identity('a1', 'orders');
  await Promise.all([w.writeAgent(a, counters(5)), w.writeEvents('a1', blocks[1]!), w.writeAgent(a, counters(10)), w.writeEvents('a1', blocks[0]!)]);
  await w.close();
  assert.equal(w.events, 1010);
  const { entries, damage } = await readAll(p);
  assert.equal(damage, null);
  assert.deepEqual(entries.map((e) => (e.t === 'events' ? e.events.count : e.t)), ['header', 'agent', 10, 'agent', 1000]);
});

test('the writer refuses what the reader would refuse', async () => {
  const p = join(dir, 'refused.nfr');
  const w = await RecordingWriter.open(p, 'collector');
  await assert.rejects(w.writeEvents('nobody', blocks[1]!), /events for agent "nobody", which no earlier agent record introduced/);
  await w.writeAgent(identity('a1', 'orders'), counters(1));
  const bad = block(rows(2, 3));
  bad.duration[1] = NaN;
  await assert.rejects(w.writeEvents('a1', bad), /events\.duration\[1\] must be a finite non-negative number/);
  await assert.rejects(w.writeAgent({ ...identity('a2', 'x'), pid: -1 }, counters(1)), /agent\.pid must be a non-negative integer/);
  await w.close();
  const big = block(rows(MAX_BLOCK_EVENTS + 1, 4));
  assert.throws(() => writeRecordingSync(p, { source: 'agent', agents: [{ identity: identity('a1', 'x'), counters: counters(1), blocks: [big] }] }), /events\.count must be an integer from 0 to 8192/);
});

test('record types this version does not know are skipped', async () => {
  const p = join(dir, 'future.nfr');
  writeRecordingSync(p, { source: 'agent', agents: [{ identity: identity('a1', 'orders'), counters: counters(10), blocks: [blocks[1]!] }] });
  const encoder = createEncoder();
  appendFileSync(p, encoder.pack({ t: 'gc-pause', durationMs: 3 }));
  appendFileSync(p, encoder.pack({ t: 'events', agentId: 'a1', events: blocks[1] }));
  const { entries, damage } = await readAll(p);
  assert.equal(damage, null);
  assert.deepEqual(entries.map((e) => e.t), ['header', 'agent', 'events', 'events']);
});

test('a length that runs past any sane record is damage at once, not a read of the whole file', async () => {
  const p = join(dir, 'huge-length.nfr');
  writeRecordingSync(p, { source: 'agent', agents: [{ identity: identity('a1', 'orders'), counters: counters(10), blocks: [] }] });
  const end = readFileSync(p).length;
  // bin 32 announcing 1 GiB, in a file that holds a few more bytes.
  appendFileSync(p, Buffer.from([0xc6, 0x40, 0, 0, 0, 1, 2, 3]));
  const { entries, damage } = await readAll(p);
  assert.equal(entries.length, 2);
  assert.equal(damage?.offset, end);
  assert.match(damage!.reason, /^corrupt record: longer than the 64 MiB a record may take$/);
});

test('headers: empty file, other data, and a later version', async () => {
  const p = join(dir, 'header.nfr');
  writeFileSync(p, '');
  assert.equal((await readAll(p)).damage?.reason, 'not a nodeflight recording (the file is empty)');
  writeFileSync(p, '{"not": "msgpack"}\n');
  assert.equal((await readAll(p)).damage?.reason, 'not a nodeflight recording (no header)');
  writeFileSync(p, createEncoder().pack({ format: 'nodeflight-recording', version: 7, createdAt: 1, source: 'agent' }));
  assert.equal((await readAll(p)).damage?.reason, 'unsupported recording version 7 (this nodeflight reads version 1)');
  writeRecordingSync(p, { source: 'agent', agents: [] });
  truncateSync(p, 5);
  assert.equal((await readAll(p)).damage?.reason, 'not a nodeflight recording (no header)');
});
