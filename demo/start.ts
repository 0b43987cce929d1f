// `npm start`: a collector, an instrumented example service, bounded load, and the
// live per-route table. Ends by itself; `npm start -- --keep` keeps the collector and
// its dashboard up until Ctrl-C.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { startCollector } from '../collector/index.js';
import type { RouteJson } from '../collector/stats/route-json.js';
import { formatRoutes } from './table.js';

const { values: args } = parseArgs({
  options: { keep: { type: 'boolean', default: false }, seconds: { type: 'string', default: '15' }, port: { type: 'string', default: '0' } },
});
const seconds = Number(args.seconds);
if (!(seconds > 0 && seconds <= 3600)) throw new Error('--seconds must be from 1 to 3600');

const root = fileURLToPath(new URL('../../', import.meta.url));
const collector = await startCollector({ port: Number(args.port) });
console.log(`collector listening on ${collector.url}`);

const service = spawn(process.execPath, ['--import', 'nodeflight/agent', 'demo/shop-service.mjs'], {
  cwd: root,
  env: { ...process.env, NODEFLIGHT_COLLECTOR: collector.url, NODEFLIGHT_SERVICE: 'demo-shop' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [line] = (await once(service.stdout!.setEncoding('utf8'), 'data')) as [string];
const base = `http://127.0.0.1:${/listening (\d+)/.exec(line)![1]}`;
console.log(`example service (instrumented) on ${base}; sending load for ${seconds} s`);

const paths = ['/api/products/1', '/api/products/42', '/api/products', '/api/search?q=shoes', '/api/orders/1001', '/api/orders/1002', '/health'];
const dispatcher = new Agent({ connections: 8 });
const until = Date.now() + seconds * 1000;
let sent = 0;
async function worker(): Promise<void> {
  while (Date.now() < until) {
    const res = await request(base + paths[Math.floor(Math.random() * paths.length)], { dispatcher });
    await res.body.dump();
    sent++;
  }
}

async function routes(): Promise<RouteJson[]> {
  const res = await request(`${collector.url}/v1/routes`);
  return ((await res.body.json()) as { routes: RouteJson[] }).routes;
}

interface AgentRow { counters: { recorded: number; buffered: number }; received: number }

/** Waits (at most 5 s) until the agent's last events reached the collector. */
async function drained(): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const res = await request(`${collector.url}/v1/agents`);
    const { agents } = (await res.body.json()) as { agents: AgentRow[] };
    if (agents.length > 0 && agents.every((a) => a.counters.buffered === 0 && a.received === a.counters.recorded)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const tty = process.stdout.isTTY;
const live = setInterval(() => {
  routes().then((rows) => {
    const table = `${formatRoutes(rows)}\n${sent} requests sent, ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s left`;
    process.stdout.write(tty ? `\x1b[2J\x1b[H${table}\n` : `${table}\n\n`);
  }, () => {});
}, 1000);

await Promise.all(Array.from({ length: 8 }, worker));
clearInterval(live);
await dispatcher.close();
await drained();
service.kill('SIGTERM');
await once(service, 'exit');

console.log(`\nfinal per-route table (${sent} requests):\n${formatRoutes(await routes())}`);
console.log(`\ndashboard: ${collector.url}/`);
if (args.keep) {
  console.log('collector kept up (--keep); Ctrl-C to stop');
  process.once('SIGINT', () => void collector.close());
} else {
  await collector.close();
}
