// Fixtures for the recording tests: events with known values, recordings written with
// the real writer, and the real CLI run as a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import type { AgentIdentity, Counters, EventColumns } from '../protocol/messages.js';

export const CLI = fileURLToPath(new URL('../cli/nodeflight.js', import.meta.url));

export interface Row {
  start: number;
  duration: number;
  method: string;
  path: string;
  route: string;
  status: number;
  size: number;
  flags: number;
}

/** Columns for rows, with the strings interned as the agent does. */
export function block(rows: Row[]): EventColumns {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const intern = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = strings.push(s) - 1;
      index.set(s, i);
    }
    return i;
  };
  const n = rows.length;
  const b: EventColumns = {
    count: n, strings, start: new Float64Array(n), duration: new Float64Array(n), method: new Uint32Array(n),
    path: new Uint32Array(n), route: new Uint32Array(n), status: new Uint16Array(n), size: new Float64Array(n), flags: new Uint8Array(n),
  };
  rows.forEach((r, i) => {
    b.start[i] = r.start;
    b.duration[i] = r.duration;
    b.method[i] = intern(r.method);
    b.path[i] = intern(r.path);
    b.route[i] = intern(r.route);
    b.status[i] = r.status;
    b.size[i] = r.size;
    b.flags[i] = r.flags;
  });
  return b;
}

export function identity(agentId: string, service: string, pid = 4242): AgentIdentity {
  return { agentId, service, host: 'web-1', pid, nodeVersion: 'v20.18.0', agentVersion: '0.1.0', startTime: 1_700_000_000_000 };
}

export function counters(recorded: number, dropped = 0): Counters {
  return { recorded, filtered: 3, dropped, sent: recorded - dropped, buffered: 0, hookErrors: 0 };
}

/** A deterministic pseudo-random source (mulberry32), so failures reproduce. */
export { random } from './helpers/random.js';

/** A temporary directory removed when the test file ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-recording-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], nodeArgs: string[] = []): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Node prints stack frames as lines starting with four spaces and "at ". */
export const STACK_FRAME = /^ {4}at /m;
