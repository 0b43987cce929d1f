// Recordings through the REST API against the real collector process: a dump from a
// real instrumented service completes, downloads, prints and summarises with the real
// CLI; dumps hold only events within lastMs and the agent's max age; a dump whose agent
// disconnects fails cleanly; bad requests are refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { drained, waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit, sendJson } from './helpers/http.js';
import { AgentClient, columns, counters } from './helpers/ingest-client.js';
import { finishedRecording } from './helpers/recordings.js';
import { repoRoot, startService, waitFor, type Service } from './helpers/service-process.js';

const TOKEN = 'recordings-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

let dir: string;
let collector: CollectorProcess;
let svc: Service;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nodeflight-recordings-'));
  collector = await startCollectorProcess({ token: TOKEN, args: ['--data-dir', dir] });
  svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_TOKEN: TOKEN, NODEFLIGHT_SERVICE: 'rec-svc' } });
  await waitForAgent(collector.url, svc.child.pid!, (a) => a.connected);
});
after(async () => {
  await svc.stop();
  assert.equal(await collector.stop(), 0);
  rmSync(dir, { recursive: true, force: true });
});

async function startDump(body: unknown): Promise<string> {
  const res = await sendJson('POST', `${collector.url}/v1/recordings`, body, auth);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.match(res.body['request-id'], /^[0-9a-f]{32}$/);
  return res.body['request-id'];
}

const finished = (id: string): Promise<any> => finishedRecording(collector.url, id);

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['dist/cli/nodeflight.js', ...args], { cwd: repoRoot, encoding: 'utf8' });
}

test('a dump through REST completes into one file that downloads, prints and summarises', async () => {
  await hit(svc.url, [...Array.from({ length: 20 }, (_, i) => `/orders/${i}`), '/status/500']);
  await waitForAgent(collector.url, svc.child.pid!, drained(21));
  const id = await startDump({ service: 'rec-svc' });
  const done = await finished(id);
  assert.equal(done.status.id, 'COMPLETED');
  const file = join(dir, 'recordings', `${id}.nfr`);
  assert.equal(done.operation.location, file);
  assert.equal(done.operation.events, 21);
  assert.deepEqual(readdirSync(join(dir, 'recordings')).filter((f) => f.endsWith('.part')), []);

  const res = await request(`${collector.url}/v1/recordings/${id}/file`);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'application/octet-stream');
  assert.equal(res.headers['content-disposition'], `attachment; filename="${id}.nfr"`);
  const bytes = Buffer.from(await res.body.arrayBuffer());
  assert.ok(bytes.equals(readFileSync(file)));
  assert.equal(done.operation.bytes, bytes.length);

  const print = cli('print', '--json', file);
  assert.equal(print.status, 0, print.stderr);
  const doc = JSON.parse(print.stdout);
  assert.equal(doc.events.length, 21);
  assert.deepEqual(doc.events.filter((e: any) => e.status === 500).map((e: any) => e.path), ['/status/500']);
  assert.equal(doc.agents[0].service, 'rec-svc');
  assert.equal(doc.agents[0].pid, svc.child.pid);
  assert.equal(doc.agents[0].counters.recorded, 21);
  const summary = cli('summary', file);
  assert.equal(summary.status, 0, summary.stderr);
  assert.match(summary.stdout, /by a collector/);
  assert.match(summary.stdout, /rec-svc +GET +\/orders\/:id +20 /);
});

test('dumps hold only events within the request\'s lastMs and the agent\'s NODEFLIGHT_MAX_AGE_MS', async (t) => {
  const aged = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_TOKEN: TOKEN, NODEFLIGHT_SERVICE: 'aged-svc', NODEFLIGHT_MAX_AGE_MS: '3000' } });
  t.after(() => aged.stop());
  await waitForAgent(collector.url, aged.child.pid!, (a) => a.connected);
  await hit(aged.url, ['/orders/old-1', '/orders/old-2']);
  await hit(svc.url, ['/orders/old-3']);
  const oldEnd = Date.now();
  // Time is what this test is about: the old events must become older than the 3 s age limit,
  // and the new ones stay within it while a loaded machine takes its time over the dumps.
  await new Promise((r) => setTimeout(r, 3500));
  const newStart = Date.now();
  await hit(aged.url, ['/orders/new-1']);
  await hit(svc.url, ['/orders/new-2']);

  const paths = async (id: string): Promise<string[]> => {
    const done = await finished(id);
    assert.equal(done.status.id, 'COMPLETED', JSON.stringify(done));
    const print = cli('print', '--json', done.operation.location);
    return JSON.parse(print.stdout).events.map((e: any) => e.path);
  };
  assert.deepEqual(await paths(await startDump({ service: 'aged-svc' })), ['/orders/new-1'], 'max age');
  // A window that ends halfway between the old events and the new ones.
  const lastMs = Math.round(Date.now() - (oldEnd + newStart) / 2);
  assert.deepEqual(await paths(await startDump({ service: 'rec-svc', lastMs })), ['/orders/new-2'], 'lastMs');
  const all = await paths(await startDump({ service: 'rec-svc' }));
  assert.deepEqual(all.slice(-2), ['/orders/old-3', '/orders/new-2'], 'no bound: the whole ring');
});

