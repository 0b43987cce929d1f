// The ingest protocol against the real collector process: token before the upgrade,
// hello / welcome / batch / ack, resent batches, and every way a connection is refused.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CloseCode } from '../protocol/messages.js';
import { MAX_AGENT_FRAME_BYTES } from '../protocol/validate.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, sendJson } from './helpers/http.js';
import { waitFor } from './helpers/service-process.js';
import { AgentClient, counters, hello, ingestUrl, refusedUpgrade } from './helpers/ingest-client.js';

const TOKEN = 'test-token-123';
const auth = { authorization: `Bearer ${TOKEN}` };
let collector: CollectorProcess;

before(async () => { collector = await startCollectorProcess({ token: TOKEN }); });
after(async () => { assert.equal(await collector.stop(), 0); });

const connect = (): Promise<AgentClient> => AgentClient.connect(collector.url, TOKEN);
const overview = async (): Promise<any> => (await getJson(`${collector.url}/v1/overview`)).body;
const agentView = async (id: string): Promise<any> => (await getJson(`${collector.url}/v1/agents`)).body.agents.find((a: any) => a.id === id);

test('without the right token the upgrade is refused with a 401 before any WebSocket exists', async () => {
  const missing = await refusedUpgrade(ingestUrl(collector.url));
  assert.equal(missing.status, 401);
  assert.deepEqual(missing.body, { errors: ['this collector requires Authorization: Bearer <token>'] });
  const wrong = await refusedUpgrade(ingestUrl(collector.url), { authorization: 'Bearer nope' });
  assert.equal(wrong.status, 401);
  assert.deepEqual(wrong.body, { errors: ['the bearer token is wrong'] });
  const elsewhere = await refusedUpgrade(`${collector.url.replace('http', 'ws')}/v1/elsewhere`, auth);
  assert.equal(elsewhere.status, 404);
  assert.equal((await overview()).agents, 0);
});

test('an upgrade under a name not allowed, or from a web page (any Origin), is refused with a 403 even with the token', async () => {
  const rebound = await refusedUpgrade(ingestUrl(collector.url), { ...auth, host: 'evil.test' });
  assert.equal(rebound.status, 403);
  assert.match(rebound.body.errors[0], /^Host "evil\.test" is not allowed.*--allowed-hosts evil\.test$/);
  const page = await refusedUpgrade(ingestUrl(collector.url), { ...auth, origin: collector.url });
  assert.equal(page.status, 403);
  assert.match(page.body.errors[0], /a WebSocket from a web page \(Origin "http:\/\/127\.0\.0\.1:\d+"\) cannot connect/);
  assert.equal((await overview()).agents, 0);
});

test('state-changing REST calls need the token; reads do not', async () => {
  const refused = await sendJson('POST', `${collector.url}/v1/overview`, {});
  assert.equal(refused.status, 401);
  assert.deepEqual(refused.body, { errors: ['this collector requires Authorization: Bearer <token>'] });
  assert.equal((await sendJson('PUT', `${collector.url}/v1/overview`, {}, { authorization: 'Bearer nope' })).status, 401);
  const allowed = await sendJson('POST', `${collector.url}/v1/overview`, {}, auth);
  assert.equal(allowed.status, 405, 'past the token check, the method is what is wrong');
  assert.equal((await getJson(`${collector.url}/v1/overview`)).status, 200);
});

test('hello, welcome, batch, ack; the agent and its counters show in /v1/agents', async () => {
  const agent = await connect();
  const welcome = await agent.handshake('agent-flow', 'flow-svc');
  assert.deepEqual(welcome, { t: 'welcome', protocol: 1, lastSeq: 0, settings: null, settingsVersion: 0 });
  const rows = [{ durationMs: 1.5, path: '/a' }, { durationMs: 2.5, path: '/b', status: 404 }, { durationMs: 3, path: '/a', aborted: true }];
  assert.deepEqual(await agent.batch(1, rows, counters(3, { filtered: 7, dropped: 1 })), { t: 'ack', seq: 1 });
  const view = await agentView('agent-flow');
  assert.equal(view.connected, true);
  assert.equal(view.service, 'flow-svc');
  assert.equal(view.received, 3);
  assert.equal(view.lastSeq, 1);
  assert.deepEqual(view.counters, { recorded: 4, filtered: 7, dropped: 1, sent: 3, buffered: 0, hookErrors: 0 });
  const ov = await overview();
  assert.equal(ov.connectedAgents, 1);
  assert.ok(ov.events.received >= 3 && ov.events.dropped >= 1);
  await agent.close();
  // The collector sees the close a moment after the client does: poll for it.
  await waitFor(async () => ((await agentView('agent-flow')).connected ? undefined : true), 5000, () => 'agent-flow still shows as connected');
});

