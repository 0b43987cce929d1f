// `npm run bench:micro`: the microbenchmarks, each case in a fresh process pinned to
// core 1 (see micro/timing.ts for warm-up and rounds). Prints a table, checks the
// targets in budget.ts, writes the raw results and the "Microbenchmarks" section of
// BENCHMARKS.md.
//
//   npm run bench:micro -- [--rounds 30] [--warmup 20] [--scale 1] [--cases substr]
//                          [--quick] [--check] [--out DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { microBudget } from './budget.js';
import { runCaseProcess } from './micro/case-process.js';
import type { Result } from './micro/timing.js';
import { pinSelf, repoRoot, tasksetPath } from './processes.js';
import { machine, machineLine, num, packageVersions, updateSection, versionsLine } from './report.js';

interface CaseSpec { file: string; name: string; what: string }

const caseList: CaseSpec[] = [
  { file: 'agent-path.js', name: 'clock', what: '(a) floor: two performance.now() reads' },
  { file: 'agent-path.js', name: 'empty-subscriber', what: '(a) floor: start + finish published to a subscriber that does nothing' },
  { file: 'agent-path.js', name: 'agent-default', what: '(a) agent per request, default settings' },
  { file: 'agent-path.js', name: 'agent-path-filter', what: '(a) agent per request, path filter (query cut off, 3 in 4 match)' },
  { file: 'agent-path.js', name: 'agent-express-route', what: '(a) agent per request, Express route naming (req.baseUrl + req.route.path)' },
  { file: 'agent-path.js', name: 'agent-stall-watch-off', what: '(a) agent per request, stall threshold 10 s, no watchdog (the floor of the next case)' },
  { file: 'agent-path.js', name: 'agent-stall-stacks', what: '(a) agent per request, stall threshold 10 s, NODEFLIGHT_STALL_STACKS=1: the watchdog thread on, no stall' },
  { file: 'agent-path.js', name: 'node-objects', what: '(a) floor of the next case: a new IncomingMessage and ServerResponse per request, empty subscriber' },
  { file: 'agent-path.js', name: 'agent-node-objects', what: '(a) agent per request, default settings, on new IncomingMessage and ServerResponse objects (less the case above: the agent\'s share)' },
  { file: 'encode.js', name: 'encode-pack', what: '(b) BlockEncoder.encode and msgpack pack, per event' },
  { file: 'encode.js', name: 'send', what: '(b) the agent\'s WebSocket client sending the packed frames to a local sink, CPU until written (diagnostic)' },
  { file: 'encode.js', name: 'flush', what: '(b) the agent\'s flush() streaming to a live collector process: encode, pack, copy into the transport\'s queue, socket write, until acknowledged; CPU of the process' },
  { file: 'ingest.js', name: 'ingest', what: '(c) collector ingest: decode + validate + aggregate' },
  { file: 'routes-api.js', name: 'routes-api', what: '(d) GET /v1/routes, 1,000 routes, every one recorded since the last GET' },
  { file: 'metrics-scrape.js', name: 'metrics-scrape', what: '(e) GET /metrics, 100, 1,000 and 2,000 routes, every one recorded since the last GET: the scrape, and the longest event-loop block during it' },
  { file: 'path-filter.js', name: 'filter /api/.*', what: '(f) path filter alone, 30-character paths (a third match)' },
  { file: 'path-filter.js', name: 'filter /(users|orders)/[0-9]+', what: '(f) path filter alone, 30-character paths (a third match)' },
  { file: 'path-filter.js', name: 'v8 RegExp /api/.*', what: '(f) peer: V8\'s backtracking RegExp, same paths' },
  { file: 'path-filter.js', name: 'v8 RegExp /(users|orders)/[0-9]+', what: '(f) peer: V8\'s backtracking RegExp, same paths' },
  { file: 'path-filter.js', name: 'filter long list, 2,048-char path', what: '(f) a 1,003-character list of endpoints with wildcards (complete DFA), 2,048-character paths read to the end' },
  { file: 'path-filter.js', name: 'filter worst lazy, 2,048-char path', what: '(f) the worst accepted filter whose DFA is built lazily (`[ab]*a[ab]{28}`), random a/b paths: a cache miss per character' },
  { file: 'path-filter.js', name: 'filter compile, worst', what: '(f) compilePathFilter of `(.?){2000}`, refused after the whole exploration budget: the most setting a filter costs' },
];

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string' }, warmup: { type: 'string' }, scale: { type: 'string' }, cases: { type: 'string' },
    quick: { type: 'boolean', default: false }, check: { type: 'boolean', default: false }, out: { type: 'string' },
    'no-pin': { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
  },
});

