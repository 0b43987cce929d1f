// `npm run bench:instructions`: what each kind of instrumentation costs a service, counted
// in instructions, which the machine's load cannot move (the wall clock moves ±10% here).
// Each service row runs under `valgrind --tool=callgrind` with the agent's clock-driven work
// off (valgrind slows it differently from the requests); the load generator (undici,
// keep-alive) runs outside valgrind. After a warm-up the counters are zeroed
// (`callgrind_control -z`), then each window sends N requests and dumps
// (`callgrind_control -d`): the dump's totals divided by N are the window's figures.
// Fresh processes every run, since a whole process can land in another JIT mode.
//
//   npm run bench:instructions -- [--services hello,realistic] [--rows a,b] [--runs 2]
//       [--warmup 2000] [--requests 1500] [--windows 3] [--connections 8]
//       [--no-concurrent-recompilation] [--no-cache-sim] [--keep DIR] [--out DIR]
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { list } from './args.js';
import type { RunResult } from './loadgen.js';
import { benchSource, Child, cleanEnv, distBench, killAll, repoRoot } from './processes.js';
import { machine, machineLine, num, updateSection } from './report.js';
import { checkKind, services, variants, type Instrumentation, type VariantSpec } from './scenarios.js';

const run = promisify(execFile);

/** The rows of the table: the macro benchmark's variants plus the floors under them. */
export const rows: Record<string, VariantSpec> = {
  bare: variants.bare!,
  empty: {
    describe: 'empty subscribers on the two server channels (dc-polyfill), nothing recorded',
    execArgv: ['--import', benchSource('services/empty-subscribers.mjs')], env: {}, needsCollector: false, kind: 'empty',
  },
  naive: {
    describe: 'a naive recorder: both channels, two performance.now(), a symbol on the request, typed-array ring, URL kept',
    execArgv: ['--import', benchSource('services/naive-recorder.mjs')], env: {}, needsCollector: false, kind: 'naive',
  },
  nodeflight: variants.nodeflight!,
  'nodeflight+collector': variants['nodeflight+collector']!,
  'nodeflight+collector-5s': {
    ...variants['nodeflight+collector']!,
    describe: 'the same, flushing every 5 s (NODEFLIGHT_FLUSH_MS=5000): per-batch costs apart from per-event ones',
    env: { NODEFLIGHT_FLUSH_MS: '5000' },
  },
  otel: variants.otel!,
};

/** The agent's timers and GC observer: valgrind slows them differently from the requests. */
const clockOff = { NODEFLIGHT_STALL_MS: '0', NODEFLIGHT_RUNTIME_PERIOD_MS: '0', NODEFLIGHT_GC: '0' };

export interface Options {
  services: string[];
  rows: string[];
  runs: number;
  warmup: number;
  requests: number;
  windows: number;
  connections: number;
  concurrentRecompilation: boolean;
  cacheSim: boolean;
  /** Extra environment for every service process (--env K=V), to bisect by the agent's switches. */
  env: Record<string, string>;
  keep: string | null;
  out: string | null;
  /** Re-render this instructions.json instead of running. */
  from: string | null;
}

/** One window's counts divided by its requests. */
export interface PerRequest {
  instructions: number;
  /** Simulated L1 data misses (reads + writes) and last-level misses (instructions + data); NaN without --cache-sim. */
  d1Misses: number;
  llMisses: number;
}

export interface RowRun {
  service: string;
  row: string;
  run: number;
  windows: PerRequest[];
}

/** Event totals of a callgrind dump (its `summary:` line, named by its `events:` line). */
export function dumpTotals(text: string): Record<string, number> {
  const events = /^events:\s*(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/);
  const values = (/^summary:\s*(.+)$/m.exec(text) ?? /^totals:\s*(.+)$/m.exec(text))?.[1]?.trim().split(/\s+/).map(Number);
  if (events === undefined || values === undefined) throw new Error('not a callgrind dump: no events: or summary: line');
  const out: Record<string, number> = {};
  events.forEach((e, i) => { out[e] = values[i] ?? 0; });
  return out;
}

