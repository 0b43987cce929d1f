// The life of a recording operation, with the collector in-process for its injected
// clock: an agent that never answers fails the dump after the stated timeout; a
// finished operation is kept for the store duration and then forgotten, and without a
// data directory its file lives in a temporary directory the collector removes on close.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { startCollector } from '../collector/index.js';
import { getJson, sendJson } from './helpers/http.js';
import { AgentClient, columns, counters } from './helpers/ingest-client.js';
import { finishedRecording } from './helpers/recordings.js';
import { waitFor } from './helpers/service-process.js';

test('an agent that does not answer fails the dump after the timeout', async (t) => {
  const collector = await startCollector({ port: 0, recordingTimeoutMs: 200 });
  t.after(() => collector.close());
  const silent = await AgentClient.connect(collector.url);
  t.after(() => silent.close());
  await silent.handshake('silent-agent', 'silent-svc');
  const { status, body } = await sendJson('POST', `${collector.url}/v1/recordings`, { agentId: 'silent-agent' });
  assert.equal(status, 202);
  assert.equal((await silent.next()).t, 'dump');
  const done = await finishedRecording(collector.url, body['request-id']);
  assert.deepEqual(done, { status: { id: 'FAILED' }, operation: { 'failure-cause': 'no answer from agent silent-agent (silent-svc) within 200 ms' } });
});

test('finished operations are kept for the store duration, then are a 404; the temporary directory goes with the collector', async () => {
  let now = Date.now();
  const collector = await startCollector({ port: 0, clock: () => now, recordingStoreMs: 60_000 });
  let location: string;
  try {
    const agent = await AgentClient.connect(collector.url);
    await agent.handshake('kept-agent', 'kept-svc');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { body } = await sendJson('POST', `${collector.url}/v1/recordings`, {});
      const { requestId } = await agent.next();
      assert.equal(requestId, body['request-id']);
      agent.send({ t: 'dump-data', requestId, counters: counters(2), events: columns([{ durationMs: 1, path: '/a' }]), last: false });
      agent.send({ t: 'dump-data', requestId, counters: counters(2), events: columns([{ durationMs: 2, path: '/b' }]), last: true });
      ids.push(body['request-id']);
    }
    const done = await finishedRecording(collector.url, ids[0]!);
    assert.equal(done.status.id, 'COMPLETED');
    assert.deepEqual([done.operation.events, done.operation.agents], [2, ['kept-agent']]);
    location = done.operation.location;
    assert.ok(existsSync(location));
    await finishedRecording(collector.url, ids[1]!);
    await agent.close();

    now += 59_999;
    assert.equal((await getJson(`${collector.url}/v1/recordings/${ids[0]}`)).status, 200);
    const file = await request(`${collector.url}/v1/recordings/${ids[0]}/file`);
    assert.equal(file.statusCode, 200);
    await file.body.dump();
    now += 1;
    assert.deepEqual(await getJson(`${collector.url}/v1/recordings/${ids[0]}`), { status: 404, body: { errors: [`no recording "${ids[0]}"; finished recordings are kept for a limited time`] } });
    assert.equal((await getJson(`${collector.url}/v1/recordings/${ids[1]}/file`)).status, 404);
    // Without a data directory nobody can reach an expired file: it is removed.
    await waitFor(() => (existsSync(location) ? undefined : true), 5000, () => 'the expired file is still there');
    assert.ok(existsSync(dirname(location)));
  } finally {
    await collector.close();
  }
  assert.equal(existsSync(dirname(location)), false, 'the temporary directory is removed on close');
});

