// How much one collector holds, for the README's "Scaling" section:
//
//   node dist/bench/collector-load.js [--seconds 4] [--agents 1,10,100] [--batch 1024]
//                                     [--window 2] [--routes 100,1000] [--no-memory] [--json FILE]
//
// 1. Ingest: a collector process (bench/collector-host.ts) and N agents in this process,
//    each a real WebSocket client speaking the protocol (hello, then batches of
//    `--batch` events over 20 routes, `--window` batches unacknowledged at most, as fast
//    as the collector acknowledges them) for `--seconds` after a 1 s warm-up. Reports
//    acknowledged events/s and the CPU each side used. The two processes share the
//    machine's cores with whatever else runs on it.
// 2. Memory: a collector whose clock this script moves. process.memoryUsage() after a
//    full GC, with no route, 100 and 1,000 routes (20 events each), then after five
//    minutes of 5 s intervals with events on every route (the interval histograms a
//    busy route keeps), again after 20 minutes, then with 100 more agents connected. Also GET /metrics: time,
//    bytes and series at each step.
// Everything runs on 127.0.0.1 and ends by itself.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { AgentClient, columns, counters, type Row } from '../test/helpers/ingest-client.js';
import { random } from '../test/helpers/random.js';
import { cleanEnv, distBench } from './processes.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    agents: { type: 'string', default: '1,10,100' },
    batch: { type: 'string', default: '1024' },
    window: { type: 'string', default: '2' },
    routes: { type: 'string', default: '100,1000' },
    'no-memory': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});

function positive(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}
const SECONDS = positive('seconds', args.seconds, 60);
const AGENTS = args.agents.split(',').map((s) => positive('agents', s, 1000));
const BATCH = positive('batch', args.batch, 8192);
const WINDOW = positive('window', args.window, 16);
const ROUTE_STEPS = args.routes.split(',').map((s) => positive('routes', s, 1999));
const ROUTES_PER_AGENT = 20;

// ---------------------------------------------------------------------------------
// The collector process.

interface Host {
  url: string;
  call<T>(op: string, more?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

async function startHost(manualClock: boolean): Promise<Host> {
  const child: ChildProcess = fork(distBench('collector-host.js'), manualClock ? ['--manual-clock'] : [], {
    execArgv: ['--expose-gc'], env: cleanEnv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const reap = (): void => { child.kill('SIGKILL'); };
  process.once('exit', reap);
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  let ready: (m: { url: string; gc: boolean }) => void;
  const started = new Promise<{ url: string; gc: boolean }>((r) => { ready = r; });
  child.on('message', (m: any) => {
    if (m.type === 'ready') return ready(m);
    pending.get(m.id)?.(m.value);
    pending.delete(m.id);
  });
  const { url, gc } = await Promise.race([started, once(child, 'exit').then(() => { throw new Error('the collector host exited'); })]);
  if (!gc) throw new Error('the collector host runs without --expose-gc');
  return {
    url,
    call: <T>(op: string, more = {}) => new Promise<T>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve as (v: unknown) => void);
      child.send({ id, op, ...more });
    }),
    async close() {
      const gone = once(child, 'exit');
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
      process.off('exit', reap);
    },
  };
}

// ---------------------------------------------------------------------------------
// Agents and their events.

/** `n` events over `routes` (route k is /r<first+k>/:id), log-uniform 0.1 ms to 1 s, 2 % 5xx. */
function events(n: number, routes: number, seed: number, first = 0): Row[] {
  const r = random(seed);
  return Array.from({ length: n }, (_, i) => {
    const k = first + (i % routes);
    return {
      durationMs: Math.round(Math.exp(Math.log(0.1) + r() * Math.log(10_000)) * 1000) / 1000,
      path: `/r${k}/${i}`, route: `/r${k}/:id`, status: r() < 0.02 ? 503 : 200, size: 512,
    };
  });
}

class LoadAgent {
  seq = 0;
  sent = 0;
  acked = 0;
  private constructor(private readonly client: AgentClient, private readonly frame: ReturnType<typeof columns>) {}

  static async connect(url: string, index: number): Promise<LoadAgent> {
    const client = await AgentClient.connect(url);
    const welcome = await client.handshake(`load-${index}`, `svc-${index % 10}`);
    if (welcome.t !== 'welcome') throw new Error(`agent ${index}: expected a welcome, got ${JSON.stringify(welcome)}`);
    return new LoadAgent(client, columns(events(BATCH, ROUTES_PER_AGENT, index + 1)));
  }

