// Live settings through the REST API, against the real collector process: a PUT reaches
// a real instrumented service and changes what it records within a second, and is
// acknowledged; bad PUTs change nothing; and the resolution of defaults, service and
// agent layers over each agent's own environment, with scripted agents.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { defaultLiveSettings } from '../protocol/settings.js';
import { drained, waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit, sendJson } from './helpers/http.js';
import { AgentClient } from './helpers/ingest-client.js';
import { startService, waitFor, type Service } from './helpers/service-process.js';

const TOKEN = 'settings-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

let collector: CollectorProcess;
let svc: Service;
let agentId: string;

before(async () => {
  collector = await startCollectorProcess({ token: TOKEN });
  svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_TOKEN: TOKEN, NODEFLIGHT_SERVICE: 'live-svc' } });
  agentId = (await waitForAgent(collector.url, svc.child.pid!, (a) => a.connected)).id;
});
after(async () => {
  await svc.stop();
  assert.equal(await collector.stop(), 0);
});

async function agentSettings(id: string): Promise<any> {
  const { status, body } = await getJson(`${collector.url}/v1/agents/${id}/settings`);
  assert.equal(status, 200);
  return body;
}

test('a PUT reaches the running service, is acknowledged and changes what is recorded within a second', async () => {
  await hit(svc.url, ['/orders/1', '/orders/2']);
  await waitForAgent(collector.url, svc.child.pid!, drained(2));

  const put = await sendJson('PUT', `${collector.url}/v1/settings?service=live-svc`, { pathFilter: '/sleep/.*' }, auth);
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const version = put.body.version;
  assert.ok(version >= 1);
  assert.deepEqual(put.body.set, { pathFilter: '/sleep/.*' });
  assert.deepEqual(put.body.sentTo, [agentId]);
  const sentAt = Date.now();
  const acked = await waitFor(async () => {
    const s = await agentSettings(agentId);
    return s.acknowledged.version === version ? s : undefined;
  }, 5000, () => 'the agent did not acknowledge the settings');
  assert.ok(Date.now() - sentAt < 1000, `acknowledged after ${Date.now() - sentAt} ms`);
  assert.deepEqual(acked.requested, { version, settings: { ...defaultLiveSettings, pathFilter: '/sleep/.*' } });
  assert.deepEqual(acked.acknowledged.settings, acked.requested.settings);
  assert.equal(acked.rejected, null);

  await hit(svc.url, ['/orders/3', '/sleep/1', '/orders/4']);
  const a = await waitForAgent(collector.url, svc.child.pid!, (x) => x.counters.filtered === 2 && drained(3)(x), 1000);
  assert.equal(a.counters.recorded, 3);
  const { body } = await getJson(`${collector.url}/v1/events?service=live-svc&limit=1`);
  assert.equal(body.events[0].path, '/sleep/1');
  const listed = (await getJson(`${collector.url}/v1/agents`)).body.agents.find((x: any) => x.id === agentId);
  assert.deepEqual([listed.settingsVersion, listed.settings.pathFilter], [version, '/sleep/.*']);
});

