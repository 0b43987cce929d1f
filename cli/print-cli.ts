// `nodeflight print [--json] [--path-filter RE] [--min-ms N] FILE`: a recording's events,
// one per line or as one JSON document, in file order, as `jfr print` does. Output is
// written block by block while the file is read, so a file of any size prints in
// bounded memory.
//
// Text, one event per line (fields that hold spaces or control characters are quoted
// as JSON strings, so a line is always one event):
//   2025-11-22T05:42:01.123Z orders[4242] GET /users/42 /users/:id 200 12.345ms 1234B aborted
//   start service[pid] method path route status duration size ("-": unknown) flags
// A request still open when the recording was made (an `inflight` record) prints with
// status "-", its age at that time as the duration, and the flag `inflight`.
//
// JSON, one document:
//   {"recording": <header>,
//    "events": [{"start": ISO, "startMs", "durationMs", "agentId", "service", "method",
//                "path", "route", "status" (null: in flight), "size" (null: unknown), "aborted",
//                "truncatedPath", "inflight"}, ...],
//    "agents": [{<identity>, "counters": {...}}, ...]   (last counters of each agent),
//    "damage": null | {"offset": N, "message": "..."}}
import { EventFlag, type AgentIdentity, type Counters, type EventColumns } from '../protocol/messages.js';
import { compilePathFilter, pathMatches } from '../protocol/path-filter.js';
import { finish, Output, parseCommandLine, readRecordingFile, showField } from './cli-support.js';
import type { RecordingHeader } from '../recording/format.js';
import type { RecordingDamage } from '../recording/reader.js';

const USAGE = `usage: nodeflight print [--json] [--path-filter RE] [--min-ms N] FILE
  --json             one JSON document instead of one line per event
  --path-filter RE   only events whose whole path matches RE (as NODEFLIGHT_PATH_FILTER)
  --min-ms N         only events that took at least N milliseconds`;

/** Output is written in pieces of about this size: few writes, and little held at once. */
const WRITE_CHARS = 64 * 1024;

interface Agent {
  identity: AgentIdentity;
  counters: Counters;
  /** The agent as a text field, computed once per agent record. */
  label: string;
}

/** How events look: the text and the JSON printer differ only here. */
interface Printer {
  begin(header: RecordingHeader): string;
  /** `strings` is the block's string table as this printer shows it. */
  event(agent: Agent, b: EventColumns, i: number, strings: string[], first: boolean): string;
  showString(s: string): string;
  end(agents: Iterable<Agent>, damage: RecordingDamage | null): string;
}

const textPrinter: Printer = {
  begin: () => '',
  event(agent, b, i, strings) {
    const size = b.size[i]!;
    const flags = b.flags[i]!;
    const open = (flags & EventFlag.inflight) !== 0;
    return new Date(b.start[i]!).toISOString() + ' ' + agent.label + ' ' + strings[b.method[i]!] + ' ' + strings[b.path[i]!] +
      ' ' + strings[b.route[i]!] + ' ' + (open ? '-' : b.status[i]) + ' ' + b.duration[i]!.toFixed(3) + 'ms ' + (size < 0 ? '-' : size + 'B') +
      (flags & EventFlag.aborted ? ' aborted' : '') + (flags & EventFlag.truncatedPath ? ' truncated-path' : '') + (open ? ' inflight' : '') + '\n';
  },
  showString: showField,
  end: () => '',
};

// Events are built by concatenation from strings quoted once per block: about half the
// time of JSON.stringify on an object per event.
const jsonPrinter: Printer = {
  begin: (header) => `{"recording":${JSON.stringify(header)},\n"events":[`,
  event(agent, b, i, strings, first) {
    const start = b.start[i]!;
    const size = b.size[i]!;
    const flags = b.flags[i]!;
    return (first ? '\n' : ',\n') + '{"start":"' + new Date(start).toISOString() + '","startMs":' + start +
      ',"durationMs":' + b.duration[i] + ',"agentId":' + agent.label + ',"method":' + strings[b.method[i]!] +
      ',"path":' + strings[b.path[i]!] + ',"route":' + strings[b.route[i]!] +
      ',"status":' + (flags & EventFlag.inflight ? 'null' : b.status[i]) +
      ',"size":' + (size < 0 ? 'null' : size) + ',"aborted":' + ((flags & EventFlag.aborted) !== 0) +
      ',"truncatedPath":' + ((flags & EventFlag.truncatedPath) !== 0) + ',"inflight":' + ((flags & EventFlag.inflight) !== 0) + '}';
  },
  showString: (s) => JSON.stringify(s),
  end(agents, damage) {
    const list = [...agents].map((a) => ({ ...a.identity, counters: a.counters }));
    return `\n],\n"agents":${JSON.stringify(list)},\n"damage":${JSON.stringify(damage && { offset: damage.offset, message: damage.reason })}}\n`;
  },
};

function agentLabel(json: boolean, identity: AgentIdentity): string {
  // In JSON the label is the agentId and service fields, ready to splice into an event.
  if (json) return `${JSON.stringify(identity.agentId)},"service":${JSON.stringify(identity.service)}`;
  return showField(`${identity.service}[${identity.pid}]`);
}

function parseMinMs(raw: string | undefined): number | null {
  if (raw === undefined) return 0;
  const n = Number(raw);
  return raw.trim() !== '' && Number.isFinite(n) && n >= 0 ? n : null;
}

export async function main(argv: string[]): Promise<number> {
  const cl = parseCommandLine({
    args: argv,
    options: { json: { type: 'boolean' }, 'path-filter': { type: 'string' }, 'min-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  } as const, USAGE);
  if (typeof cl === 'number') return cl;
  const { values } = cl.args;
  const filter = compilePathFilter(values['path-filter'] ?? '.*');
  if (filter.error !== undefined) {
    process.stderr.write(`nodeflight: --path-filter: ${filter.error}\n`);
    return 2;
  }
  const minMs = parseMinMs(values['min-ms']);
  if (minMs === null) {
    process.stderr.write(`nodeflight: --min-ms must be a number of milliseconds >= 0, got ${JSON.stringify(values['min-ms'])}\n${USAGE}\n`);
    return 2;
  }
  const json = values.json === true;
  const printer = json ? jsonPrinter : textPrinter;
  const { matcher } = filter;
  const out = new Output(process.stdout);
  const agents = new Map<string, Agent>();
  let first = true;

  const result = await readRecordingFile(cl.file, async (entry) => {
    if (entry.t === 'header') {
      await out.write(printer.begin(entry.header));
    } else if (entry.t === 'agent') {
      agents.set(entry.identity.agentId, { identity: entry.identity, counters: entry.counters, label: agentLabel(json, entry.identity) });
    } else {
      // Events, and requests in flight when the recording was made: both are rows.
      const agent = agents.get(entry.agentId)!;
      const b = entry.events;
      const strings = b.strings.map(printer.showString);
      let text = '';
      for (let i = 0; i < b.count; i++) {
        if (b.duration[i]! < minMs || !pathMatches(matcher, b.strings[b.path[i]!]!)) continue;
        text += printer.event(agent, b, i, strings, first);
        first = false;
        if (text.length >= WRITE_CHARS) {
          await out.write(text);
          text = '';
        }
      }
      await out.write(text);
    }
    return out.isOpen;
  });
  if (result.readable) await out.write(printer.end(agents.values(), result.damage));
  return finish(out, result);
}
