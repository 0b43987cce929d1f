// A client that read a real agent's id in /v1/agents claims it, with the agent's pid,
// host and start time, and a batch numbered 1,000,000,000. Before the hello `instance`,
// it kicked the real agent off and every later batch of the agent was acknowledged and
// thrown away. Now it is refused (4006, counted as a rejected frame), the real agent
// stays connected, and every event it records reaches the collector.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CloseCode, PROTOCOL_VERSION } from '../protocol/messages.js';
import { drained, waitForAgent, type AgentView } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit } from './helpers/http.js';
import { AgentClient } from './helpers/ingest-client.js';
import { startService, type Service } from './helpers/service-process.js';

let collector: CollectorProcess;
let service: Service;

before(async () => {
  collector = await startCollectorProcess();
  service = await startService('http-app.mjs', {
    env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'shop', NODEFLIGHT_FLUSH_MS: '100' },
  });
});

after(async () => {
  await service?.stop();
  await collector?.stop();
});

const rejectedFrames = async (): Promise<number> => (await getJson(`${collector.url}/v1/overview`)).body.rejectedFrames;

test('a client claiming a real agent\'s id is refused; the agent keeps its id and every event arrives', async () => {
  const pid = service.child.pid!;
  await hit(service.url, Array.from({ length: 5 }, (_, i) => `/orders/${i}`));
  const real: AgentView & Record<string, any> = await waitForAgent(collector.url, pid, drained(5));
  const rejectedBefore = await rejectedFrames();

  // Everything /v1/agents shows about the agent, copied; once without an instance, once with a made-up one.
  for (const more of [{}, { instance: 'f'.repeat(32) }]) {
    const impostor = await AgentClient.connect(collector.url);
    impostor.send({
      t: 'hello', protocol: PROTOCOL_VERSION, agentId: real.id, service: real.service, host: real.host, pid: real.pid,
      startTime: real.startTime, nodeVersion: real.nodeVersion, agentVersion: real.agentVersion, settings: real.settings,
      settingsVersion: real.settingsVersion, ...more,
    });
    impostor.send({ t: 'batch', seq: 1_000_000_000, counters: { recorded: 0, filtered: 0, dropped: 0, sent: 0, buffered: 0, hookErrors: 0 },
      events: { count: 0, strings: [], start: new Float64Array(0), duration: new Float64Array(0), method: new Uint32Array(0),
        path: new Uint32Array(0), route: new Uint32Array(0), status: new Uint16Array(0), size: new Float64Array(0), flags: new Uint8Array(0) } });
    const closed = await impostor.closed;
    assert.equal(closed.code, CloseCode.idTaken, JSON.stringify(closed));
    assert.match(closed.reason, new RegExp(`agent id ${real.id} belongs to another agent process`));
  }
  assert.equal(await rejectedFrames(), rejectedBefore + 2, 'each refused hello is counted');

  // The agent was never cut off: same connection, its numbering untouched, and what it records arrives.
  await hit(service.url, Array.from({ length: 20 }, (_, i) => `/orders/${i}`));
  const now: AgentView & Record<string, any> = await waitForAgent(collector.url, pid, drained(25), 15_000);
  assert.equal(now.connected, true);
  assert.equal(now.connectedAt, real.connectedAt, 'the agent kept its first connection');
  assert.ok(now.lastSeq < 1_000_000_000, `lastSeq ${now.lastSeq}`);
  assert.equal(now.received, now.counters.sent);
  assert.equal(now.counters.recorded, now.counters.sent + now.counters.dropped + now.counters.buffered);
  assert.equal(now.counters.dropped, 0);
});