test('bad PUTs are refused with every problem listed, and change nothing', async () => {
  const before = (await getJson(`${collector.url}/v1/settings`)).body;
  const agentBefore = await agentSettings(agentId);
  const cases: Array<[unknown, string[]]> = [
    [{ pathFilter: '/api/(' }, ['pathFilter "/api/(" is not a valid regular expression: ']],
    [{ pathFilter: '/a(?=b)' }, ['pathFilter "/a(?=b)" is refused: lookahead (?= ?!) cannot be matched in linear time (at offset 2)']],
    [{ thresholdMs: -1 }, ['thresholdMs must be a number from 0 to 3600000']],
    [{ colour: 'red' }, ['unknown setting "colour"; known settings are pathFilter, thresholdMs, sampleRate, httpServer']],
    [{ thresholdMs: '5', httpServer: 1, sampleRate: 2 }, ['thresholdMs must be a number from 0 to 3600000', 'httpServer must be true or false', 'sampleRate must be a number from 0 to 1']],
    [{}, ['the body sets nothing; known settings are pathFilter, thresholdMs, sampleRate, httpServer']],
    [[1, 2], ['the body must be a JSON object such as {"thresholdMs": 5}']],
    ['{"thresholdMs": 5', ['the body is not JSON: ']],
  ];
  for (const [body, errors] of cases) {
    for (const url of [`${collector.url}/v1/settings`, `${collector.url}/v1/settings?service=live-svc`, `${collector.url}/v1/agents/${agentId}/settings`]) {
      const res = await sendJson('PUT', url, body, auth);
      assert.equal(res.status, 400, `${JSON.stringify(body)} to ${url}`);
      // The engine's own wording (JSON.parse, RegExp) differs between Node lines: the prefix is ours.
      if (errors[0]!.endsWith(': ')) assert.ok(res.body.errors.length === 1 && res.body.errors[0].startsWith(errors[0]), res.body.errors[0]);
      else assert.deepEqual(res.body.errors, errors);
    }
  }
  const noToken = await sendJson('PUT', `${collector.url}/v1/settings`, { thresholdMs: 5 });
  assert.deepEqual(noToken, { status: 401, body: { errors: ['this collector requires Authorization: Bearer <token>'] } });
  const wrongToken = await sendJson('PUT', `${collector.url}/v1/settings`, { thresholdMs: 5 }, { authorization: 'Bearer nope' });
  assert.equal(wrongToken.status, 401);
  // A body sent without Content-Length is counted as it arrives.
  const big = await request(`${collector.url}/v1/settings`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: Readable.from([Buffer.alloc(700_000, 32), Buffer.alloc(700_000, 32)]) });
  assert.equal(big.statusCode, 413);
  assert.deepEqual(await big.body.json(), { errors: ['request body is larger than 1048576 bytes'] });
  assert.deepEqual((await sendJson('PUT', `${collector.url}/v1/agents/nobody/settings`, { thresholdMs: 5 }, auth)).status, 404);
  assert.deepEqual((await sendJson('PUT', `${collector.url}/v1/settings?service=`, { thresholdMs: 5 }, auth)).status, 400);

  assert.deepEqual((await getJson(`${collector.url}/v1/settings`)).body, before, 'no new version, nothing set');
  assert.deepEqual(await agentSettings(agentId), agentBefore, 'the agent was sent nothing');
});

