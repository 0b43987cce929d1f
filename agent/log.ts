// The agent's only voice: one line on stderr, prefixed, never on stdout (which belongs
// to the application), never a stack trace, and each distinct problem said once
// (NODE_DEBUG=nodeflight tells every occurrence).
import { debuglog } from 'node:util';

const said = new Set<string>();

/** `NODE_DEBUG=nodeflight`: every connection event, counted, where warnOnce says the first. */
export const debug = debuglog('nodeflight');

export function warnOnce(key: string, message: string): void {
  if (said.has(key)) return;
  said.add(key);
  try {
    process.stderr.write(`[nodeflight] ${message}\n`);
  } catch {
    // stderr closed or broken: there is nowhere left to say it.
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
