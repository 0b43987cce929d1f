// `npm run bench`: the macro benchmark. Each service runs bare and under each variant
// of instrumentation, in child processes pinned to core 1 (fresh ones every round), while
// the load generator (undici, keep-alive; closed loop, then open loop at a fixed rate)
// runs on core 0. Timed windows of the variants are interleaved in rounds with their
// order rotated, each variant's instrumentation is checked live before it is timed (and
// after each window), and every figure is reported as a median over rounds with its
// min–max and its ratio to bare in the same round.
//
//   npm run bench -- [--rounds 8] [--duration 3] [--warmup 3] [--fixed-load 0.4]
//                    [--services a,b] [--variants x,y] [--quick] [--check] [--out DIR]
//                    [--from FILE]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { list } from './args.js';
import { budgetText, checkBudget, type Verdict } from './budget.js';
import type { RunRequest, RunResult } from './loadgen.js';
import { coreBusy, readCoreTimes } from './cores.js';
import { benchSource, Child, CLIENT_CORE, cleanEnv, distBench, killAll, pinSelf, repoRoot, SERVER_CORE, tasksetPath } from './processes.js';
import { machine, machineLine, macroTable, num, packageVersions, updateSection, verdictTable, versionsLine, type Machine } from './report.js';
import { checkInstrumentation, services, variants, type Instrumentation } from './scenarios.js';
import { summarize, type Sample, type VariantSummary } from './stats.js';

interface Options {
  rounds: number;
  durationS: number;
  warmupS: number;
  services: string[];
  variants: string[];
  connections: number;
  pipelining: number;
  /** The open-loop window's rate, as a fraction of bare's closed-loop throughput. */
  fixedLoad: number;
  check: boolean;
  out: string | null;
  pin: boolean;
  /** A timed window during which other processes kept a pinned core busier than this is measured again. */
  maxForeign: number;
  attempts: number;
}

export interface RunRecord {
  kind: 'nodeflight-macro-benchmark';
  version: 1;
  startedAt: string;
  finishedAt: string;
  command: string;
  options: Options;
  machine: Machine;
  pinned: boolean;
  packages: Record<string, string>;
  samples: Sample[];
  summaries: VariantSummary[];
  verdicts: Verdict[];
}

interface Stats { cpuUs: number; wallUs: number; rss: number; newSpace: number; heapUsed: number; arrayBuffers: number; inst: Instrumentation }

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string' }, duration: { type: 'string' }, warmup: { type: 'string' },
    services: { type: 'string' }, variants: { type: 'string' },
    connections: { type: 'string', default: '32' }, pipelining: { type: 'string', default: '2' }, 'fixed-load': { type: 'string' },
    quick: { type: 'boolean', default: false }, check: { type: 'boolean', default: false },
    out: { type: 'string' }, from: { type: 'string' }, 'no-pin': { type: 'boolean', default: false },
    'max-foreign': { type: 'string' }, attempts: { type: 'string' },
    budget: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
  },
});

const usage = `usage: npm run bench -- [options]
  --rounds N         interleaved rounds (default 8; --quick: 1)
  --duration S       timed seconds per variant and round (default 3; --quick: 1)
  --warmup S         warm-up seconds of each variant's process (default 3; --quick: 0.5)
  --services a,b     of ${Object.keys(services).join(', ')} (default all; --quick: hello)
  --variants x,y     of ${Object.keys(variants).join(', ')} (default all; --quick: bare,nodeflight)
  --connections N    keep-alive connections (default 32)
  --pipelining N     requests in flight per connection (default 2)
  --fixed-load F     rate of the open-loop window, as a fraction of bare's closed-loop
                     throughput measured once per service before the rounds (default 0.4)
  --quick            a tiny run: the defaults above marked --quick
  --check            exit 1 when a figure misses the budget (bench/budget.ts)
  --out DIR          write DIR/BENCHMARKS.md and DIR/results/ instead of the repository's
  --from FILE        re-render (and --check) a saved results JSON (one with the fixed-rate
                     window, 2026-12-01 21:28 on) instead of running
  --no-pin           do not pin processes to cores with taskset
  --max-foreign F    measure a window again when other processes kept a pinned core
                     busy more than this fraction of it (default 0.15)
  --attempts N       at most this many windows per measurement (default 4; the
                     least disturbed one is kept)
  --budget           print the budget and exit`;

