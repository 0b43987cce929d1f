// Every collector resource has a cap, tried as a hostile agent would against a real
// collector process: many service names, a recording that keeps growing, frames held
// half-sent. Each cap says what it refused, counts it, and loses nothing else.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson } from './helpers/http.js';
import { AgentClient } from './helpers/ingest-client.js';

const overview = async (url: string): Promise<any> => (await getJson(`${url}/v1/overview`)).body;

async function metricsText(url: string): Promise<string> {
  const r = await request(`${url}/metrics`);
  return r.body.text();
}

describe('services past --max-services fold into one route', () => {
  let collector: CollectorProcess;
  before(async () => {
    collector = await startCollectorProcess({ args: ['--max-services', '3', '--max-routes', '50'] });
  });
  after(() => collector?.stop());

  test('a service named `*` cannot pose as the folded one, even with room for services', async () => {
    const agent = await AgentClient.connect(collector.url);
    await agent.handshake('star-agent', '*');
    await agent.batch(1, [{ path: '/x', durationMs: 1 }]);
    await agent.close();
    const { body } = await getJson(`${collector.url}/v1/routes?service=*`);
    assert.deepEqual(body.routes.map((r: any) => `${r.method} ${r.route}`), ['* other']);
  });

  test('300 service names make 3 services of routes and one `*` other; the rest is counted', async () => {
    // 300 agents, 20 at a time, each of its own service with 3 routes of 2 events.
    for (let round = 0; round < 15; round++) {
      await Promise.all(Array.from({ length: 20 }, async (_, k) => {
        const n = round * 20 + k;
        const agent = await AgentClient.connect(collector.url);
        await agent.handshake(`svc-agent-${n}`, `svc-${String(n).padStart(3, '0')}`);
        const rows = ['/a', '/b', '/c'].flatMap((path) => [{ path, durationMs: 1 }, { path, durationMs: 2 }]);
        assert.deepEqual(await agent.batch(1, rows), { t: 'ack', seq: 1 });
        await agent.close();
      }));
    }
    const { body } = await getJson(`${collector.url}/v1/routes`);
    const services = [...new Set(body.routes.map((r: any) => r.service))].sort();
    assert.equal(services.length, 4, `services: ${services.slice(0, 10).join(', ')} ...`);
    assert.equal(services.includes('*'), true);
    assert.equal(body.routes.length, 3 * 3 + 1);
    const folded = body.routes.find((r: any) => r.service === '*');
    assert.equal(folded.route, 'other');
    assert.equal(folded.count, 297 * 6 + 1, 'the 297 services past the cap and the `*` agent');
    const o = await overview(collector.url);
    assert.equal(o.servicesOverflowed, 297 * 6 + 1);
    assert.equal(o.events.received, 300 * 6 + 1, 'every event is counted, folded or not');
    const text = await metricsText(collector.url);
    assert.match(text, /^nodeflight_collector_service_overflow_events_total 1783$/m);
    const requestSeries = text.split('\n').filter((l) => l.startsWith('nodeflight_http_server_requests_total{'));
    assert.equal(requestSeries.length, 10 * 5, 'one series per route and status class');
  });
});