  /** Sends batches, `WINDOW` unacknowledged at most, until `until()` is false; resolves when all are acknowledged. */
  async run(until: () => boolean): Promise<void> {
    let inFlight = 0;
    const sendOne = (): void => {
      this.sent += BATCH;
      this.client.send({ t: 'batch', seq: ++this.seq, counters: counters(this.sent), events: this.frame });
      inFlight++;
    };
    while (inFlight < WINDOW) sendOne();
    while (inFlight > 0) {
      const m = await this.client.next();
      if (m.t !== 'ack') throw new Error(`expected an ack, got ${JSON.stringify(m)}`);
      inFlight--;
      this.acked += BATCH;
      if (until()) sendOne();
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

// ---------------------------------------------------------------------------------
// 1. Ingest.

interface IngestResult { agents: number; eventsPerSecond: number; collectorCpu: number; generatorCpu: number; receivedMatches: boolean }

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

async function ingest(n: number): Promise<IngestResult> {
  const host = await startHost(false);
  try {
    const agents: LoadAgent[] = [];
    for (let i = 0; i < n; i++) agents.push(await LoadAgent.connect(host.url, i));
    const warmUpEnd = performance.now() + 1000;
    const end = warmUpEnd + SECONDS * 1000;
    let mark: { t: number; acked: number; host: number; self: number } | null = null;
    let done: { t: number; acked: number; host: number; self: number } | null = null;
    const ackedNow = (): number => agents.reduce((s, a) => s + a.acked, 0);
    const sample = async () => ({ t: performance.now(), acked: ackedNow(), host: cpuMs(await host.call<NodeJS.CpuUsage>('cpu')), self: cpuMs(process.cpuUsage()) });
    const clock = (async () => {
      await new Promise((r) => setTimeout(r, warmUpEnd - performance.now()));
      mark = await sample();
      await new Promise((r) => setTimeout(r, end - performance.now()));
      done = await sample();
    })();
    await Promise.all(agents.map((a) => a.run(() => performance.now() < end)));
    await clock;
    const m = mark!;
    const d = done!;
    const seconds = (d.t - m.t) / 1000;
    const overview = await (await request(`${host.url}/v1/overview`)).body.json() as { events: { received: number } };
    const sent = agents.reduce((s, a) => s + a.sent, 0);
    await Promise.all(agents.map((a) => a.close()));
    return {
      agents: n,
      eventsPerSecond: (d.acked - m.acked) / seconds,
      collectorCpu: (d.host - m.host) / (d.t - m.t),
      generatorCpu: (d.self - m.self) / (d.t - m.t),
      receivedMatches: overview.events.received === sent,
    };
  } finally {
    await host.close();
  }
}

// ---------------------------------------------------------------------------------
// 2. Memory.

interface MemoryStep {
  step: string; routes: number; agents: number; rssMB: number; heapMB: number; externalMB: number;
  /** The first scrape after every route had events, then the median of 4 more (idle routes' lines reused). */
  metricsMs: number; metricsIdleMs: number; metricsKB: number; series: number;
}

const MB = (b: number): number => b / (1024 * 1024);

async function scrape(url: string): Promise<{ ms: number; idleMs: number; bytes: number; series: number }> {
  const times: number[] = [];
  let text = '';
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    text = await (await request(`${url}/metrics`)).body.text();
    times.push(performance.now() - t0);
  }
  const idle = times.slice(1).sort((a, b) => a - b);
  return { ms: times[0]!, idleMs: (idle[1]! + idle[2]!) / 2, bytes: Buffer.byteLength(text), series: text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length };
}

async function memory(): Promise<MemoryStep[]> {
  const host = await startHost(true);
  const steps: MemoryStep[] = [];
  let routes = 0;
  let agentsConnected = 0;
  const measure = async (step: string): Promise<void> => {
    const m = await host.call<NodeJS.MemoryUsage>('memory');
    const s = await scrape(host.url);
    steps.push({ step, routes, agents: agentsConnected, rssMB: MB(m.rss), heapMB: MB(m.heapUsed), externalMB: MB(m.external), metricsMs: s.ms, metricsIdleMs: s.idleMs, metricsKB: s.bytes / 1024, series: s.series });
  };
  try {
    await measure('empty');
    const agent = await AgentClient.connect(host.url);
    await agent.handshake('memory-agent', 'memory-svc');
    agentsConnected = 1;
    let seq = 0;
    let sent = 0;
    const send = async (rows: Row[]): Promise<void> => {
      for (let i = 0; i < rows.length; i += 8192) {
        const part = rows.slice(i, i + 8192);
        sent += part.length;
        const ack = await agent.batch(++seq, part, counters(sent));
        if (ack.t !== 'ack') throw new Error(`expected an ack, got ${JSON.stringify(ack)}`);
      }
    };
    for (const target of ROUTE_STEPS) {
      await send(events(20 * (target - routes), target - routes, target, routes));
      routes = target;
      await measure(`${routes} routes, 20 events each`);
    }
    // Five minutes of 5 s intervals, each with 10 events on every route: every route
    // keeps its 60 interval histograms, as a busy route does.
    // Then 15 minutes more: wasm memory is never returned, and the temporary histograms
    // of closing intervals spread over it, so RSS settles later than the JS heap.
    for (let i = 0; i < 241; i++) {
      await host.call('advance', { ms: 5000 });
      await send(events(10 * routes, routes, 1000 + i));
      if (i === 60) await measure(`${routes} busy routes, 5 min of intervals`);
    }
    await measure(`${routes} busy routes, 20 min of intervals`);
    const more: AgentClient[] = [];
    for (let i = 0; i < 100; i++) {
      const c = await AgentClient.connect(host.url);
      await c.handshake(`idle-${i}`, 'memory-svc');
      await c.batch(1, events(10, 10, 5000 + i));
      more.push(c);
    }
    agentsConnected += 100;
    await measure('+100 agents connected');
    await Promise.all(more.map((c) => c.close()));
    await agent.close();
    return steps;
  } finally {
    await host.close();
  }
}

// ---------------------------------------------------------------------------------

const f = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const results: { ingest: IngestResult[]; memory: MemoryStep[] } = { ingest: [], memory: [] };
console.log(`collector ingest: ${SECONDS} s per run after a 1 s warm-up, batches of ${BATCH} events, ${WINDOW} unacknowledged per agent`);
console.log('| agents | events/s | collector CPU (1 core = 100 %) | load generator CPU | received = sent |');
console.log('| ---: | ---: | ---: | ---: | :---: |');
for (const n of AGENTS) {
  const r = await ingest(n);
  results.ingest.push(r);
  console.log(`| ${n} | ${f(r.eventsPerSecond)} | ${f(r.collectorCpu * 100)} % | ${f(r.generatorCpu * 100)} % | ${r.receivedMatches ? 'yes' : 'NO'} |`);
}
if (!args['no-memory']) {
  results.memory = await memory();
  console.log('\ncollector memory (after a full GC) and GET /metrics (first scrape after events on every route; then idle, median of 4)');
  console.log('| step | routes | agents | RSS MB | JS heap MB | external MB | /metrics ms | idle /metrics ms | /metrics KB | series |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of results.memory) {
    console.log(`| ${s.step} | ${s.routes} | ${s.agents} | ${f(s.rssMB, 1)} | ${f(s.heapMB, 1)} | ${f(s.externalMB, 1)} | ${f(s.metricsMs, 1)} | ${f(s.metricsIdleMs, 1)} | ${f(s.metricsKB)} | ${f(s.series)} |`);
  }
  const at = (routes: number, step?: string) => results.memory.find((s) => s.routes === routes && (step === undefined || s.step.startsWith(step)));
  const [r1, r2] = [ROUTE_STEPS.at(-2) ?? 0, ROUTE_STEPS.at(-1)!];
  const a = r1 === 0 ? results.memory[0]! : at(r1)!;
  const b = at(r2)!;
  const busy = results.memory.find((s) => s.step.includes('busy'))!;
  const settled = results.memory.at(-2)!;
  const agents = results.memory.at(-1)!;
  const kb = (mb: number): string => f(mb * 1024);
  console.log(`\nper route, new (${r1} -> ${r2} routes): RSS ${kb((b.rssMB - a.rssMB) / (r2 - r1))} KB, JS heap ${kb((b.heapMB - a.heapMB) / (r2 - r1))} KB`);
  console.log(`per route, busy for 5 min: RSS ${kb((busy.rssMB - results.memory[0]!.rssMB) / r2)} KB, JS heap ${kb((busy.heapMB - results.memory[0]!.heapMB) / r2)} KB`);
  console.log(`per route, busy for 20 min: RSS ${kb((settled.rssMB - results.memory[0]!.rssMB) / r2)} KB, JS heap ${kb((settled.heapMB - results.memory[0]!.heapMB) / r2)} KB`);
  console.log(`per connected agent: RSS ${kb((agents.rssMB - settled.rssMB) / 100)} KB, JS heap ${kb((agents.heapMB - settled.heapMB) / 100)} KB`);
}
if (args.json) writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
