// Query-string checks: every endpoint names the parameters it takes, and anything
// else, repeated, or out of range is a 400 that says what was expected.
import { HttpError } from './respond.js';

/** The endpoint's parameters that are present, each given at most once. */
export function readQuery<K extends string>(q: URLSearchParams, allowed: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const [key, value] of q) {
    if (!(allowed as readonly string[]).includes(key)) {
      const known = allowed.length ? `; this endpoint takes ${allowed.join(', ')}` : '; this endpoint takes none';
      throw new HttpError(400, `unknown query parameter ${JSON.stringify(key)}${known}`);
    }
    if ((out as Record<string, string>)[key] !== undefined) throw new HttpError(400, `query parameter ${key} is given more than once`);
    (out as Record<string, string>)[key] = value;
  }
  return out;
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `60s`, `5m`, `1h`, `500ms`: a window of recent time, no longer than `maxMs`. */
export function parseWindow(raw: string | undefined, maxMs: number): number | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(raw);
  const ms = m ? Number(m[1]) * units[m[2]!]! : NaN;
  if (!(ms > 0)) throw new HttpError(400, `window must be a positive duration such as 60s or 5m, got ${JSON.stringify(raw)}`);
  if (ms > maxMs) throw new HttpError(400, `window ${raw} is longer than the ${maxMs / 60_000}m this collector retains`);
  return ms;
}

export function parseInteger(name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

export function parseMilliseconds(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^\d+(?:\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(n)) throw new HttpError(400, `${name} must be a non-negative number of milliseconds, got ${JSON.stringify(raw)}`);
  return n;
}

export function parseText(name: string, raw: string | undefined): string | undefined {
  if (raw === '') throw new HttpError(400, `${name} must not be empty`);
  return raw;
}
