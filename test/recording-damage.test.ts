// Damaged recordings through the real CLI: a file cut inside its last record, corrupt
// bytes in the middle, and files that are no recording at all. The events before the
// damage come out, one line names the offset, and no stack trace ever shows.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readRecording, writeRecordingSync } from '../recording/index.js';
import { block, counters, identity, runCli, STACK_FRAME, tempDir, type Row } from './recording-helpers.js';

const dir = tempDir();
const T0 = 1_700_000_000_000;
/** A duration no other event has, to find its bytes in the file. */
const MARKED_MS = 123.456789;

function rows(n: number, first: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    start: T0 + first + i, duration: first + i === 150 ? MARKED_MS : 1 + (i % 10), method: 'GET', path: `/p/${first + i}`,
    route: '/p/:id', status: 200, size: 1, flags: 0,
  }));
}

// Three blocks of 100 events: records header, agent, events 0-99, 100-199, 200-299.
const file = join(dir, 'intact.nfr');
writeRecordingSync(file, {
  source: 'agent', agents: [{ identity: identity('a1', 'orders'), counters: counters(300), blocks: [0, 100, 200].map((f) => block(rows(100, f))) }],
});
const bytes = readFileSync(file);
const offsets: number[] = [];
for await (const e of readRecording(file)) offsets.push(e.offset);
const [, , , middle, last] = offsets as [number, number, number, number, number];

function damaged(name: string, content: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

function printedPaths(stdout: string): string[] {
  return stdout.trimEnd().split('\n').map((l) => l.split(' ')[3]!);
}

test('a file cut inside its last record: the events before it, the offset, exit 0', async () => {
  for (const into of [1, 2, 50, Math.floor((bytes.length - last) / 2), bytes.length - last - 1]) {
    const p = damaged(`cut-${into}.nfr`, bytes.subarray(0, last + into));
    for (const command of ['print', 'summary']) {
      const r = await runCli([command, p]);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, `nodeflight: ${p}: truncated record: the file ends ${into} bytes into it (byte ${last}); 200 events read before it\n`);
    }
    const r = await runCli(['print', p]);
    assert.deepEqual(printedPaths(r.stdout), rows(200, 0).map((e) => e.path));
  }
});

test('--json on a cut file is still one valid document, with the damage in it', async () => {
  const p = damaged('cut-json.nfr', bytes.subarray(0, last + 10));
  const r = await runCli(['print', '--json', p]);
  assert.equal(r.code, 0);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.events.length, 200);
  assert.deepEqual(doc.damage, { offset: last, message: 'truncated record: the file ends 10 bytes into it' });
});

test('corrupt bytes in the middle: what precedes them, and why the record is refused', async () => {
  const broken = Buffer.from(bytes);
  broken.set([0xd4, 0x05], middle); // an extension type msgpack gives no meaning to
  const r = await runCli(['print', damaged('bad-ext.nfr', broken)]);
  assert.equal(r.code, 0);
  assert.deepEqual(printedPaths(r.stdout), rows(100, 0).map((e) => e.path));
  assert.match(r.stderr, new RegExp(`^nodeflight: .*bad-ext\\.nfr: corrupt record: Unknown extension 5 \\(byte ${middle}\\); 100 events read before it\\n$`));

  const reserved = Buffer.from(bytes);
  reserved[middle] = 0xc1; // the one byte msgpack never uses: decodes, but is no record
  const c = await runCli(['print', '--json', damaged('reserved.nfr', reserved)]);
  assert.equal(c.code, 0);
  assert.deepEqual(JSON.parse(c.stdout).damage, { offset: middle, message: 'not a nodeflight record: expected a map with a type field t' });

  const nan = Buffer.from(bytes);
  const marked = nan.indexOf(Buffer.from(new Float64Array([MARKED_MS]).buffer));
  assert.ok(marked > middle && marked < last);
  nan.set(new Uint8Array(new Float64Array([NaN]).buffer), marked);
  const v = await runCli(['summary', damaged('nan.nfr', nan)]);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /events {5}100 in 1 blocks/);
  assert.match(v.stderr, new RegExp(`nan\\.nfr: not a nodeflight record: events\\.duration\\[50\\] must be a finite non-negative number of milliseconds, got NaN \\(byte ${middle}\\); 100 events read before it\\n$`));
});

test('not a recording: exit 1, nothing on stdout, one line on stderr', async () => {
  const cases: Array<[string, Uint8Array, string]> = [
    ['text.nfr', Buffer.from('# a README, not a recording\n'), 'not a nodeflight recording (no header)'],
    ['empty.nfr', new Uint8Array(0), 'not a nodeflight recording (the file is empty)'],
    ['random.nfr', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251), 'not a nodeflight recording (no header)'],
    ['header-cut.nfr', bytes.subarray(0, 10), 'not a nodeflight recording (no header)'],
  ];
  for (const [name, content, message] of cases) {
    const p = damaged(name, content);
    for (const args of [['print', p], ['print', '--json', p], ['summary', p]]) {
      const r = await runCli(args);
      assert.equal(r.code, 1, `${args.join(' ')}`);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `nodeflight: ${p}: ${message}\n`);
      assert.doesNotMatch(r.stderr, STACK_FRAME);
    }
  }
});
