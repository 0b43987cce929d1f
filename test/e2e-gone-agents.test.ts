// The last minutes of a process that is gone: once an agent's connection ends, the
// collector keeps its runtime samples, pauses and last in-flight requests, and says when
// and how it ended: a clean exit or a crash (the agent's close frame says which), a
// SIGKILL (no close frame: reset), a frozen process (no pong: timeout). Bounded by a
// retention time and a cap on gone agents.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startCollector, type Collector } from '../collector/index.js';
import { waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson } from './helpers/http.js';
import { startService, waitFor, type Service } from './helpers/service-process.js';

const agentEnv = (collector: string, service: string, extra: Record<string, string> = {}) => ({
  NODEFLIGHT_COLLECTOR: collector, NODEFLIGHT_FLUSH_MS: '100', NODEFLIGHT_RUNTIME_PERIOD_MS: '200', NODEFLIGHT_SERVICE: service, ...extra,
});

/** The agent's entry in /v1/agents once it has an `ended`. */
async function endedAgent(url: string, pid: number): Promise<any> {
  return waitForAgent(url, pid, (a) => !a.connected && (a as any).ended !== null, 20_000);
}

describe('gone agents through the collector CLI', () => {
  let collector: CollectorProcess;
  const services: Service[] = [];

  before(async () => {
    collector = await startCollectorProcess();
  });
  after(async () => {
    for (const s of services) await s.stop();
    await collector?.stop();
  });

  test('SIGKILL: reset, with its runtime samples, pauses and the request it had open', async () => {
    const svc = await startService('http-app.mjs', { env: agentEnv(collector.url, 'killed', { NODEFLIGHT_STALL_MS: '20' }) });
    services.push(svc);
    const { id } = await waitForAgent(collector.url, svc.child.pid!, (a) => a.connected);
    request(`${svc.url}/hang`).then((r) => r.body.dump(), () => undefined);
    await waitFor(async () => ((await getJson(`${collector.url}/v1/agents/${id}/inflight`)).body.requests.length === 1 ? true : undefined),
      15_000, () => 'the open request was not reported');
    await waitFor(async () => ((await getJson(`${collector.url}/v1/agents/${id}/runtime`)).body.samples.length >= 3 ? true : undefined),
      15_000, () => 'no runtime samples');
    const killedAt = Date.now();
    svc.child.kill('SIGKILL');
    assert.equal(await svc.exited, 'SIGKILL');

    const a = await endedAgent(collector.url, svc.child.pid!);
    assert.equal(a.ended.reason, 'reset', JSON.stringify(a.ended));
    assert.equal(a.ended.code, 1006);
    assert.match(a.ended.message, /without a close frame/);
    assert.ok(a.ended.at >= killedAt - 1000 && a.ended.at <= Date.now(), JSON.stringify(a.ended));

    const rt = (await getJson(`${collector.url}/v1/agents/${id}/runtime?window=5m`)).body;
    assert.equal(rt.connected, false);
    assert.deepEqual(rt.ended, a.ended);
    assert.ok(rt.samples.length >= 3, `samples kept: ${rt.samples.length}`);
    assert.ok(rt.latest !== null);

    const open = (await getJson(`${collector.url}/v1/agents/${id}/inflight`)).body;
    assert.equal(open.connected, false);
    assert.deepEqual(open.ended, a.ended);
    assert.deepEqual(open.requests.map((r: { path: string }) => r.path), ['/hang']);
    assert.ok(open.asOf <= killedAt + 50 && open.requests[0].ageMs <= open.asOf - open.requests[0].start + 1, 'a gone agent\'s age ends with its last snapshot');
    // Not "open now": the collection-wide list is of connected agents.
    assert.deepEqual((await getJson(`${collector.url}/v1/inflight?service=killed`)).body.requests, []);
  });

  test('a clean exit and an uncaught exception: closed, with the exit code the agent said', async () => {
    const clean = await startService('http-app.mjs', { env: agentEnv(collector.url, 'clean', { EXIT_AFTER: '3' }) });
    const crash = await startService('http-app.mjs', { env: agentEnv(collector.url, 'crashing') });
    services.push(clean, crash);
    await waitForAgent(collector.url, crash.child.pid!, (a) => a.connected);
    await request(`${crash.url}/crash`).then((r) => r.body.dump(), () => undefined);
    assert.equal(await clean.exited, 0);
    assert.equal(await crash.exited, 1);

    const c = await endedAgent(collector.url, clean.child.pid!);
    assert.deepEqual([c.ended.reason, c.ended.code, c.ended.message], ['closed', 1001, 'process exiting (code 0)']);
    assert.equal(c.counters.sent, 3, 'its events arrived before the close');
    const x = await endedAgent(collector.url, crash.child.pid!);
    assert.deepEqual([x.ended.reason, x.ended.code, x.ended.message], ['closed', 1001, 'process exiting (code 1)']);
    // The crash's own request was open when the process died: its last snapshot, sent at exit, says so.
    const open = (await getJson(`${collector.url}/v1/agents/${x.id}/inflight`)).body;
    assert.deepEqual(open.requests.map((r: { path: string }) => r.path), ['/crash']);
  });
});