test('a resent batch is acknowledged again but counted once; a reconnect learns lastSeq', async () => {
  const agent = await connect();
  await agent.handshake('agent-dup', 'dup-svc');
  const rows = [{ durationMs: 1 }, { durationMs: 2 }];
  assert.deepEqual(await agent.batch(1, rows), { t: 'ack', seq: 1 });
  assert.deepEqual(await agent.batch(2, rows), { t: 'ack', seq: 2 });
  assert.deepEqual(await agent.batch(2, rows), { t: 'ack', seq: 2 });
  assert.deepEqual(await agent.batch(1, rows), { t: 'ack', seq: 1 });
  assert.equal((await agentView('agent-dup')).received, 4);

  // A second connection with the same id takes over; the first is told why.
  const again = await connect();
  const welcome = await again.handshake('agent-dup', 'dup-svc');
  assert.equal(welcome.lastSeq, 2);
  const old = await agent.closed;
  assert.equal(old.code, CloseCode.replaced);
  assert.match(old.reason, /newer connection/);
  assert.deepEqual(await again.batch(2, rows), { t: 'ack', seq: 2 });
  assert.deepEqual(await again.batch(3, rows), { t: 'ack', seq: 3 });
  const view = await agentView('agent-dup');
  assert.equal(view.received, 6);
  assert.equal(view.connected, true, 'the replaced connection closing does not disconnect its successor');
  const { body } = await getJson(`${collector.url}/v1/routes?service=dup-svc`);
  assert.equal(body.routes[0].count, 6);
  await again.close();
});

test('a malformed frame closes that connection with 4001 and a reason; another agent is unaffected', async () => {
  const good = await connect();
  await good.handshake('agent-good', 'good-svc');
  const before = (await overview()).rejectedFrames;

  const garbage = await connect();
  garbage.ws.send(Buffer.from([0xc1, 0xc1, 0xc1]));
  const c1 = await garbage.closed;
  assert.equal(c1.code, CloseCode.malformed);
  assert.match(c1.reason, /not msgpack/);

  const bad = await connect();
  await bad.handshake('agent-bad', 'bad-svc');
  bad.send({ t: 'batch', seq: 1, counters: counters(1), events: { count: 1, strings: [] } });
  const c2 = await bad.closed;
  assert.equal(c2.code, CloseCode.malformed);
  assert.match(c2.reason, /^batch: events\.start must be a Float64Array/);

  const text = await connect();
  text.ws.send('{"t":"hello"}');
  assert.equal((await text.closed).code, CloseCode.malformed);

  assert.equal((await overview()).rejectedFrames, before + 3);
  assert.deepEqual(await good.batch(1, [{ durationMs: 4 }]), { t: 'ack', seq: 1 });
  assert.equal((await agentView('agent-good')).received, 1);
  await good.close();
});

test('a frame over the size limit closes with 1009 and is counted as rejected', async () => {
  const before = (await overview()).rejectedFrames;
  const agent = await connect();
  await agent.handshake('agent-big', 'big-svc');
  agent.ws.send(Buffer.alloc(MAX_AGENT_FRAME_BYTES + 1));
  assert.equal((await agent.closed).code, 1009);
  assert.equal((await overview()).rejectedFrames, before + 1);
});

test('a hello of another protocol version closes with 4002 naming both versions', async () => {
  const agent = await connect();
  agent.send(hello('agent-v2', 'v2-svc', { protocol: 2, somethingNew: true }));
  const closed = await agent.closed;
  assert.equal(closed.code, CloseCode.protocolVersion);
  assert.equal(closed.reason, 'agent speaks protocol v2; this collector speaks v1');
  assert.equal(await agentView('agent-v2'), undefined);
});

test('anything but a hello first, or a second hello, closes with 4003', async () => {
  const early = await connect();
  early.send({ t: 'batch', seq: 1, counters: counters(0), events: { count: 0, strings: [], start: new Float64Array(0), duration: new Float64Array(0), method: new Uint32Array(0), path: new Uint32Array(0), route: new Uint32Array(0), status: new Uint16Array(0), size: new Float64Array(0), flags: new Uint8Array(0) } });
  const c1 = await early.closed;
  assert.equal(c1.code, CloseCode.unexpected);
  assert.equal(c1.reason, 'the first message must be a hello, got batch');

  const twice = await connect();
  await twice.handshake('agent-twice', 'twice-svc');
  twice.send(hello('agent-twice', 'twice-svc'));
  assert.equal((await twice.closed).code, CloseCode.unexpected);
});

test('a long validation message is cut to fit a close reason', async () => {
  const agent = await connect();
  agent.send(hello('x'.repeat(300), 'svc'));
  const closed = await agent.closed;
  assert.equal(closed.code, CloseCode.malformed);
  assert.ok(Buffer.byteLength(closed.reason) <= 120);
  assert.match(closed.reason, /^hello\.agentId is longer than 256 characters/);
});