function number(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!(Number.isFinite(n) && n >= min && n <= max)) throw new Error(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function options(): Options {
  const q = args.quick;
  const v = list('variants', args.variants, q ? ['bare', 'nodeflight'] : Object.keys(variants), variants);
  // Every ratio is to bare in the same round, so bare always runs.
  if (!v.includes('bare')) v.unshift('bare');
  return {
    rounds: Math.round(number('rounds', args.rounds, q ? 1 : 8, 1, 50)),
    durationS: number('duration', args.duration, q ? 1 : 3, 0.2, 120),
    warmupS: number('warmup', args.warmup, q ? 0.5 : 3, 0.1, 60),
    services: list('services', args.services, q ? ['hello'] : Object.keys(services), services),
    variants: v,
    connections: Math.round(number('connections', args.connections, 32, 1, 256)),
    pipelining: Math.round(number('pipelining', args.pipelining, 2, 1, 16)),
    fixedLoad: number('fixed-load', args['fixed-load'], 0.4, 0.05, 1),
    check: args.check,
    out: args.out ?? null,
    pin: !args['no-pin'],
    maxForeign: number('max-foreign', args['max-foreign'], 0.15, 0, 1),
    attempts: Math.round(number('attempts', args.attempts, q ? 1 : 4, 1, 20)),
  };
}

/** `list` rotated left by `by`: round r starts with a different variant. */
function rotate<T>(list: T[], by: number): T[] {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Longer than the agent's default flush interval (250 ms). */
const SETTLE_MS = 400;

/** Retries `probe` until it stops throwing, for at most `ms`; then throws its last error. */
async function eventually(ms: number, probe: () => Promise<void> | void): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

class Bench {
  private loadgen!: Child;
  private collector: Child | null = null;
  private collectorUrl = '';
  private taskset: string | null = null;

  constructor(private readonly o: Options) {}

  async start(): Promise<void> {
    this.taskset = this.o.pin ? tasksetPath() : null;
    pinSelf(this.taskset);
    this.loadgen = new Child('load generator', [distBench('loadgen.js')], { core: CLIENT_CORE, taskset: this.taskset, env: cleanEnv() });
    await this.loadgen.ready();
    if (this.o.variants.some((v) => variants[v]!.needsCollector)) {
      this.collector = new Child('collector', [benchSource('services/collector.mjs')], { core: CLIENT_CORE, taskset: this.taskset, env: cleanEnv() });
      this.collectorUrl = (await this.collector.ready()).url as string;
    }
  }

  get pinned(): boolean {
    return this.taskset !== null;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.loadgen?.stop(), this.collector?.stop()]);
  }

  private async load(origin: string, paths: string[], seconds: number, rate?: number): Promise<RunResult> {
    const msg: Omit<RunRequest, 'id'> = { type: 'run', origin, paths, connections: this.o.connections, pipelining: this.o.pipelining, durationMs: seconds * 1000, rate };
    const r = await this.loadgen.request<RunResult>(msg, seconds * 1000 + 30_000);
    if (r.errors > 0 || r.non2xx > 0 || r.requests === 0) {
      throw new Error(`load against ${origin}: ${r.requests} responses, ${r.errors} errors, ${r.non2xx} non-2xx${r.firstError ? ` (first error: ${r.firstError})` : ''}`);
    }
    return r;
  }

  /** The agent's own row in the collector, once the collector has received its events. */
  private async collectorRow(pid: number): Promise<Record<string, unknown>> {
    const res = await request(`${this.collectorUrl}/v1/agents`);
    const body = (await res.body.json()) as { agents?: Array<Record<string, unknown>> };
    const row = body.agents?.find((a) => a.pid === pid);
    if (row === undefined) throw new Error(`the collector at ${this.collectorUrl} lists no agent with pid ${pid}: ${JSON.stringify(body).slice(0, 500)}`);
    if (!((row.received as number) > 0)) throw new Error(`the collector received no event from pid ${pid}: ${JSON.stringify(row).slice(0, 500)}`);
    return row;
  }

  /** The collector's CPU time so far (0 when there is none). */
  private async collectorCpu(): Promise<number> {
    return this.collector === null ? 0 : (await this.collector.request<{ cpuUs: number }>({ type: 'stats' }, 10_000)).cpuUs;
  }

  /**
   * The open-loop rate for a service: `fixedLoad` of what a bare process serves closed
   * loop, measured once before the rounds so that every variant and round gets the same.
   */
  async calibrate(service: string): Promise<number> {
    const r = await this.startVariant(service, 'bare');
    try {
      await this.load(r.origin, services[service]!.paths, this.o.warmupS);
      const run = await this.load(r.origin, services[service]!.paths, this.o.durationS);
      return Math.round((run.requests / run.elapsedMs) * 1000 * this.o.fixedLoad);
    } finally {
      await r.child.stop();
    }
  }

  /**
   * One timed window, with the instrumentation checked again after it: closed loop (how
   * much the service can do), then open loop at `rate` (what a request costs, and its
   * latency, at a load the service keeps up with). At saturation the per-request CPU of
   * server and client move together with how many requests each wake-up finds (their
   * correlation over a run's rounds was 0.64-0.89), so a variant that is a little slower
   * is charged again through worse batching; at a fixed rate every variant sees the
   * same arrivals.
   */
  private async window(round: number, service: string, variant: string, child: Child, origin: string, stats: () => Promise<Stats>, rate: number): Promise<Sample> {
    const v = variants[variant]!;
    const paths = services[service]!.paths;
    const cores0 = readCoreTimes();
    const col0 = await this.collectorCpu();
    const before = await stats();
    const run = await this.load(origin, paths, this.o.durationS);
    // The agent flushes what the window recorded on its next timer tick: wait for it, so
    // that the window pays for its own events and the next variant's window does not.
    await sleep(SETTLE_MS);
    const after = await stats();
    const col1 = await this.collectorCpu();
    const cores1 = readCoreTimes();
    checkInstrumentation(variant, before.inst, after.inst, run.requests);
    const fixed = await this.load(origin, paths, this.o.durationS, rate);
    await sleep(SETTLE_MS);
    const afterFixed = await stats();
    checkInstrumentation(variant, after.inst, afterFixed.inst, fixed.requests);
    const fixedCpuUs = afterFixed.cpuUs - after.cpuUs;
    const cpuUs = after.cpuUs - before.cpuUs;
    const wallUs = after.wallUs - before.wallUs;
    const busy = cpuUs / wallUs;
    const busyLoaded = cpuUs / (run.elapsedMs * 1000);
    // What kept the pinned cores busy besides our own processes (NaN when not pinned).
    let foreignServer = NaN;
    let foreignClient = NaN;
    if (this.taskset !== null && cores0 !== null && cores1 !== null) {
      foreignServer = Math.max(0, coreBusy(cores0, cores1, SERVER_CORE) - busy);
      foreignClient = Math.max(0, coreBusy(cores0, cores1, CLIENT_CORE) - (run.cpuUs + col1 - col0) / wallUs);
    }
    const counters: Record<string, unknown> = { ...after.inst };
    if (v.needsCollector) counters.collector = await this.collectorRow(child.pid).then((r) => ({ received: r.received, counters: r.counters }));
    return {
      round, service, variant, requests: run.requests,
      rps: (run.requests / run.elapsedMs) * 1000,
      p50Ms: run.p50Ms, p99Ms: run.p99Ms,
      cpuUsPerReq: cpuUs / run.requests,
      rate,
      rateCpuUsPerReq: fixedCpuUs / fixed.requests,
      rateP50Ms: fixed.p50Ms,
      rateP99Ms: fixed.p99Ms,
      rateBusy: fixedCpuUs / (fixed.elapsedMs * 1000),
      rateUnsent: fixed.unsent,
      rssMB: after.rss / 1e6,
      youngMB: after.newSpace / 1e6,
      rssOutsideYoungMB: (after.rss - after.newSpace) / 1e6,
      heapMB: after.heapUsed / 1e6,
      arrayBuffersMB: after.arrayBuffers / 1e6,
      busy: busyLoaded,
      clientCpuUsPerReq: run.cpuUs / run.requests,
      collectorCpuUsPerReq: (col1 - col0) / run.requests,
      foreignServer, foreignClient,
      foreign: Math.max(foreignServer, foreignClient),
      attempts: 1,
      counters,
    };
  }

  /** Starts one variant of a service, warms it up and checks its instrumentation is live. */
  async startVariant(service: string, variant: string): Promise<Running> {
    const svc = services[service]!;
    const v = variants[variant]!;
    const env = cleanEnv({ NODEFLIGHT_SERVICE: `bench-${service}`, BENCH_ROUTE: service === 'hello' ? '/' : '/api/products/:id', ...v.env });
    if (v.needsCollector) env.NODEFLIGHT_COLLECTOR = this.collectorUrl;
    const child = new Child(`${service} (${variant})`, [...v.execArgv, benchSource(`services/${svc.script}`)], { core: SERVER_CORE, taskset: this.taskset, env });
    const stats = () => child.request<Stats>({ type: 'stats' }, 10_000);
    const origin = `http://127.0.0.1:${(await child.ready()).port as number}`;
    return { service, variant, child, origin, stats };
  }

  /** Warm-up load, then the wiring check: a variant whose instrumentation is not counting fails the run. */
  async warm(r: Running): Promise<void> {
    const v = variants[r.variant]!;
    const warm = await this.load(r.origin, services[r.service]!.paths, this.o.warmupS);
    await eventually(v.kind === 'otel' ? 8000 : 2000, async () => checkInstrumentation(r.variant, null, (await r.stats()).inst, warm.requests));
    if (v.needsCollector) await eventually(10_000, () => this.collectorRow(r.child.pid).then(() => undefined));
  }

  /** Timed windows: one, or more while other processes disturbed a pinned core; keeps the least disturbed. */
  async measure(round: number, r: Running, rate: number): Promise<Sample> {
    let best: Sample | null = null;
    let made = 0;
    while (made < this.o.attempts) {
      const s = await this.window(round, r.service, r.variant, r.child, r.origin, r.stats, rate);
      made++;
      if (best === null || s.foreign < best.foreign) best = s;
      if (!(s.foreign > this.o.maxForeign)) break;
      if (made < this.o.attempts) console.log(`  (${r.service} ${r.variant}: other processes used ${Math.round(s.foreign * 100)}% of a pinned core; measuring again)`);
    }
    return { ...best!, attempts: made };
  }
}

