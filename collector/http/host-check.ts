// The Host header check that keeps web pages from driving the collector through DNS
// rebinding (a name of theirs made to resolve to 127.0.0.1), as Vite's and Grafana's
// servers check it. Accepted: loopback names (localhost, *.localhost), any IP address
// (rebinding needs a name: an address in Host is the one the browser connected to), the
// name the collector was told to bind, and the names of --allowed-hosts; `*` there
// accepts every name, for a collector behind a proxy that checks names itself.
import { isIP } from 'node:net';

/** Returns null when the request may proceed, else the reason it may not. */
export type HostCheck = (host: string | undefined) => string | null;

/** `name` (exactly), `.name` (it and its subdomains) or `*` (anything). */
export function createHostCheck(boundHost: string, allowedHosts: readonly string[]): HostCheck {
  if (allowedHosts.includes('*')) return () => null;
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const h of [bareName(boundHost), ...allowedHosts.map((a) => a.toLowerCase())]) {
    if (h.startsWith('.')) suffixes.push(h);
    else exact.add(h);
  }
  return (header) => {
    // HTTP/1.0 clients may send none; a browser always does.
    if (header === undefined || header === '') return null;
    const name = hostName(header);
    if (name === null) return `malformed Host header ${JSON.stringify(header)}`;
    if (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost') || exact.has(name)) return null;
    if (suffixes.some((s) => name.endsWith(s) || name === s.slice(1))) return null;
    return `Host ${JSON.stringify(header)} is not allowed: ` +
      'this collector answers to loopback names and IP addresses. ' +
      `To reach it by this name, start it with --allowed-hosts ${name}`;
  };
}

function bareName(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1').toLowerCase().replace(/\.$/, '');
}

/** The name or address without its port, lower case, without a trailing dot; null if malformed. */
function hostName(header: string): string | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]/@]+))(?::\d{1,5})?$/.exec(header);
  if (m === null) return null;
  return m[1] ?? bareName(m[2]!);
}
