// A small router for the REST API: versioned paths, `:param` segments, and the
// 404 / 405 answers that go with them.
//
// Every path exists under /v1/. An unversioned path answers as the oldest version
// that has it, which is v1 for every path today; /vN for any other N is a 404.
import { HttpError } from './respond.js';

const API_VERSION = 1;

/** `/v1/x` and `/x` both give `/x`; `/v9/x` throws a 404. */
export function stripVersion(pathname: string): string {
  const m = /^\/v(\d+)(?=\/|$)/.exec(pathname);
  if (!m) return pathname;
  if (Number(m[1]) !== API_VERSION) throw new HttpError(404, `unknown API version v${m[1]}; this collector serves v${API_VERSION}`);
  return pathname.slice(m[0].length);
}

export type Params = Record<string, string>;

interface Entry<H> {
  segments: string[];
  handlers: Map<string, H>;
}

export class Router<H> {
  private readonly entries: Array<Entry<H>> = [];

  /** A GET route also answers HEAD (Node leaves out the body). */
  get(pattern: string, handler: H): this {
    return this.on('GET', pattern, handler).on('HEAD', pattern, handler);
  }

  put(pattern: string, handler: H): this {
    return this.on('PUT', pattern, handler);
  }

  post(pattern: string, handler: H): this {
    return this.on('POST', pattern, handler);
  }

  /** Methods of one pattern share an entry, so that a wrong method is a 405 listing them all. */
  private on(method: string, pattern: string, handler: H): this {
    const segments = pattern.split('/').filter(Boolean);
    let entry = this.entries.find((e) => e.segments.join('/') === segments.join('/'));
    if (entry === undefined) this.entries.push((entry = { segments, handlers: new Map() }));
    entry.handlers.set(method, handler);
    return this;
  }

  /** `path` is unversioned and still percent-encoded; null when no endpoint has it. */
  match(method: string, path: string): { handler: H; params: Params } | null {
    const parts = path.split('/').filter(Boolean);
    for (const e of this.entries) {
      const params = matchSegments(e.segments, parts);
      if (!params) continue;
      const handler = e.handlers.get(method);
      if (handler === undefined) {
        const allow = [...e.handlers.keys()].join(', ');
        throw new HttpError(405, `${method} is not allowed here; allowed: ${allow}`, { allow });
      }
      return { handler, params };
    }
    return null;
  }
}

function matchSegments(pattern: string[], parts: string[]): Params | null {
  if (pattern.length !== parts.length) return null;
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = decodeSegment(parts[i]!);
    else if (p !== parts[i]) return null;
  }
  return params;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, `malformed percent-encoding in path segment ${JSON.stringify(s)}`);
  }
}