interface Running {
  service: string;
  variant: string;
  child: Child;
  origin: string;
  stats: () => Promise<Stats>;
}

/** The open-loop rate of each service in the run. */
function rates(record: RunRecord): string {
  const bySvc = new Map(record.samples.map((s) => [s.service, s.rate]));
  return [...bySvc].map(([svc, rate]) => `${svc} ${num(rate, 0)} req/s`).join(', ');
}

function render(record: RunRecord, resultsPath: string, mdPath: string): string {
  const o = record.options;
  const lines = [
    '## Macro benchmark (`npm run bench`)',
    '',
    `Run ${record.startedAt.slice(0, 16).replace('T', ' ')} UTC with \`${record.command}\`; raw figures: [${relative(join(mdPath, '..'), resultsPath)}](${relative(join(mdPath, '..'), resultsPath)}).`,
    '',
    `- Machine: ${machineLine(record.machine)}.`,
    `- Packages: ${versionsLine(record.packages)}.`,
    `- Load: undici from a separate process, ${o.connections} keep-alive connections × ${o.pipelining} pipelined, 127.0.0.1. Per service, ${o.rounds} rounds; each round starts a fresh process per variant in a rotated order, warms each up for ${o.warmupS} s and checks it live, then times each variant back to back (the processes not under load sit idle): one ${o.durationS} s closed-loop window (as many requests as the service can take), then one ${o.durationS} s open-loop window at a fixed rate, ${o.fixedLoad} of what a bare process served closed loop in a calibration before the rounds (${rates(record)}), latency counted from when each request fell due.`,
    `- Pinning: ${record.pinned ? 'each service on core 1 (`taskset -c 1`); load generator, collector and harness on core 0' : 'none (no taskset, or --no-pin)'}.`,
    ...(record.pinned ? [`- Disturbance: \`/proc/stat\` tells how busy each pinned core was; what our own processes did not use was other load on the machine. A timed window where that exceeded ${Math.round(o.maxForeign * 100)}% of a core was measured again, up to ${o.attempts} windows, keeping the least disturbed (the raw JSON has \`foreignServer\`, \`foreignClient\` and \`attempts\` per sample).`] : []),
    '- Cells: median (min–max) over rounds, then **the median of per-round ratios to bare** and the median per-round difference. Server CPU is `process.cpuUsage()` read inside the service over the timed window (read over IPC, so no measurement request is counted), divided by the requests completed; it includes the agent\'s flush timer and, streaming, its encoding and socket writes. At saturation both cores are busy and the per-request CPU of server and client rises and falls together with how many requests each wake-up finds, so a variant that is slightly slower pays again through worse batching; the fixed rate gives every variant the same arrivals, at a load like a production service\'s, and its p99 is free of coordinated omission (closed loop, p50 and p99 are mostly queueing: requests in flight / throughput). RSS is read at the end of the closed-loop window, and again without V8\'s young generation (new space), which V8 doubles once enough bytes have survived scavenges: under load a bare service does it too, seconds later, so raw RSS partly tells when that happened. "Server core busy" is server CPU time / wall time: below ~90% the load generator, not the service, limited throughput.',
    '- Every variant was checked live before its timed window (agent counters, collector `received`, spans exported, histogram count) and again after it.',
    '',
  ];
  for (const service of o.services) {
    lines.push(`### ${service}: ${services[service]!.describe}`, '', macroTable(record.summaries, service), '', noiseLine(record.summaries, service), '');
  }
  lines.push('Variants: ' + o.variants.map((v) => `\`${v}\`: ${variants[v]!.describe}`).join('; ') + '.', '');
  lines.push('### Budget (`bench/budget.ts`, `npm run bench -- --check`)', '', verdictTable(record.verdicts), '');
  return lines.join('\n');
}