function perRequest(t: Record<string, number>, n: number): PerRequest {
  const sum = (...names: string[]) => (names.every((k) => k in t) ? names.reduce((s, k) => s + t[k]!, 0) / n : NaN);
  return { instructions: t.Ir! / n, d1Misses: sum('D1mr', 'D1mw'), llMisses: sum('ILmr', 'DLmr', 'DLmw') };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

class Harness {
  private loadgen!: Child;
  private collector: Child | null = null;
  private collectorUrl = '';

  constructor(private readonly o: Options) {}

  async start(): Promise<void> {
    this.loadgen = new Child('load generator', [distBench('loadgen.js')], { core: 0, taskset: null, env: cleanEnv() });
    await this.loadgen.ready();
    if (this.o.rows.some((r) => rows[r]!.needsCollector)) {
      this.collector = new Child('collector', [benchSource('services/collector.mjs')], { core: 0, taskset: null, env: cleanEnv() });
      this.collectorUrl = (await this.collector.ready()).url as string;
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.loadgen?.stop(), this.collector?.stop()]);
  }

  /** Exactly `count` requests, closed loop; anything short of that fails the run. */
  private async load(origin: string, paths: string[], count: number): Promise<void> {
    const durationMs = 120_000;
    const r = await this.loadgen.request<RunResult>(
      { type: 'run', origin, paths, connections: this.o.connections, pipelining: 1, durationMs, count }, durationMs + 30_000,
    );
    if (r.errors > 0 || r.non2xx > 0 || r.requests !== count) {
      throw new Error(`load against ${origin}: ${r.requests} of ${count} responses, ${r.errors} errors, ${r.non2xx} non-2xx${r.firstError ? ` (first error: ${r.firstError})` : ''}`);
    }
  }

  async measure(service: string, rowName: string, runNo: number): Promise<RowRun> {
    const row = rows[rowName]!;
    const paths = services[service]!.paths;
    const dir = this.o.keep === null ? mkdtempSync(join(tmpdir(), 'nodeflight-callgrind-')) : join(this.o.keep, `${service}-${rowName}-${runNo}`);
    mkdirSync(dir, { recursive: true });
    const env = cleanEnv({ NODEFLIGHT_SERVICE: `instructions-${service}`, ...clockOff, ...row.env, ...this.o.env });
    if (row.needsCollector) env.NODEFLIGHT_COLLECTOR = this.collectorUrl;
    const wrap = ['valgrind', '--tool=callgrind', `--cache-sim=${this.o.cacheSim ? 'yes' : 'no'}`, `--callgrind-out-file=${join(dir, 'callgrind.out.%p')}`];
    const nodeFlags = this.o.concurrentRecompilation ? [] : ['--no-concurrent-recompilation'];
    const child = new Child(`${service} (${rowName}) under callgrind`, [...nodeFlags, ...row.execArgv, benchSource(`services/${services[service]!.script}`)], { core: 0, taskset: null, env, wrap });
    try {
      const ready = await child.ready(300_000);
      // The pid the service itself reports: the process callgrind_control must name, whatever launched it.
      const pid = ready.pid as number;
      const origin = `http://127.0.0.1:${ready.port as number}`;
      const stats = async () => (await child.request<{ inst: Instrumentation }>({ type: 'stats' }, 60_000)).inst;
      await this.load(origin, paths, this.o.warmup);
      const before = await stats();
      await run('callgrind_control', ['-z', String(pid)]);
      const windows: PerRequest[] = [];
      for (let w = 1; w <= this.o.windows; w++) {
        await this.load(origin, paths, this.o.requests);
        await run('callgrind_control', ['-d', String(pid)]);
        windows.push(perRequest(dumpTotals(readFileSync(join(dir, `callgrind.out.${pid}.${w}`), 'utf8')), this.o.requests));
      }
      await this.checkLive(rowName, row, before, stats, this.o.windows * this.o.requests);
      return { service, row: rowName, run: runNo, windows };
    } finally {
      await child.stop();
      if (this.o.keep === null) rmSync(dir, { recursive: true, force: true });
    }
  }

  /** The row's instrumentation counted the windows' requests (OpenTelemetry exports on a timer: waited for). */
  private async checkLive(name: string, row: VariantSpec, before: Instrumentation, stats: () => Promise<Instrumentation>, served: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const after = await stats();
      try {
        checkKind(row.kind, `row ${name}`, before, after, served);
        if (row.needsCollector && !(after.nodeflight!.sent > before.nodeflight!.sent)) {
          throw new Error(`row ${name}: the agent sent nothing to the collector (counters ${JSON.stringify(after.nodeflight)})`);
        }
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

/** A run's figure: its last window, the one furthest from the warm-up (the JIT still settles in the first ones). */
const steady = (r: RowRun): PerRequest => r.windows[r.windows.length - 1]!;

function cellOf(runs: RowRun[], pick: (w: PerRequest) => number, digits: number): string {
  const perRun = runs.map((r) => pick(steady(r)));
  if (perRun.every((v) => !Number.isFinite(v))) return '–';
  return perRun.map((v) => num(v, digits)).join(' · ');
}

/** Per service: every run's last window, all windows' spread, and the median run's distance from bare's. */
export function render(results: RowRun[], o: Options): string {
  const lines: string[] = [];
  for (const service of o.services) {
    const of = (row: string) => results.filter((r) => r.service === service && r.row === row);
    const runMedian = (row: string) => median(of(row).map((r) => steady(r).instructions));
    const bare = of('bare').length > 0 ? runMedian('bare') : NaN;
    lines.push(
      `### ${service}: ${services[service]!.describe}`, '',
      '| row | instructions / request, each run (its last window) | all windows min–max | over bare (median run) | D1 misses / request | LL misses / request |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const row of o.rows) {
      const runs = of(row);
      if (runs.length === 0) continue;
      const all = runs.flatMap((r) => r.windows.map((w) => w.instructions));
      const over = row === 'bare' || Number.isNaN(bare) ? '–' : `${runMedian(row) >= bare ? '+' : ''}${num(runMedian(row) - bare, 0)}`;
      lines.push(`| ${row} | ${cellOf(runs, (w) => w.instructions, 0)} | ${num(Math.min(...all), 0)}–${num(Math.max(...all), 0)} | ${over} | ${cellOf(runs, (w) => w.d1Misses, 0)} | ${cellOf(runs, (w) => w.llMisses, 1)} |`);
    }
    lines.push('');
  }
  lines.push('Rows: ' + o.rows.map((r) => `\`${r}\`: ${rows[r]!.describe}`).join('; ') + '.');
  return lines.join('\n');
}

const usage = `usage: npm run bench:instructions -- [options]
  --services a,b     of ${Object.keys(services).join(', ')} (default hello,realistic)
  --rows a,b         of ${Object.keys(rows).join(', ')} (default all)
  --runs N           fresh processes per row (default 2)
  --warmup N         requests before the counters are zeroed (default 2000)
  --requests N       requests per window (default 1500)
  --windows N        windows per process (default 3)
  --connections N    keep-alive connections, one request in flight each (default 8)
  --no-concurrent-recompilation
                     pass it to node: V8 tiers up synchronously
  --no-cache-sim     count instructions only (faster; no D1/LL misses)
  --env NAME=VALUE   set it in every service process (repeatable), e.g. NODEFLIGHT_HTTP_CLIENT=0
                     or NODE_OPTIONS=--perf-basic-prof to name JIT code in the dumps
  --keep DIR         keep the callgrind dumps there (for callgrind_annotate)
  --out DIR          write DIR/BENCHMARKS.md and DIR/instructions.json; a run with no
                     option at all rewrites the repository's BENCHMARKS.md section, any
                     other run only prints
  --from FILE        print (and with --out write) the tables of a saved instructions.json`;

function positive(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!(Number.isInteger(n) && n >= 1 && n <= max)) throw new Error(`--${name} must be a whole number from 1 to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function envPairs(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--env wants NAME=VALUE, not ${JSON.stringify(pair)}`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

export function parseOptions(argv: string[]): Options | null {
  const { values: a } = parseArgs({
    args: argv,
    options: {
      services: { type: 'string' }, rows: { type: 'string' }, runs: { type: 'string' }, warmup: { type: 'string' },
      requests: { type: 'string' }, windows: { type: 'string' }, connections: { type: 'string' },
      'no-concurrent-recompilation': { type: 'boolean', default: false }, 'no-cache-sim': { type: 'boolean', default: false },
      env: { type: 'string', multiple: true },
      keep: { type: 'string' }, out: { type: 'string' }, from: { type: 'string' }, help: { type: 'boolean', default: false },
    },
  });
  if (a.help) return null;
  return {
    services: list('services', a.services, ['hello', 'realistic'], services),
    rows: list('rows', a.rows, Object.keys(rows), rows),
    runs: positive('runs', a.runs, 2, 50),
    warmup: positive('warmup', a.warmup, 2000, 100_000),
    requests: positive('requests', a.requests, 1500, 100_000),
    windows: positive('windows', a.windows, 3, 50),
    connections: positive('connections', a.connections, 8, 256),
    concurrentRecompilation: !a['no-concurrent-recompilation'],
    cacheSim: !a['no-cache-sim'],
    env: envPairs(a.env ?? []),
    keep: a.keep ?? null,
    out: a.out ?? null,
    from: a.from ?? null,
  };
}

/** The section of BENCHMARKS.md for a run. */
function section(results: RowRun[], o: Options, startedAt: string, command: string, where: string): string {
  return [
    '## Instructions per request (`npm run bench:instructions`)', '',
    `Run ${startedAt.slice(0, 16).replace('T', ' ')} UTC with \`${command}\`: ${where}.`,
    `Each row ${o.runs} fresh process(es) under \`valgrind --tool=callgrind${o.cacheSim ? ' --cache-sim=yes' : ''}\`${o.concurrentRecompilation ? '' : ' with `--no-concurrent-recompilation`'},`,
    `${o.warmup} warm-up requests, then ${o.windows} windows of ${o.requests} from ${o.connections} keep-alive connections`,
    `(undici, outside valgrind); the agent's clock-driven work off (${Object.entries(clockOff).map(([k, v]) => `${k}=${v}`).join(' ')}).`,
    'Counts include every thread of the process (GC helpers, the compiler thread).', '',
    render(results, o),
  ].join('\n');
}

interface Saved { options: Options; results: RowRun[]; startedAt: string; command: string; machine: string }

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o === null) return void console.log(usage);
  let saved: Saved;
  if (o.from !== null) {
    saved = JSON.parse(readFileSync(o.from, 'utf8')) as Saved;
  } else {
    const startedAt = new Date().toISOString();
    const harness = new Harness(o);
    const results: RowRun[] = [];
    try {
      await harness.start();
      for (const service of o.services) {
        for (let r = 1; r <= o.runs; r++) {
          for (const row of o.rows) {
            const t0 = Date.now();
            const res = await harness.measure(service, row, r);
            results.push(res);
            const windows = res.windows.map((w) => `${num(w.instructions, 0)} Ir${o.cacheSim ? ` (D1 ${num(w.d1Misses, 0)}, LL ${num(w.llMisses, 1)})` : ''}`);
            console.log(`${service.padEnd(10)} ${row.padEnd(24)} run ${r}: ${windows.join('  ')} per request (${Math.round((Date.now() - t0) / 1000)} s)`);
          }
        }
      }
    } finally {
      await harness.stop();
    }
    const command = `npm run bench:instructions${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
    saved = { options: o, results, startedAt, command, machine: machineLine(machine()) };
  }
  const md = section(saved.results, saved.options, saved.startedAt, saved.command, saved.machine);
  console.log(`\n${md}`);
  const target = o.out !== null ? join(o.out, 'BENCHMARKS.md') : process.argv.length === 2 ? join(repoRoot, 'BENCHMARKS.md') : null;
  if (target !== null) {
    mkdirSync(join(target, '..'), { recursive: true });
    updateSection(target, 'bench:instructions', md);
    if (o.from === null) writeFileSync(join(target, '..', 'instructions.json'), `${JSON.stringify(saved, null, 1)}\n`);
    console.log(`wrote ${target}`);
  }
}

process.once('SIGINT', () => { killAll(); process.exit(130); });
process.once('SIGTERM', () => { killAll(); process.exit(143); });
process.once('exit', killAll);

main().catch((err: unknown) => {
  killAll();
  console.error(`bench:instructions: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
