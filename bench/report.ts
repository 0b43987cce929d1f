// What a run writes: the machine and versions it ran on, Markdown tables, and the
// sections of BENCHMARKS.md each harness owns (between its own marker comments, so
// that `bench` and `bench:micro` update their part and leave the rest alone).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './processes.js';
import type { Verdict } from './budget.js';
import type { MetricSummary, VariantSummary } from './stats.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGB: number;
  os: string;
  node: string;
  commit: string;
}

export function machine(): Machine {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // Not a git checkout (an installed package): the versions below still say what ran.
  }
  const c = cpus();
  return { cpu: c[0]?.model.trim() ?? 'unknown', cores: c.length, memoryGB: Math.round(totalmem() / 2 ** 30), os: `${process.platform} ${release()}`, node: process.version, commit };
}

export const measuredPackages = [
  'undici', 'express', 'prom-client', 'msgpackr', 'hdr-histogram-js', 'ws', 'dc-polyfill',
  '@opentelemetry/api', '@opentelemetry/sdk-trace-node', '@opentelemetry/sdk-trace-base',
  '@opentelemetry/instrumentation', '@opentelemetry/instrumentation-http',
];

export function packageVersions(names = measuredPackages): Record<string, string> {
  const out: Record<string, string> = {};
  const own = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  out[own.name] = own.version;
  for (const name of names) {
    try {
      out[name] = (JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      out[name] = 'not installed';
    }
  }
  return out;
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, ${m.os}; Node ${m.node}; commit ${m.commit}`;
}

export function versionsLine(v: Record<string, string>): string {
  return Object.entries(v).map(([k, ver]) => `${k} ${ver}`).join(', ');
}

/** Thousands separators for counts, fixed decimals otherwise. */
export function num(v: number, digits: number): string {
  if (!Number.isFinite(v)) return String(v);
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(m: MetricSummary, digits: number, opts: { ratio?: boolean; added?: string } = {}): string {
  let s = `${num(m.median, digits)} (${num(m.min, digits)}–${num(m.max, digits)})`;
  if (opts.ratio && m.ratio) s += ` · **${m.ratio.median.toFixed(3)}×**`;
  if (opts.added && m.added) s += ` · ${m.added.median >= 0 ? '+' : ''}${num(m.added.median, digits)} ${opts.added}`;
  return s;
}

export function macroTable(rows: VariantSummary[], service: string): string {
  const lines = [
    '| variant | req/s | client p50 ms | client p99 ms | server CPU µs/req | at the fixed rate: server CPU µs/req | p50 ms | p99 ms | RSS MB | outside the young generation | server core busy |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows.filter((x) => x.service === service)) {
    const bare = r.variant === 'bare';
    const f = r.figures;
    lines.push(`| ${r.variant} | ${cell(f.rps, 0, { ratio: !bare })} | ${cell(f.p50Ms, 2, { ratio: !bare })} | ${cell(f.p99Ms, 2, { ratio: !bare })} | ${cell(f.cpuUsPerReq, 2, { ratio: !bare, added: bare ? undefined : 'µs' })} | ${cell(f.rateCpuUsPerReq, 2, { ratio: !bare, added: bare ? undefined : 'µs' })} | ${cell(f.rateP50Ms, 2, { ratio: !bare })} | ${cell(f.rateP99Ms, 2, { ratio: !bare })}${r.behindRate > 0 ? ` · fell behind the rate in ${r.behindRate} of ${r.rounds} rounds` : ''} | ${cell(f.rssMB, 1, { added: bare ? undefined : 'MB' })} | ${cell(f.rssOutsideYoungMB, 1, { added: bare ? undefined : 'MB' })} | ${Math.round(r.busy.median * 100)}% |`);
  }
  return lines.join('\n');
}

export function verdictTable(verdicts: Verdict[]): string {
  if (verdicts.length === 0) return '_No budget line applies to the variants and services of this run._';
  const fmt = (v: number, unit: string) => (unit === 'x' ? `${v.toFixed(3)}×` : `${num(v, 2)} ${unit}`);
  const lines = ['| budget line | service | variant | measured | limit | | A/A control (noise floor) |', '| --- | --- | --- | --- | --- | --- | --- |'];
  for (const v of verdicts) {
    const op = v.rule.startsWith('throughput') ? '≥' : '≤';
    const control = v.control === undefined ? '' : fmt(v.control, v.unit);
    lines.push(`| ${v.rule} | ${v.service} | ${v.variant} | ${fmt(v.value, v.unit)} | ${op} ${fmt(v.limit, v.unit)} | ${v.ok ? 'met' : '**missed**'} | ${control} |`);
  }
  return lines.join('\n');
}

const HEADER = `# Benchmarks

What nodeflight costs the service it records, measured on this repository's machine.
\`npm run bench\` and \`npm run bench:micro\` each rewrite their own section below
(between the marker comments); the notes outside the markers are written by hand.
`;

/** Replaces (or appends) the section between `<!-- name:begin -->` and `<!-- name:end -->`. */
export function updateSection(file: string, name: string, body: string): void {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${begin}\n${body.trim()}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i !== -1 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
}
