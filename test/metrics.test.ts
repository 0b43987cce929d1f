// /metrics reuses the lines of routes that had no event since the last scrape: a busy
// route's lines must still follow every event, and scrapes in between change nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCollector, type Collector } from '../collector/index.js';
import { AgentClient } from './helpers/ingest-client.js';

let collector: Collector;
let agent: AgentClient;
before(async () => {
  collector = await startCollector({ port: 0 });
  agent = await AgentClient.connect(collector.url);
  await agent.handshake('metrics-agent', 'metrics-svc');
});
after(async () => {
  await agent.close();
  await collector.close();
});

const scrape = async (): Promise<string> => (await fetch(`${collector.url}/metrics`)).text();
const line = (text: string, start: string): string => text.split('\n').find((l) => l.startsWith(start)) ?? '';

test('a route\'s lines follow its events across scrapes; an idle route\'s stay as they were', async () => {
  await agent.batch(1, [{ durationMs: 2, route: '/busy' }, { durationMs: 3, route: '/idle' }]);
  const first = await scrape();
  assert.equal(await scrape(), first, 'nothing happened between two scrapes');
  await agent.batch(2, [{ durationMs: 400, route: '/busy', status: 503 }, { durationMs: 400, route: '/busy', status: 503 }]);
  const second = await scrape();
  const busy = 'service="metrics-svc",method="GET",route="/busy"';
  const idle = 'service="metrics-svc",method="GET",route="/idle"';
  assert.equal(line(second, `nodeflight_http_server_request_duration_seconds_count{${busy}}`).split(' ')[1], '3');
  assert.equal(line(second, `nodeflight_http_server_requests_total{${busy},status_class="5xx"}`).split(' ')[1], '2');
  assert.equal(line(second, `nodeflight_http_server_request_duration_seconds_bucket{${busy},le="0.5"}`).split(' ')[1], '3');
  assert.equal(line(second, `nodeflight_http_server_request_duration_seconds_bucket{${busy},le="0.25"}`).split(' ')[1], '1');
  assert.match(line(second, `nodeflight_http_server_request_latency_seconds{${busy},quantile="0.9"}`), / 0\.4\d*$/);
  for (const family of ['nodeflight_http_server_request_duration_seconds_count', 'nodeflight_http_server_request_latency_seconds']) {
    assert.equal(line(second, `${family}{${idle}`), line(first, `${family}{${idle}`));
  }
});

test('the summary\'s quantiles equal those of the route\'s merged HDR histogram (GET /v1/routes/:id)', async () => {
  // Durations over four decades, in two batches: since start is the merge of both.
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const rows = (route: string, n: number) => Array.from({ length: n }, () => ({ route, durationMs: Math.round(10 ** (random() * 4 - 1) * 1000) / 1000 }));
  await agent.batch(3, [...rows('/q/a', 700), ...rows('/q/b', 300)]);
  await agent.batch(4, [...rows('/q/a', 500), ...rows('/q/b', 1)]);
  const text = await scrape();
  const list = (await (await fetch(`${collector.url}/v1/routes`)).json()) as { routes: Array<{ id: string; route: string }> };
  for (const route of ['/q/a', '/q/b']) {
    const id = list.routes.find((r) => r.route === route)!.id;
    const detail = (await (await fetch(`${collector.url}/v1/routes/${encodeURIComponent(id)}`)).json()) as { count: number; latencyMs: Record<string, number> };
    assert.equal(detail.count, route === '/q/a' ? 1200 : 301);
    for (const [q, key] of [['0.5', 'p50'], ['0.9', 'p90'], ['0.99', 'p99'], ['0.999', 'p999']]) {
      const sample = line(text, `nodeflight_http_server_request_latency_seconds{service="metrics-svc",method="GET",route="${route}",quantile="${q}"}`);
      assert.equal(Number(sample.split(' ')[1]), Math.round(detail.latencyMs[key]! * 1000) / 1e6, `${route} quantile ${q}: ${sample}`);
    }
  }
});