function positive(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!(n > 0 && n <= max)) throw new Error(`--${name} must be a number above 0 and at most ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

interface Target { label: string; value: number; limit: number; unit: string; ok: boolean }

const median = (r: Result | undefined): number | undefined => r?.medianNs;

function targets(results: Result[]): Target[] {
  const by = (name: string) => results.find((r) => r.case === name);
  const out: Target[] = [];
  for (const c of ['agent-default', 'agent-path-filter', 'agent-express-route']) {
    const v = median(by(c));
    if (v !== undefined) out.push({ label: `agent per request (${c})`, value: v, limit: microBudget.agentRequestNsMax, unit: 'ns', ok: v <= microBudget.agentRequestNsMax });
  }
  const flush = median(by('flush'));
  if (flush !== undefined) out.push({ label: 'encode + send: the agent\'s flush to a live collector (CPU of the process)', value: flush, limit: microBudget.encodeSendNsMax, unit: 'ns/event', ok: flush <= microBudget.encodeSendNsMax });
  const ingest = median(by('ingest'));
  if (ingest !== undefined) {
    const v = 1e9 / ingest;
    out.push({ label: 'collector ingest, one core', value: v, limit: microBudget.ingestEventsPerSecMin, unit: 'events/s', ok: v >= microBudget.ingestEventsPerSecMin });
  }
  for (const c of ['filter /api/.*', 'filter /(users|orders)/[0-9]+']) {
    const v = median(by(c));
    if (v !== undefined) out.push({ label: `path filter, 30-character path (${c.slice(7)})`, value: v, limit: microBudget.filterTypicalNsMax, unit: 'ns', ok: v <= microBudget.filterTypicalNsMax });
  }
  for (const c of ['filter long list, 2,048-char path', 'filter worst lazy, 2,048-char path']) {
    const v = median(by(c));
    if (v !== undefined) out.push({ label: `path filter, 2,048-character path (${c.slice(7, -17)})`, value: v / 1e6, limit: microBudget.filterWorstMsMax, unit: 'ms', ok: v / 1e6 <= microBudget.filterWorstMsMax });
  }
  const routes = median(by('GET /v1/routes'));
  if (routes !== undefined) out.push({ label: 'GET /v1/routes, 1,000 routes', value: routes / 1e6, limit: microBudget.routesApiMsMax, unit: 'ms', ok: routes / 1e6 < microBudget.routesApiMsMax });
  for (const f of ['text', 'openmetrics', 'protobuf']) {
    const block = by(`GET /metrics (${f}): longest block`)?.maxNs;
    if (block !== undefined) out.push({ label: `GET /metrics (${f}), 1,000 routes: longest event-loop block, CPU (worst round)`, value: block / 1e6, limit: microBudget.metricsBlockMsMax, unit: 'ms', ok: block / 1e6 < microBudget.metricsBlockMsMax });
  }
  return out;
}

/** A figure in the unit it reads best in. */
function show(r: Result, ns: number): string {
  if (r.per === 'GET' || r.per === 'compile') return `${num(ns / 1e6, 1)} ms`;
  if (ns >= 100_000) return `${num(ns / 1e3, 0)} µs`;
  if (r.case === 'ingest') return `${num(ns, 1)} ns (${num(1e9 / ns / 1e6, 1)} M events/s)`;
  return `${num(ns, 1)} ns`;
}

/** A Markdown table cell: case names such as `/(users|orders)/` hold pipes. */
const escapePipes = (s: string): string => s.replace(/\|/g, '\\|');

function table(results: Result[], what: Map<string, string>): string {
  const lines = ['| case | per | median | min | rounds | what |', '| --- | --- | --- | --- | --- | --- |'];
  for (const r of results) lines.push(`| ${escapePipes(r.case)} | ${r.per} | ${show(r, r.medianNs)} | ${show(r, r.minNs)} | ${r.rounds} | ${escapePipes(what.get(r.case) ?? '')} |`);
  return lines.join('\n');
}

function targetTable(ts: Target[]): string {
  const fmt = (v: number, unit: string) => (unit === 'events/s' ? `${num(v / 1e6, 1)} M events/s` : `${num(v, v < 0.1 ? 3 : 1)} ${unit}`);
  const lines = ['| target | measured (median) | limit | |', '| --- | --- | --- | --- |'];
  for (const t of ts) lines.push(`| ${escapePipes(t.label)} | ${fmt(t.value, t.unit)} | ${t.unit === 'events/s' ? '≥' : t.unit === 'ms' ? '<' : '≤'} ${fmt(t.limit, t.unit)} | ${t.ok ? 'met' : '**missed**'} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (args.help) {
    console.log('usage: npm run bench:micro -- [--rounds 30] [--warmup 20] [--scale 1] [--cases substr,...] [--quick] [--check] [--out DIR] [--no-pin]');
    return;
  }
  const q = args.quick;
  const rounds = Math.round(positive('rounds', args.rounds, q ? 3 : 30, 1000));
  const warmup = Math.round(positive('warmup', args.warmup, q ? 2 : 20, 1000));
  const scale = positive('scale', args.scale, q ? 0.02 : 1, 10);
  const filters = args.cases?.split(',').map((s) => s.trim()).filter(Boolean);
  const selected = caseList.filter((c) => !filters || filters.some((f) => c.name.includes(f)));
  if (selected.length === 0) throw new Error(`--cases ${args.cases} selects nothing; cases: ${caseList.map((c) => c.name).join(', ')}`);
  // BENCHMARKS.md holds one full run: a partial one would silently replace its table.
  if ((selected.length < caseList.length || q) && args.out === undefined) throw new Error('a partial run (--cases, --quick) writes only where --out DIR says, not over BENCHMARKS.md');
  const taskset = args['no-pin'] ? null : tasksetPath();
  pinSelf(taskset);
  const startedAt = new Date().toISOString();
  const results: Result[] = [];
  const what = new Map<string, string>();
  for (const spec of selected) {
    const rs = await runCaseProcess(`micro/${spec.file}`, spec.name, ['--rounds', String(rounds), '--warmup', String(warmup), '--scale', String(scale)], taskset);
    for (const r of rs) {
      what.set(r.case, r.case === spec.name || rs.length === 1 ? spec.what : spec.what.replace(/^(\(\w\)).*/, `$1 part of ${spec.name}`));
      results.push(r);
      console.log(`${r.case.padEnd(28)} ${show(r, r.medianNs).padStart(30)} median  ${show(r, r.minNs).padStart(30)} min  per ${r.per}`);
    }
  }
  const ts = targets(results);
  const m = machine();
  const record = { kind: 'nodeflight-micro-benchmark', version: 1, startedAt, command: `npm run bench:micro${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`, options: { rounds, warmup, scale, cases: selected.map((c) => c.name) }, machine: m, pinned: taskset !== null, packages: packageVersions(), results, targets: ts };
  const outDir = args.out ?? null;
  const mdPath = outDir ? join(outDir, 'BENCHMARKS.md') : join(repoRoot, 'BENCHMARKS.md');
  const resultsDir = outDir ? join(outDir, 'results') : join(repoRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const resultsPath = join(resultsDir, `micro-${startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(resultsPath, `${JSON.stringify(record, null, 1)}\n`);
  const rel = relative(join(mdPath, '..'), resultsPath);
  const md = [
    '## Microbenchmarks (`npm run bench:micro`)',
    '',
    `Run ${startedAt.slice(0, 16).replace('T', ' ')} UTC with \`${record.command}\`; raw figures: [${rel}](${rel}).`,
    '',
    `- Machine: ${machineLine(m)}. Packages: ${versionsLine(record.packages)}.`,
    `- Each case runs in a fresh process${taskset ? ' pinned to core 1' : ''}: ${warmup} warm-up rounds thrown away, then ${rounds} timed rounds (fewer for slow HTTP queries); median and min over rounds. Per-request cases publish 320,000 requests per round on the real \`http.server.request.start\` / \`http.server.response.finish\` channels, 32 in flight; encode, send and ingest cases process a 65,536-event ring (8 blocks of 8,192) per round.`,
    '',
    table(results, what),
    '',
    '### Targets (`bench/budget.ts`, `npm run bench:micro -- --check`)',
    '',
    targetTable(ts),
    '',
  ].join('\n');
  updateSection(mdPath, 'bench:micro', md);
  console.log(`\n${targetTable(ts)}\n\nwrote ${mdPath} and ${resultsPath}`);
  const missed = ts.filter((t) => !t.ok);
  if (args.check && missed.length > 0) {
    console.error(`\ntargets missed: ${missed.map((t) => t.label).join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(`bench:micro: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