test('each setting comes from the agent override, else the service, else the defaults, else the agent\'s environment', async () => {
  const c = await startCollectorProcess();
  const clients: AgentClient[] = [];
  try {
    const connect = async (id: string, service: string, env: Record<string, unknown> = {}) => {
      const a = await AgentClient.connect(c.url);
      clients.push(a);
      const own = { ...defaultLiveSettings, ...env };
      return { a, welcome: await a.handshake(id, service, { settings: own, envSettings: own }) };
    };
    const put = async (path: string, body: unknown) => {
      const res = await sendJson('PUT', `${c.url}${path}`, body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    };
    const { a: a1, welcome } = await connect('a1', 'shop', { pathFilter: '/env/.*' });
    const { a: a2 } = await connect('a2', 'shop');
    const { a: b1 } = await connect('b1', 'billing', { thresholdMs: 7 });
    assert.equal(welcome.settings, null, 'nothing set yet: the agent keeps its own settings');

    let r = await put('/v1/settings', { thresholdMs: 1 });
    assert.deepEqual(r.sentTo, ['a1', 'a2', 'b1']);
    assert.deepEqual(await a1.next(), { t: 'settings', version: 1, settings: { ...defaultLiveSettings, pathFilter: '/env/.*', thresholdMs: 1 } });
    assert.equal((await a2.next()).settings.thresholdMs, 1);
    assert.equal((await b1.next()).settings.thresholdMs, 1, 'the defaults beat the environment');

    r = await put('/v1/settings?service=shop', { thresholdMs: 2, sampleRate: 0.5 });
    assert.deepEqual([r.version, r.sentTo], [2, ['a1', 'a2']]);
    assert.deepEqual(r.settings, { ...defaultLiveSettings, thresholdMs: 2, sampleRate: 0.5 });
    assert.deepEqual(await a1.next(), { t: 'settings', version: 2, settings: { ...defaultLiveSettings, pathFilter: '/env/.*', thresholdMs: 2, sampleRate: 0.5 } });
    await a2.next();

    r = await put('/v1/agents/a1/settings', { thresholdMs: 3 });
    assert.deepEqual([r.sentTo, r.set], [['a1'], { thresholdMs: 3 }]);
    assert.deepEqual(await a1.next(), { t: 'settings', version: 3, settings: { ...defaultLiveSettings, pathFilter: '/env/.*', thresholdMs: 3, sampleRate: 0.5 } });

    await put('/v1/settings', { thresholdMs: 9, httpServer: false });
    assert.deepEqual((await a1.next()).settings, { pathFilter: '/env/.*', thresholdMs: 3, sampleRate: 0.5, httpServer: false });
    assert.deepEqual((await a2.next()).settings, { pathFilter: '.*', thresholdMs: 2, sampleRate: 0.5, httpServer: false });
    assert.deepEqual((await b1.next()).settings, { pathFilter: '.*', thresholdMs: 9, sampleRate: 1, httpServer: false });

    // null takes a setting out of a layer: the next layer down shows through.
    await put('/v1/agents/a1/settings', { thresholdMs: null });
    assert.deepEqual(await a1.next(), { t: 'settings', version: 5, settings: { pathFilter: '/env/.*', thresholdMs: 2, sampleRate: 0.5, httpServer: false } });

    // Acknowledgements: a1 accepts, a2 refuses version 4 and keeps what it had.
    a1.send({ t: 'settings-ack', version: 5, ok: true, error: null });
    a2.send({ t: 'settings-ack', version: 4, ok: false, error: 'this agent cannot do that' });
    const s1 = await waitFor(async () => {
      const s = (await getJson(`${c.url}/v1/agents/a1/settings`)).body;
      return s.acknowledged.version === 5 ? s : undefined;
    }, 5000, () => 'a1 not acknowledged');
    assert.deepEqual(s1.acknowledged.settings, s1.requested.settings);
    const s2 = await waitFor(async () => {
      const s = (await getJson(`${c.url}/v1/agents/a2/settings`)).body;
      return s.rejected ? s : undefined;
    }, 5000, () => 'a2 did not reject');
    assert.deepEqual(s2.rejected, { version: 4, error: 'this agent cannot do that' });
    assert.deepEqual(s2.acknowledged, { version: 0, settings: defaultLiveSettings });
    assert.equal(s2.requested.version, 4);

    // GET /v1/settings shows every layer and every agent's state.
    const all = (await getJson(`${c.url}/v1/settings`)).body;
    assert.deepEqual(all.set, { thresholdMs: 9, httpServer: false });
    assert.deepEqual(all.services, { shop: { set: { thresholdMs: 2, sampleRate: 0.5 }, version: 2 } });
    assert.deepEqual([all.version, all.latestVersion], [4, 5]);
    assert.deepEqual(all.agents.map((x: any) => [x.id, x.requested.version, x.acknowledged.version]), [['a1', 5, 5], ['a2', 4, 0], ['b1', 4, 0]]);
    const shop = (await getJson(`${c.url}/v1/settings?service=shop`)).body;
    assert.deepEqual(shop.agents.map((x: any) => x.id), ['a1', 'a2']);

    // A connection that takes over a2 hears its settings in the welcome.
    const again = await AgentClient.connect(c.url);
    clients.push(again);
    const w = await again.handshake('a2', 'shop', { settings: defaultLiveSettings, envSettings: defaultLiveSettings });
    assert.deepEqual([w.settingsVersion, w.settings], [4, { pathFilter: '.*', thresholdMs: 2, sampleRate: 0.5, httpServer: false }]);

    // A settings-ack is no longer a protocol error, even one for a version never sent.
    again.send({ t: 'settings-ack', version: 99, ok: true, error: null });
    assert.equal((await again.batch(1, [{ durationMs: 1 }])).t, 'ack');
  } finally {
    for (const a of clients) await a.close();
    assert.equal(await c.stop(), 0);
  }
});
