// Who this process is, as the collector and recordings name it.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { AgentIdentity } from '../protocol/messages.js';
import { PACKAGE_VERSION } from '../protocol/version.js';


/** `name` of the nearest package.json above the entry script, else the script's base name. */
export function defaultServiceName(entry: string | undefined = process.argv[1]): string {
  if (!entry) return 'node';
  const script = resolve(entry);
  for (let dir = dirname(script); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      try {
        const name = (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name;
        if (typeof name === 'string' && name.length > 0 && name.length <= 128) return name;
      } catch {
        // An unreadable package.json names nothing; keep looking upwards.
      }
    }
    if (dirname(dir) === dir) break;
  }
  return basename(script, extname(script)) || 'node';
}

export function createIdentity(service: string | undefined): AgentIdentity {
  return {
    agentId: randomUUID(),
    service: service ?? defaultServiceName(),
    host: hostname(),
    pid: process.pid,
    nodeVersion: process.version,
    agentVersion: PACKAGE_VERSION,
    startTime: Date.now(),
  };
}