/** How far bare moved against itself: a difference smaller than this is not resolved by the run. */
function noiseLine(rows: VariantSummary[], service: string): string {
  const bare = rows.find((r) => r.service === service && r.variant === 'bare');
  if (bare === undefined) return '';
  const cpu = bare.figures.cpuUsPerReq;
  const spread = ((cpu.max - cpu.min) / cpu.median) * 100;
  const busy = Math.round(bare.busy.median * 100);
  const warn = bare.busy.median < 0.8 ? ' **The server core was busy less than 80% of the time under full load: other processes shared it, or the load generator limited throughput; ratios from this run are less reliable.**' : '';
  const foreign = Number.isFinite(bare.foreign) ? `; other processes used a median ${Math.round(bare.foreign * 100)}% of a pinned core during bare's windows` : '';
  return `Noise: bare's own server CPU per request spread over ${spread.toFixed(1)}% of its median across rounds (${num(cpu.min, 2)}–${num(cpu.max, 2)} µs); server core busy ${busy}%${foreign}.${warn}`;
}

function printSample(s: Sample, rounds: number): void {
  const f = (v: number, d: number) => v.toFixed(d).padStart(8);
  const foreign = Number.isFinite(s.foreign) ? `  foreign ${Math.round(s.foreignServer * 100)}%/${Math.round(s.foreignClient * 100)}%` : '';
  console.log(`round ${s.round}/${rounds}  ${s.service.padEnd(10)} ${s.variant.padEnd(21)} ${f(s.rps, 0)} req/s  p50 ${f(s.p50Ms, 2)} ms  p99 ${f(s.p99Ms, 2)} ms  ${f(s.cpuUsPerReq, 2)} µs/req  ${f(s.rssMB, 1)} MB (young ${s.youngMB.toFixed(1)})  busy ${Math.round(s.busy * 100)}%  client ${s.clientCpuUsPerReq.toFixed(2)}+${s.collectorCpuUsPerReq.toFixed(2)} µs/req${foreign}\n` +
    `           at ${s.rate} req/s: p50 ${f(s.rateP50Ms, 2)} ms  p99 ${f(s.rateP99Ms, 2)} ms  ${f(s.rateCpuUsPerReq, 2)} µs/req  busy ${Math.round(s.rateBusy * 100)}%${s.rateUnsent > 0 ? `  ${s.rateUnsent} unsent` : ''}`);
}