test('a dump whose agent disconnects mid-dump fails with a cause, leaves no file, and the file is 409 meanwhile', async () => {
  const fake = await AgentClient.connect(collector.url, TOKEN);
  await fake.handshake('fake-dumper', 'fake-svc');
  const id = await startDump({ agentId: 'fake-dumper', lastMs: 60_000 });
  const request_ = await fake.next();
  assert.deepEqual(request_, { t: 'dump', requestId: id, lastMs: 60_000 });
  assert.deepEqual((await getJson(`${collector.url}/v1/recordings/${id}`)).body, { status: { id: 'IN_PROGRESS' } });
  const early = await getJson(`${collector.url}/v1/recordings/${id}/file`);
  assert.deepEqual(early, { status: 409, body: { errors: [`recording ${id} is still in progress`] } });

  // One block of two, then the connection goes.
  fake.send({ t: 'dump-data', requestId: id, counters: counters(1), events: columns([{ durationMs: 2, path: '/a' }]), last: false });
  // An answer to a request nobody made is ignored, not a protocol error.
  fake.send({ t: 'dump-data', requestId: 'f'.repeat(32), counters: counters(0), events: columns([]), last: true });
  assert.equal((await fake.batch(1, [{ durationMs: 1 }])).t, 'ack');
  fake.ws.terminate();

  const done = await finished(id);
  assert.deepEqual(done, { status: { id: 'FAILED' }, operation: { 'failure-cause': 'agent fake-dumper (fake-svc) disconnected before it sent all of its recording' } });
  const file = await getJson(`${collector.url}/v1/recordings/${id}/file`);
  assert.equal(file.status, 409);
  await waitFor(() => (readdirSync(join(dir, 'recordings')).some((f) => f.startsWith(id)) ? undefined : true), 5000, () => 'the partial file was not removed');
  assert.equal(existsSync(join(dir, 'recordings', `${id}.nfr`)), false);
});

test('bad recording requests: 400 listing each problem, 401 without the token, 404 and 409 for agents that cannot answer', async () => {
  const post = (body: unknown, headers: Record<string, string> = auth) => sendJson('POST', `${collector.url}/v1/recordings`, body, headers);
  assert.deepEqual(await post({ lastMs: -1, agentId: 7, colour: 'red' }), {
    status: 400,
    body: { errors: ['lastMs must be an integer from 0 (everything held) to 2592000000', 'agentId must be a string of 1 to 256 characters', 'unknown field "colour"; a recording request takes agentId, service, lastMs'] },
  });
  assert.equal((await post('[1]')).status, 400);
  assert.match((await post('{"service":')).body.errors[0], /^the body is not JSON: /);
  assert.deepEqual(await post({ service: 'rec-svc' }, {}), { status: 401, body: { errors: ['this collector requires Authorization: Bearer <token>'] } });
  assert.deepEqual(await post({ service: 'nobody' }), { status: 404, body: { errors: ['this collector knows no service "nobody"'] } });
  assert.deepEqual(await post({ agentId: 'nobody' }), { status: 404, body: { errors: ['this collector knows no agent "nobody"'] } });
  const gone = await AgentClient.connect(collector.url, TOKEN);
  await gone.handshake('gone-agent', 'gone-svc');
  await gone.close();
  await waitFor(async () => ((await getJson(`${collector.url}/v1/agents`)).body.agents.find((a: any) => a.id === 'gone-agent').connected ? undefined : true), 5000, () => 'still connected');
  assert.deepEqual(await post({ service: 'gone-svc' }), { status: 409, body: { errors: ['no service "gone-svc" is connected now; a recording is dumped from connected agents only'] } });

  assert.deepEqual(await getJson(`${collector.url}/v1/recordings/nothing`), { status: 404, body: { errors: ['no recording "nothing"; finished recordings are kept for a limited time'] } });
  assert.equal((await getJson(`${collector.url}/v1/recordings/nothing/file`)).status, 404);
  const wrong = await request(`${collector.url}/v1/recordings`, { method: 'GET' });
  assert.equal(wrong.statusCode, 405);
  assert.equal(wrong.headers.allow, 'POST');
  await wrong.body.dump();
});