test('a dump under way when the collector closes fails as shut down and leaves nothing behind', async () => {
  // A temporary directory of this test's own for the collector's: other test files
  // running at the same time make recording directories in the system one.
  const scratch = mkdtempSync(join(tmpdir(), 'nodeflight-lifecycle-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = scratch;
  try {
    const collector = await startCollector({ port: 0 });
    const agent = await AgentClient.connect(collector.url);
    await agent.handshake('closing-agent', 'closing-svc');
    const { body } = await sendJson('POST', `${collector.url}/v1/recordings`, { service: 'closing-svc' });
    const { requestId } = await agent.next();
    assert.equal(requestId, body['request-id']);
    agent.send({ t: 'dump-data', requestId, counters: counters(1), events: columns([{ durationMs: 1 }]), last: false });
    await waitFor(() => (readdirSync(scratch).length === 1 ? true : undefined), 5000, () => 'the recording never made its directory');
    await collector.close();
    assert.equal((await agent.closed).code, 1001);
    assert.deepEqual(readdirSync(scratch), []);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(scratch, { recursive: true, force: true });
  }
});

/** Asks `agent` (alone) for a dump; returns the operation id once the request reached it. */
async function askDump(url: string, agent: AgentClient, agentId: string): Promise<string> {
  const { status, body } = await sendJson('POST', `${url}/v1/recordings`, { agentId });
  assert.equal(status, 202, JSON.stringify(body));
  const m = await agent.next();
  assert.equal(m.requestId, body['request-id']);
  return m.requestId;
}

/** A block of `n` events with 200-character paths: about 220 bytes an event on the wire. */
const bigBlock = (requestId: string, n: number, last = false) => ({
  t: 'dump-data', requestId, counters: counters(n), last,
  events: columns(Array.from({ length: n }, (_, i) => ({ durationMs: 1, path: `/${String(i).padStart(200, 'x')}` }))),
});

test('an agent that keeps a dump going past --recording-max-ms fails it by the clock, and its part file goes', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nodeflight-maxms-'));
  const collector = await startCollector({ port: 0, dataDir, recordingTimeoutMs: 5_000, recordingMaxMs: 600 });
  t.after(async () => {
    await collector.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const agent = await AgentClient.connect(collector.url);
  t.after(() => agent.close());
  await agent.handshake('slow-agent', 'slow-svc');
  const requestId = await askDump(collector.url, agent, 'slow-agent');
  // A block every 50 ms, each well within the no-answer timeout, never the last one.
  const drip = setInterval(() => agent.send(bigBlock(requestId, 1)), 50);
  t.after(() => clearInterval(drip));
  const done = await finishedRecording(collector.url, requestId, 5_000);
  assert.deepEqual(done, { status: { id: 'FAILED' }, operation: { 'failure-cause': 'not complete within 600 ms' } });
  clearInterval(drip);
  await waitFor(() => (readdirSync(join(dataDir, 'recordings')).length === 0 ? true : undefined), 5000,
    () => `left in the data directory: ${readdirSync(join(dataDir, 'recordings'))}`);
});

test('a dump over --recording-agent-max-bytes or --recording-max-bytes fails with the cap named', async (t) => {
  const collector = await startCollector({ port: 0, recordingAgentMaxBytes: 60_000, recordingMaxBytes: 100_000 });
  t.after(() => collector.close());
  const one = await AgentClient.connect(collector.url);
  const two = await AgentClient.connect(collector.url);
  t.after(() => Promise.all([one.close(), two.close()]));
  await one.handshake('big-agent-1', 'big-svc');
  await two.handshake('big-agent-2', 'big-svc');

  // One agent: three blocks of ~22 kB, the third crosses 60,000 bytes.
  const alone = await askDump(collector.url, one, 'big-agent-1');
  for (let i = 0; i < 3; i++) one.send(bigBlock(alone, 100));
  const failed = await finishedRecording(collector.url, alone);
  assert.equal(failed.status.id, 'FAILED');
  assert.equal(failed.operation['failure-cause'], 'agent big-agent-1 (big-svc) sent more than 60000 bytes (--recording-agent-max-bytes)');

  // Two agents, each under its own cap, over the recording's together.
  const { body } = await sendJson('POST', `${collector.url}/v1/recordings`, { service: 'big-svc' });
  const id = body['request-id'];
  assert.equal((await one.next()).requestId, id);
  assert.equal((await two.next()).requestId, id);
  for (let i = 0; i < 2; i++) {
    one.send(bigBlock(id, 110));
    two.send(bigBlock(id, 110));
  }
  const both = await finishedRecording(collector.url, id);
  assert.equal(both.status.id, 'FAILED');
  assert.equal(both.operation['failure-cause'], 'the agents sent more than 100000 bytes (--recording-max-bytes)');
});

test('in a data directory, a recording file goes with its operation, and leftovers of a collector that died go at start', async () => {
  let now = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'nodeflight-datadir-'));
  try {
    const dir = join(dataDir, 'recordings');
    const collector = await startCollector({ port: 0, dataDir, clock: () => now, recordingStoreMs: 60_000 });
    try {
      const agent = await AgentClient.connect(collector.url);
      await agent.handshake('dir-agent', 'dir-svc');
      const requestId = await askDump(collector.url, agent, 'dir-agent');
      agent.send({ t: 'dump-data', requestId, counters: counters(1), events: columns([{ durationMs: 1 }]), last: true });
      const done = await finishedRecording(collector.url, requestId);
      assert.equal(done.status.id, 'COMPLETED');
      assert.deepEqual(readdirSync(dir), [`${requestId}.nfr`]);
      await agent.close();
      now += 60_000;
      assert.equal((await getJson(`${collector.url}/v1/recordings/${requestId}`)).status, 404);
      await waitFor(() => (readdirSync(dir).length === 0 ? true : undefined), 5000, () => `still there: ${readdirSync(dir)}`);
    } finally {
      await collector.close();
    }
    // A collector killed mid-dump leaves its files; the next one removes those, and only those.
    const left = ['0123456789abcdef0123456789abcdef.nfr', 'fedcba9876543210fedcba9876543210.nfr.part', 'mine.nfr'];
    for (const name of left) writeFileSync(join(dir, name), 'x');
    const next = await startCollector({ port: 0, dataDir });
    await next.close();
    assert.deepEqual(readdirSync(dir), ['mine.nfr']);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
