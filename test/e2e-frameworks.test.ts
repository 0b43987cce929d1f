// Express and Fastify services: route names come from the framework's own routes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { drained, waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit } from './helpers/http.js';
import { startService } from './helpers/service-process.js';

let collector: CollectorProcess;
before(async () => { collector = await startCollectorProcess(); });
after(async () => { await collector.stop(); });

async function routeCounts(service: string): Promise<Array<[string, string, number]>> {
  const { body } = await getJson<{ routes: Array<{ method: string; route: string; count: number }> }>(`${collector.url}/v1/routes?service=${service}`);
  return body.routes.map((r) => [r.method, r.route, r.count] as [string, string, number]).sort((a, b) => a[1].localeCompare(b[1]));
}

test('Express: a mounted router gives baseUrl + route path', async (t) => {
  const svc = await startService('express-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'e2e-express', NODEFLIGHT_FLUSH_MS: '50' } });
  t.after(() => svc.stop());
  const paths = ['/api/items/a1', '/api/items/b2', '/api/items/c3/reviews/9', '/users/alice', '/users/bob', '/users/carol', '/health', '/nope/1'];
  await hit(svc.url, paths);
  await waitForAgent(collector.url, svc.child.pid!, drained(paths.length));
  assert.deepEqual(await routeCounts('e2e-express'), [
    ['GET', '/api/items/:itemId', 2], ['GET', '/api/items/:itemId/reviews/:reviewId', 1], ['GET', '/health', 1],
    ['GET', '/nope/:id', 1], ['GET', '/users/:name', 3],
  ]);
});

test('Fastify: one route per endpoint, named by Fastify', async (t) => {
  const svc = await startService('fastify-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'e2e-fastify', NODEFLIGHT_FLUSH_MS: '50' } });
  t.after(() => svc.stop());
  const paths = ['/users/alice', '/users/bob', '/teams/red/members/ann', '/teams/blue/members/bo', '/teams/blue/members/cy'];
  await hit(svc.url, paths);
  await waitForAgent(collector.url, svc.child.pid!, drained(paths.length));
  assert.deepEqual(await routeCounts('e2e-fastify'), [['GET', '/teams/:team/members/:member', 3], ['GET', '/users/:name', 2]]);
});
