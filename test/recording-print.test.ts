// `nodeflight print` as a user runs it: the real CLI in a child process, on files
// written by the real writer.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventFlag } from '../protocol/messages.js';
import { writeRecordingSync } from '../recording/index.js';
import { block, CLI, counters, identity, runCli, STACK_FRAME, tempDir, type Row } from './recording-helpers.js';

const dir = tempDir();
const T0 = 1_700_000_000_000;

const orders: Row[] = [
  { start: T0 + 0.25, duration: 1.2345, method: 'GET', path: '/api', route: '/api', status: 200, size: 10, flags: 0 },
  { start: T0 + 1, duration: 20, method: 'GET', path: '/api/x', route: '/api/:name', status: 500, size: -1, flags: EventFlag.aborted },
  { start: T0 + 2, duration: 19.999, method: 'POST', path: '/api/y', route: '/api/:name', status: 201, size: 0, flags: 0 },
  { start: T0 + 3, duration: 300.5, method: 'GET', path: '/a b', route: '/a b', status: 404, size: 5, flags: EventFlag.truncatedPath },
];
const users: Row[] = [{ start: T0 + 4, duration: 5, method: 'GET', path: '/users/1', route: '/users/:id', status: 200, size: 100, flags: 0 }];

const file = join(dir, 'small.nfr');
writeRecordingSync(file, {
  source: 'agent', createdAt: T0 + 10_000,
  agents: [
    { identity: identity('a1', 'orders'), counters: counters(4), blocks: [block(orders.slice(0, 2)), block(orders.slice(2))] },
    { identity: identity('b2', 'users', 7), counters: counters(1), blocks: [block(users)] },
  ],
});

const textLines = [
  '2023-11-14T22:13:20.000Z orders[4242] GET /api /api 200 1.234ms 10B',
  '2023-11-14T22:13:20.001Z orders[4242] GET /api/x /api/:name 500 20.000ms - aborted',
  '2023-11-14T22:13:20.002Z orders[4242] POST /api/y /api/:name 201 19.999ms 0B',
  '2023-11-14T22:13:20.003Z orders[4242] GET "/a b" "/a b" 404 300.500ms 5B truncated-path',
  '2023-11-14T22:13:20.004Z users[7] GET /users/1 /users/:id 200 5.000ms 100B',
];

function jsonEvent(r: Row, agentId: string, service: string): object {
  return {
    start: new Date(r.start).toISOString(), startMs: r.start, durationMs: r.duration, agentId, service, method: r.method,
    path: r.path, route: r.route, status: r.status, size: r.size < 0 ? null : r.size,
    aborted: (r.flags & EventFlag.aborted) !== 0, truncatedPath: (r.flags & EventFlag.truncatedPath) !== 0, inflight: false,
  };
}

test('text: one line per event, in file order', async () => {
  const r = await runCli(['print', file]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, textLines.join('\n') + '\n');
});

test('--json: one document with the header, every event, the agents and no damage', async () => {
  const r = await runCli(['print', '--json', file]);
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), {
    recording: { format: 'nodeflight-recording', version: 1, createdAt: T0 + 10_000, source: 'agent' },
    events: [...orders.map((e) => jsonEvent(e, 'a1', 'orders')), ...users.map((e) => jsonEvent(e, 'b2', 'users'))],
    agents: [{ ...identity('a1', 'orders'), counters: counters(4) }, { ...identity('b2', 'users', 7), counters: counters(1) }],
    damage: null,
  });
});

test('--path-filter matches the whole path, as the agent does', async () => {
  const exact = await runCli(['print', '--path-filter', '/api', file]);
  assert.equal(exact.stdout, textLines[0] + '\n');
  const below = await runCli(['print', '--json', '--path-filter', '/api/.*', file]);
  assert.deepEqual(JSON.parse(below.stdout).events.map((e: { path: string }) => e.path), ['/api/x', '/api/y']);
});

test('--min-ms keeps events at least that long, and combines with --path-filter', async () => {
  const slow = await runCli(['print', '--min-ms', '20', file]);
  assert.equal(slow.stdout, [textLines[1], textLines[3]].join('\n') + '\n');
  const both = await runCli(['print', '--min-ms=19.999', '--path-filter=/api/.*', file]);
  assert.equal(both.stdout, [textLines[1], textLines[2]].join('\n') + '\n');
});

test('bad command lines: usage and exit 2; a missing file: exit 1; never a stack trace', async () => {
  for (const args of [['--nope', file], [], [file, file], ['--min-ms', '-1', file], ['--min-ms', 'soon', file], ['--path-filter', '(a)\\1', file], ['--path-filter', '[', file]]) {
    const r = await runCli(['print', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^nodeflight: /);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
  }
  assert.match((await runCli(['print', '--path-filter', '(a)\\1', file])).stderr, /--path-filter: .*backreferences .* cannot be matched in linear time/);
  const help = await runCli(['print', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: nodeflight print/);
  const missing = await runCli(['print', join(dir, 'nope.nfr')]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, `nodeflight: ${join(dir, 'nope.nfr')}: no such file\n`);
});

test('a reader that goes away (| head) ends the print quietly', async () => {
  const many = join(dir, 'many.nfr');
  const rows = Array.from({ length: 8000 }, (_, i) => ({ ...orders[i % 4]!, start: T0 + i }));
  const blocks = Array.from({ length: 10 }, () => block(rows));
  writeRecordingSync(many, { source: 'agent', agents: [{ identity: identity('a1', 'orders'), counters: counters(80_000), blocks }] });
  const child = spawn(process.execPath, [CLI, 'print', many], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  await once(child.stdout, 'data');
  child.stdout.destroy();
  const [code] = await once(child, 'close');
  assert.equal(stderr, '');
  assert.equal(code, 0);
});
