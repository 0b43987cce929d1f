// Whether a host name or address stays on this machine: the collector listens without a
// token only there, and the agent sends its token over plain ws:// only there.
import { isIP } from 'node:net';

/** Conservative: a host name other than localhost counts as reachable from outside. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}