function finish(record: RunRecord, outDir: string | null): void {
  const mdPath = outDir ? join(outDir, 'BENCHMARKS.md') : join(repoRoot, 'BENCHMARKS.md');
  const resultsDir = outDir ? join(outDir, 'results') : join(repoRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsPath = join(resultsDir, `${record.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(resultsPath, `${JSON.stringify(record, null, 1)}\n`);
  const md = render(record, resultsPath, mdPath);
  updateSection(mdPath, 'bench:macro', md);
  console.log(`\n${md}\nwrote ${mdPath} and ${resultsPath}`);
}

function report(record: RunRecord, check: boolean): void {
  const missed = record.verdicts.filter((v) => !v.ok);
  if (!check) return;
  if (missed.length > 0) {
    console.error(`\nbudget missed (${missed.length} of ${record.verdicts.length} lines):`);
    for (const v of missed) console.error(`  ${v.service} ${v.variant}: ${v.rule}: ${v.value.toFixed(3)} ${v.unit}, limit ${v.limit.toFixed(3)} ${v.unit}`);
    process.exitCode = 1;
  } else {
    console.log(`\nbudget met (${record.verdicts.length} lines)`);
  }
}

async function main(): Promise<void> {
  if (args.help) return void console.log(usage);
  if (args.budget) return void console.log(budgetText());
  if (args.from !== undefined) {
    const record = JSON.parse(readFileSync(args.from, 'utf8')) as RunRecord;
    // Records from before the open-loop window lack its figures: refused, not rendered as empty cells.
    if (!Array.isArray(record.samples) || !record.samples.every((s) => Number.isFinite(s.rateCpuUsPerReq) && Number.isFinite(s.rssOutsideYoungMB))) {
      throw new Error(`${args.from} holds no fixed-rate or young-generation figures (recorded by an older harness, or not a macro run): it cannot be rendered into today's tables`);
    }
    record.summaries = summarize(record.samples);
    record.verdicts = checkBudget(record.summaries);
    const outDir = args.out ?? null;
    const mdPath = outDir ? join(outDir, 'BENCHMARKS.md') : join(repoRoot, 'BENCHMARKS.md');
    updateSection(mdPath, 'bench:macro', render(record, args.from, mdPath));
    console.log(`re-rendered ${args.from} into ${mdPath}`);
    return report(record, args.check);
  }
  const o = options();
  // BENCHMARKS.md holds one full run: a partial one would silently replace its tables.
  const partial = o.services.length < Object.keys(services).length || o.variants.length < Object.keys(variants).length || args.quick;
  if (partial && o.out === null) throw new Error('a partial run (--services, --variants, --quick) writes only where --out DIR says, not over BENCHMARKS.md');
  const startedAt = new Date().toISOString();
  const bench = new Bench(o);
  const samples: Sample[] = [];
  try {
    await bench.start();
    // Every round starts a fresh process per variant, in the round's rotated order, and
    // times their windows back to back: windows of different variants follow each other
    // within seconds, so the machine's drift hits each round's bare and instrumented
    // windows alike. Fresh processes because one process can run 15-25% slower than
    // another of the same binary for its whole life (measured: whichever agent process
    // was started last, streaming or not); with one process per variant for the whole run,
    // that fell on one variant in every round.
    for (const service of o.services) {
      const rate = await bench.calibrate(service);
      console.log(`${service}: open-loop windows at ${rate} req/s (${o.fixedLoad} of bare's closed-loop throughput)`);
      for (let round = 0; round < o.rounds; round++) {
        const running: Running[] = [];
        try {
          for (const variant of rotate(o.variants, round)) running.push(await bench.startVariant(service, variant));
          for (const r of running) await bench.warm(r);
          for (const r of running) {
            const s = await bench.measure(round + 1, r, rate);
            samples.push(s);
            printSample(s, o.rounds);
          }
        } finally {
          await Promise.allSettled(running.map((r) => r.child.stop()));
        }
      }
    }
  } finally {
    await bench.stop();
  }
  const summaries = summarize(samples);
  const record: RunRecord = {
    kind: 'nodeflight-macro-benchmark', version: 1, startedAt, finishedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    options: o, machine: machine(), pinned: bench.pinned, packages: packageVersions(), samples, summaries, verdicts: checkBudget(summaries),
  };
  finish(record, o.out);
  report(record, o.check);
}

process.once('SIGINT', () => { killAll(); process.exit(130); });
process.once('SIGTERM', () => { killAll(); process.exit(143); });
process.once('exit', killAll);

main().catch((err: unknown) => {
  killAll();
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