describe('gone agents: timeout, cap and retention (collector in-process)', () => {
  let collector: Collector;
  const services: Service[] = [];

  before(async () => {
    collector = await startCollector({ port: 0, heartbeatMs: 300, maxGoneAgents: 1, goneAgentMs: 4000 });
  });
  after(async () => {
    for (const s of services) {
      s.child.kill('SIGCONT');
      await s.stop();
    }
    await collector?.close();
  });

  test('a frozen process (SIGSTOP) ends as timeout', async () => {
    const svc = await startService('http-app.mjs', { env: agentEnv(collector.url, 'frozen') });
    services.push(svc);
    await waitForAgent(collector.url, svc.child.pid!, (a) => a.connected);
    svc.child.kill('SIGSTOP');
    const a = await endedAgent(collector.url, svc.child.pid!);
    assert.equal(a.ended.reason, 'timeout', JSON.stringify(a.ended));
    assert.match(a.ended.message, /no answer to the collector's ping within 300 ms/);
    svc.child.kill('SIGCONT');
    svc.child.kill('SIGKILL');
    await svc.exited;
  });

  test('at most maxGoneAgents are kept, and each for goneAgentMs', async () => {
    const first = await startService('http-app.mjs', { env: agentEnv(collector.url, 'first', { EXIT_AFTER: '1' }) });
    assert.equal(await first.exited, 0);
    const gone1 = await endedAgent(collector.url, first.child.pid!);
    const second = await startService('http-app.mjs', { env: agentEnv(collector.url, 'second', { EXIT_AFTER: '1' }) });
    assert.equal(await second.exited, 0);
    const gone2 = await endedAgent(collector.url, second.child.pid!);
    // One gone agent is kept: the first (and the frozen one before it) are forgotten everywhere.
    const { body } = await getJson(`${collector.url}/v1/agents`);
    assert.deepEqual(body.agents.map((a: { service: string }) => a.service), ['second']);
    assert.equal((await getJson(`${collector.url}/v1/agents/${gone1.id}/runtime`)).status, 404);
    assert.equal((await getJson(`${collector.url}/v1/agents/${gone1.id}/inflight`)).status, 404);
    assert.equal((await getJson(`${collector.url}/v1/agents/${gone2.id}/runtime`)).status, 200);
    // Past the retention, the last one goes too; the totals it sent stay counted.
    const received = (await getJson(`${collector.url}/v1/overview`)).body.events.received;
    await waitFor(async () => ((await getJson(`${collector.url}/v1/agents/${gone2.id}/runtime`)).status === 404 ? true : undefined),
      15_000, () => 'the gone agent outlived the retention');
    assert.deepEqual((await getJson(`${collector.url}/v1/agents`)).body.agents, []);
    assert.equal((await getJson(`${collector.url}/v1/overview`)).body.events.received, received);
  });
});
