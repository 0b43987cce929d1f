// The life of a recording operation, with the collector in-process for its injected
// clock: an agent that never answers fails the dump after the stated timeout; a
// finished operation is kept for the store duration and then forgotten, and without a
// data directory its file lives in a temporary directory the collector removes on close.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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
