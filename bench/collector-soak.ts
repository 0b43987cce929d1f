// A soak of one collector at a steady rate, for the README's Reliability section:
//
//   node dist/bench/collector-soak.js [--agents 50] [--rate 20000] [--seconds 60] [--json FILE]
//
// A real collector process (the CLI, as users run it) and `--agents` agents in this
// process, each a real WebSocket client speaking the protocol, together sending
// `--rate` events/s (batches every 100 ms over 20 routes per agent) for `--seconds`.
// At the end, every agent's `received` at the collector must equal what it sent, with
// no frame rejected; the collector's RSS is sampled every 5 s to show whether memory
// stays flat. Exits non-zero on any loss. Everything runs on 127.0.0.1 and ends by itself.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { AgentClient, type Row } from '../test/helpers/ingest-client.js';
import { random } from '../test/helpers/random.js';
import { cleanEnv, repoRoot } from './processes.js';

const { values: args } = parseArgs({
  options: {
    agents: { type: 'string', default: '50' },
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '60' },
    json: { type: 'string' },
  },
});
const AGENTS = Number(args.agents);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
if (![AGENTS, RATE, SECONDS].every((n) => Number.isInteger(n) && n > 0)) throw new Error('--agents, --rate and --seconds must be positive integers');
const TICK_MS = 100;
const perBatch = Math.max(1, Math.round(RATE / AGENTS / (1000 / TICK_MS)));

const collector = spawn(process.execPath, ['dist/cli/nodeflight.js', 'collector', '--port', '0'], { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
const [line] = (await once(collector.stdout!.setEncoding('utf8'), 'data')) as [string];
const url = /listening on (http:\/\/\S+)/.exec(line)![1]!;
const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${collector.pid}/status`, 'utf8'))![1]) / 1024;

const rnd = random(7);
const clients = await Promise.all(Array.from({ length: AGENTS }, async (_, a) => {
  const client = await AgentClient.connect(url);
  await client.handshake(`soak-${a}`, `soak-service-${a % 5}`);
  return { client, id: `soak-${a}`, seq: 0, sent: 0 };
}));

const started = Date.now();
const samples: Array<{ atS: number; rssMb: number }> = [{ atS: 0, rssMb: rss() }];
const sampler = setInterval(() => samples.push({ atS: Math.round((Date.now() - started) / 1000), rssMb: rss() }), 5000);
let late = 0;

await Promise.all(clients.map(async (c, a) => {
  // Spread the agents over the tick so that batches do not arrive in one burst.
  await new Promise((r) => setTimeout(r, (a * TICK_MS) / AGENTS));
  for (let next = Date.now(); Date.now() - started < SECONDS * 1000; next += TICK_MS) {
    const rows: Row[] = Array.from({ length: perBatch }, (_, i) => ({ durationMs: 0.2 + rnd() * 50, path: `/r${(i + a) % 20}/x`, status: rnd() < 0.01 ? 500 : 200 }));
    const ack = await c.client.batch(++c.seq, rows);
    if (ack.t !== 'ack' || ack.seq !== c.seq) throw new Error(`agent ${c.id}: expected ack ${c.seq}, got ${JSON.stringify(ack)}`);
    c.sent += perBatch;
    const wait = next + TICK_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else late++;
  }
}));
clearInterval(sampler);
const elapsedS = (Date.now() - started) / 1000;
samples.push({ atS: Math.round(elapsedS), rssMb: rss() });

const agents = ((await (await request(`${url}/v1/agents`)).body.json()) as { agents: Array<{ id: string; received: number }> }).agents;
const overview = (await (await request(`${url}/v1/overview`)).body.json()) as { rejectedFrames: number; events: { received: number } };
const lost = clients.filter((c) => agents.find((a) => a.id === c.id)?.received !== c.sent);
const sent = clients.reduce((s, c) => s + c.sent, 0);
await Promise.all(clients.map((c) => c.client.close()));
collector.kill('SIGTERM');
await once(collector, 'exit');

const afterWarmup = samples.find((s) => s.atS >= 10) ?? samples[0]!;
const result = {
  agents: AGENTS, targetRate: RATE, seconds: Math.round(elapsedS), eventsSent: sent, eventsReceived: overview.events.received,
  achievedRate: Math.round(sent / elapsedS), agentsWithLoss: lost.length, rejectedFrames: overview.rejectedFrames, lateTicks: late,
  rssMb: { atStart: samples[0]!.rssMb.toFixed(1), after10s: afterWarmup.rssMb.toFixed(1), atEnd: samples[samples.length - 1]!.rssMb.toFixed(1) },
  samples,
};
console.log(`${AGENTS} agents, ${result.achievedRate} events/s for ${result.seconds} s: sent ${sent}, received ${overview.events.received}, ` +
  `agents with loss ${lost.length}, rejected frames ${overview.rejectedFrames}; collector RSS ${result.rssMb.atStart} -> ${result.rssMb.after10s} (10 s) -> ${result.rssMb.atEnd} MB`);
if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 2) + '\n');
process.exitCode = lost.length === 0 && overview.rejectedFrames === 0 && overview.events.received === sent ? 0 : 1;
