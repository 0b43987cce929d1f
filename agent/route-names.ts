// Route names group requests into the rows an operator reads: `/orders/17` and
// `/orders/18` are one route. In order of trust:
//   1. a NODEFLIGHT_ROUTES template that matches the path;
//   2. the route the framework matched (Express's baseUrl + route.path, Fastify's
//      route url), captured on the request by the hooks as a small integer id;
//   3. the path with id-like segments (numbers, UUIDs, long hex, tokens) replaced.
// Naming from the path runs at flush time, never per request, and is cached per path.
// Distinct names are capped per agent; the rest fold into OTHER_ROUTE.

export const OTHER_ROUTE = 'other';
export const MAX_ROUTES = 1000;
const MAX_CACHED_PATHS = 10_000;
// Long paths are named afresh each time: cached, unique ones were held past the ring
// (and grew V8's young generation as they survived), whatever MAX_CACHED_PATHS said.
const MAX_CACHED_PATH = 256;
const MAX_CACHED_CHARS = 512 * 1024;

const numeric = /^\d+(?:[.,-]\d+)*$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const hex = /^(?:0x)?[0-9a-f]{12,}$/i;
const token = /^[A-Za-z0-9_=.~-]{20,}$/;

/** The placeholder for an id-like path segment, or null when the segment is a word. */
export function placeholderFor(segment: string): string | null {
  if (numeric.test(segment)) return ':id';
  if (uuid.test(segment)) return ':uuid';
  if (hex.test(segment) && /\d/.test(segment)) return ':hex';
  if (token.test(segment) && /\d/.test(segment)) return ':token';
  return null;
}

export function normalizePath(path: string): string {
  const parts = path.split('/');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.length === 0) continue;
    const ph = placeholderFor(p);
    if (ph) parts[i] = ph;
  }
  return parts.join('/');
}

interface Template {
  name: string;
  segments: string[];
  /** A trailing `*` matches any rest of the path. */
  rest: boolean;
}

function compileTemplate(name: string): Template {
  const segments = name.split('/').slice(1);
  const rest = segments[segments.length - 1] === '*';
  if (rest) segments.pop();
  return { name, segments, rest };
}

function matchTemplate(t: Template, parts: string[]): boolean {
  if (t.rest ? parts.length < t.segments.length : parts.length !== t.segments.length) return false;
  for (let i = 0; i < t.segments.length; i++) {
    const s = t.segments[i]!;
    if (s.startsWith(':') ? parts[i]!.length === 0 : s !== parts[i]) return false;
  }
  return true;
}

export class RouteNames {
  private readonly templates: Template[];
  private readonly templateNames: Set<string>;
  /** Path -> its template name, else its normalised name (not yet admitted). */
  private readonly byPath = new Map<string, string>();
  private cachedChars = 0;
  private readonly names = new Set<string>();
  private readonly frameworkIds = new Map<string, number>();
  /** Framework route names by id; id 0 means "the framework named none". */
  private readonly frameworkNames: string[] = [''];

  constructor(templates: string[]) {
    this.templates = templates.map(compileTemplate);
    this.templateNames = new Set(templates);
  }

  /** Interns a framework route string; the hooks call it once per route object. */
  frameworkId(route: string): number {
    let id = this.frameworkIds.get(route);
    if (id === undefined) {
      id = this.frameworkNames.length;
      this.frameworkNames.push(this.admit(route));
      this.frameworkIds.set(route, id);
    }
    return id;
  }

  /** The route of one recorded event. */
  name(path: string, frameworkId: number): string {
    if (path.length > MAX_CACHED_PATH) return this.pick(this.fromPath(path), frameworkId);
    let fromPath = this.byPath.get(path);
    if (fromPath === undefined) {
      fromPath = this.fromPath(path);
      this.cachedChars += path.length + fromPath.length;
      if (this.byPath.size >= MAX_CACHED_PATHS || this.cachedChars > MAX_CACHED_CHARS) {
        this.byPath.clear();
        this.cachedChars = path.length + fromPath.length;
      }
      this.byPath.set(path, fromPath);
    }
    return this.pick(fromPath, frameworkId);
  }

  private pick(fromPath: string, frameworkId: number): string {
    if (frameworkId === 0 || this.templateNames.has(fromPath)) return this.admit(fromPath);
    return this.frameworkNames[frameworkId] ?? OTHER_ROUTE;
  }

  private fromPath(path: string): string {
    if (this.templates.length > 0) {
      const parts = path.split('/').slice(1);
      for (const t of this.templates) if (matchTemplate(t, parts)) return t.name;
    }
    return normalizePath(path);
  }

  private admit(name: string): string {
    if (this.names.has(name)) return name;
    if (this.names.size >= MAX_ROUTES) return OTHER_ROUTE;
    this.names.add(name);
    return name;
  }
}
