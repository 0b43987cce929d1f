// The agent's own cost, as it reports it: a real service under a bounded load, its agent's
// figures in /v1/agents and /metrics, checked against what can be counted from outside
// (the requests sent, the bytes the collector could have received) and for sense (a
// share of the process's CPU between 0 and 1, a per-request figure of a plausible size).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { waitForAgent } from './helpers/agents.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson, hit } from './helpers/http.js';
import { startService, waitFor } from './helpers/service-process.js';

interface Cost { cpuSecondsPerSecond: number | null; processCpuSecondsPerSecond: number | null; shareOfProcess: number | null; nsPerRequest: number; requests: number; bytesSent: number; hookSamples: number; workSeconds: number; flushSeconds: number }
interface AgentJson { pid: number; id: string; received: number; cost: Cost | null; dataLoss: Record<string, number> }

let collector: CollectorProcess;
before(async () => { collector = await startCollectorProcess(); });
after(async () => { await collector.stop(); });

test('under load the agent reports its CPU share, ns per request, bytes sent and data loss', async (t) => {
  const svc = await startService('http-app.mjs', { env: { NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'e2e-cost', NODEFLIGHT_FLUSH_MS: '100' } });
  t.after(() => svc.stop());
  await waitForAgent(collector.url, svc.child.pid!, () => true);
  const n = Number(process.env.COST_N ?? 3000);
  await hit(svc.url, Array.from({ length: n }, (_, i) => `/users/${i}`), 8);
  let last: AgentJson | undefined;
  const a = await waitFor(async () => {
    last = (await getJson<{ agents: AgentJson[] }>(`${collector.url}/v1/agents`)).body.agents.find((x) => x.pid === svc.child.pid);
    return last?.cost && last.cost.requests >= n && last.received >= n ? last : undefined;
  }, 20_000, () => `no cost report covering the load: ${JSON.stringify(last)}`);
  const c = a.cost!;
  t.diagnostic(JSON.stringify(c));
  assert.equal(c.requests, n, 'every request counted by the countdown');
  assert.ok(c.hookSamples >= Math.floor(n / 256), `${c.hookSamples} timed requests`);
  // A hook pair is hundreds of ns to a few µs on this machine; a broken timer gives 0 or ms.
  assert.ok(c.nsPerRequest > 20 && c.nsPerRequest < 50_000, `${c.nsPerRequest} ns per request`);
  assert.ok(c.flushSeconds > 0 && c.workSeconds >= c.flushSeconds, JSON.stringify(c));
  assert.ok(c.shareOfProcess !== null && c.shareOfProcess > 0 && c.shareOfProcess < 0.5, `share ${c.shareOfProcess}`);
  // The events alone took some bytes each to send.
  assert.ok(c.bytesSent > n * 4, `${c.bytesSent} bytes for ${n} events`);
  assert.deepEqual(a.dataLoss, { events: 0, outbound: 0, runtime: 0, pauses: 0, hookErrors: 0 });

  const metrics = await (await fetch(`${collector.url}/metrics`)).text();
  const labels = `service="e2e-cost",agent="${a.id}"`;
  for (const name of ['nodeflight_agent_cpu_seconds_total', 'nodeflight_agent_request_hook_seconds', 'nodeflight_agent_sent_bytes_total', 'nodeflight_agent_process_cpu_share_ratio']) {
    assert.match(metrics, new RegExp(`${name}\\{${labels}\\} [0-9.e-]+\\n`), name);
  }
  assert.match(metrics, new RegExp(`nodeflight_agent_data_lost_total\\{${labels},stream="events"\\} 0\\n`));
});
