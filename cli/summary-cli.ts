// `nodeflight summary FILE`: what a recording holds, as `jfr summary` does: who recorded
// it and what each agent had lost, then per-route counts and latency percentiles.
// The file is read as a stream; only per-agent and per-route state is kept. Requests
// still open when the recording was made are listed apart, oldest first: they are not
// events, and no percentile counts them.
import type { AgentIdentity, Counters, EventColumns } from '../protocol/messages.js';
import { finish, Output, parseCommandLine, readRecordingFile, showField } from './cli-support.js';
import { textTable } from './text-table.js';
import type { RecordingHeader } from '../recording/format.js';
import { PERCENTILES, RouteTable, type RouteRow } from '../recording/route-table.js';

const USAGE = 'usage: nodeflight summary FILE';

interface AgentSeen {
  identity: AgentIdentity;
  /** The last counters recorded for the agent. */
  counters: Counters;
  events: number;
  /** The last in-flight record of the agent. */
  inflight: { time: number; open: number; events: EventColumns } | null;
}

/** Open requests shown per agent; `print` lists them all. */
const INFLIGHT_SHOWN = 10;

function inflightLines(a: AgentSeen): string[] {
  const f = a.inflight;
  if (f === null || f.open === 0) return [];
  const id = a.identity;
  const b = f.events;
  const lines = [`  ${showField(`${id.service}[${id.pid}]`)}: ${f.open} open at ${new Date(f.time).toISOString()}, oldest first (age in ms)`];
  for (let i = 0; i < Math.min(b.count, INFLIGHT_SHOWN); i++) {
    lines.push(`    ${ms(b.duration[i]!).padStart(12)}  ${showField(b.strings[b.method[i]!]!)} ${showField(b.strings[b.path[i]!]!)} (${showField(b.strings[b.route[i]!]!)})`);
  }
  if (f.open > INFLIGHT_SHOWN) lines.push(`    ... ${f.open - Math.min(b.count, INFLIGHT_SHOWN)} more (${b.count} in the file: nodeflight print lists them)`);
  return lines;
}

const ms = (v: number): string => v.toFixed(3);

function agentLines(a: AgentSeen): string[] {
  const { identity: id, counters: c } = a;
  const lines = [
    `  ${showField(`${id.service}[${id.pid}]`)} on ${showField(id.host)}, node ${id.nodeVersion}, agent ${id.agentVersion}, ` +
      `started ${new Date(id.startTime).toISOString()}, id ${showField(id.agentId)}`,
    `    recorded ${c.recorded}, filtered ${c.filtered}, dropped ${c.dropped}, sent ${c.sent}, buffered ${c.buffered}, ` +
      `hook errors ${c.hookErrors}; ${a.events} events in this file`,
  ];
  if (c.dropped > 0) {
    lines.push(`    ! dropped ${c.dropped} recorded events (ring buffer overwritten or connection lost): they are missing here`);
  }
  if (c.hookErrors > 0) lines.push(`    ! ${c.hookErrors} hook errors switched recording hooks off: requests after them were not recorded`);
  return lines;
}

function table(rows: RouteRow[]): string[] {
  const head = ['service', 'method', 'route', 'count', 'errors', 'aborted', ...PERCENTILES.map((p) => `p${p}`), 'max'];
  const body = rows.map((r) => [
    showField(r.service), showField(r.method), showField(r.route), String(r.count), String(r.errors), String(r.aborted),
    // A percentile is reported as at most the exact max, which the histogram's bucket can exceed.
    ...PERCENTILES.map((p) => ms(Math.min(r.histogram.getValueAtPercentile(p) / 1000, r.maxMs))),
    ms(r.maxMs),
  ]);
  return textTable(head, body, { names: 3, indent: '  ' });
}

function render(file: string, header: RecordingHeader, agents: AgentSeen[], routes: RouteRow[], blocks: number): string {
  const events = agents.reduce((n, a) => n + a.events, 0);
  const losing = agents.filter((a) => a.counters.dropped > 0);
  const dropped = losing.reduce((n, a) => n + a.counters.dropped, 0);
  const open = agents.reduce((n, a) => n + (a.inflight?.open ?? 0), 0);
  return [
    `Recording ${showField(file)}`,
    `  format     nodeflight-recording, version ${header.version}`,
    `  created    ${new Date(header.createdAt).toISOString()} by ${header.source === 'agent' ? 'an agent' : 'a collector'}`,
    `  events     ${events} in ${blocks} blocks`,
    `  data loss  ${dropped === 0 ? 'none' : `${dropped} events dropped by ${losing.length} of ${agents.length} agents (see below)`}`,
    ...(open === 0 ? [] : [`  in flight  ${open} requests had not finished when it was recorded (see below)`]),
    '',
    `Agents (${agents.length})`,
    ...agents.flatMap(agentLines),
    '',
    routes.length === 0 ? 'Routes: no events' : 'Routes (latency in ms; errors: 5xx responses)',
    ...(routes.length === 0 ? [] : table(routes)),
    '',
    ...(open === 0 ? [] : ['In flight when recorded', ...agents.flatMap(inflightLines), '']),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine({
    args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true,
  } as const, USAGE);
  if (typeof cl === 'number') return cl;
  const out = new Output(process.stdout);
  const agents = new Map<string, AgentSeen>();
  const routes = new RouteTable();
  let header: RecordingHeader | null = null;
  let blocks = 0;

  const result = await readRecordingFile(cl.file, async (entry) => {
    if (entry.t === 'header') {
      header = entry.header;
    } else if (entry.t === 'agent') {
      const seen = agents.get(entry.identity.agentId);
      agents.set(entry.identity.agentId, { identity: entry.identity, counters: entry.counters, events: seen?.events ?? 0, inflight: seen?.inflight ?? null });
    } else if (entry.t === 'inflight') {
      agents.get(entry.agentId)!.inflight = { time: entry.time, open: entry.open, events: entry.events };
    } else {
      const agent = agents.get(entry.agentId)!;
      agent.events += entry.events.count;
      blocks++;
      routes.add(agent.identity.service, entry.events);
    }
    return true;
  });
  if (header) await out.write(render(cl.file, header, [...agents.values()], routes.sorted(), blocks));
  return finish(out, result);
}
