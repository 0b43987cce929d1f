// (e) The path filter alone: compilePathFilter's matcher on the paths a request carries.
// Typical filters run on a pool of 30-character paths (a third match); the worst cases
// run on 2,048-character paths (MAX_FILTERED_PATH), each distinct, so that no result
// or DFA state from an earlier path helps: the longest complete-DFA filter accepted
// (1,024 characters) and the worst filter accepted whose DFA is built lazily, each
// unit a cache miss. V8's RegExp on the typical filters is the peer. Every case
// checks its match count against V8's, so a matcher that answers wrongly fails.
import { compilePathFilter, MAX_FILTER_SOURCE, MAX_FILTERED_PATH, pathMatches, type PathMatcher } from '../../protocol/path-filter.js';
import { runCase, summarizeRounds, timeRounds, type CaseOptions, type Result } from './timing.js';

const POOL = 256;

/** 30-character paths: product pages, user ids, orders; a third of each kind. */
const shortPaths = Array.from({ length: POOL }, (_, i) => {
  const p = i % 3 === 0 ? `/api/products/${100000 + i}/reviews/` : i % 3 === 1 ? `/users/${1000000000 + i * 7919}/` : `/orders/${100000000000000 + i}`;
  return p.slice(0, 30).padEnd(30, '1');
});

/** A list of endpoints with wildcards, as long as a filter may be. */
function longFilter(): string {
  const words = ['users', 'orders', 'products', 'items', 'carts', 'health', 'metrics', 'admin', 'login', 'search'];
  const parts: string[] = [];
  for (let i = 0; ; i++) {
    const part = `/api/v${i % 3}/${words[i % 10]}/[0-9]+(/${words[(i * 3) % 10]}/.*)?`;
    if ([...parts, part].join('|').length > MAX_FILTER_SOURCE) return parts.join('|');
    parts.push(part);
  }
}

/** Deterministic 2,048-character paths over `alphabet` (mulberry32). */
function longPaths(alphabet: string, prefix: string, n: number, seed: number): string[] {
  const next = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: n }, () => {
    let s = prefix;
    while (s.length < MAX_FILTERED_PATH) s += alphabet[Math.floor(next() * alphabet.length)];
    return s;
  });
}

function compiled(filter: string): PathMatcher {
  const c = compilePathFilter(filter);
  if (c.error !== undefined || c.matcher === null) throw new Error(`${filter}: ${c.error ?? 'matches everything'}`);
  return c.matcher;
}

/** Times `match` over `paths` (cycled), checking the number of matches against V8's RegExp. */
async function filterCase(name: string, filter: string, paths: string[], ops: number, o: CaseOptions, match: (p: string) => boolean, extra: Record<string, unknown> = {}): Promise<Result> {
  const v8 = new RegExp(`^(?:${filter})$`);
  const want = ops % paths.length === 0 ? (ops / paths.length) * paths.filter((p) => v8.test(p.slice(0, MAX_FILTERED_PATH))).length : -1;
  let matched = 0;
  const rounds = await timeRounds((n) => {
    let m = 0;
    for (let i = 0; i < n; i++) if (match(paths[i % paths.length]!)) m++;
    matched = m;
  }, ops, o);
  if (want !== -1 && matched !== want) throw new Error(`${name}: ${matched} matches in a round, V8's RegExp finds ${want}`);
  return summarizeRounds(name, 'match', rounds, ops, { filter: filter.length > 80 ? `${filter.slice(0, 77)}...` : filter, filterLength: filter.length, pathLength: paths[0]!.length, matchesPerRound: matched, ...extra });
}

const shortOps = (o: CaseOptions): number => Math.max(POOL, Math.round((1_000_000 * o.scale) / POOL) * POOL);

/** The worst filter accepted with a lazily built DFA, found by search (BENCHMARKS.md). */
const WORST_LAZY_FILTER = '[ab]*a[ab]{28}';

const cases = {
  'filter /api/.*': (o: CaseOptions) => {
    const m = compiled('/api/.*');
    return filterCase('filter /api/.*', '/api/.*', shortPaths, shortOps(o), o, (p) => pathMatches(m, p));
  },
  'filter /(users|orders)/[0-9]+': (o: CaseOptions) => {
    const f = '/(users|orders)/[0-9]+';
    const m = compiled(f);
    return filterCase(`filter ${f}`, f, shortPaths, shortOps(o), o, (p) => pathMatches(m, p));
  },
  'v8 RegExp /api/.*': (o: CaseOptions) => {
    const re = /^(?:\/api\/.*)$/;
    return filterCase('v8 RegExp /api/.*', '/api/.*', shortPaths, shortOps(o), o, (p) => re.test(p));
  },
  'v8 RegExp /(users|orders)/[0-9]+': (o: CaseOptions) => {
    const re = /^(?:\/(users|orders)\/[0-9]+)$/;
    return filterCase('v8 RegExp /(users|orders)/[0-9]+', '/(users|orders)/[0-9]+', shortPaths, shortOps(o), o, (p) => re.test(p));
  },
  'filter long list, 2,048-char path': (o: CaseOptions) => {
    const f = longFilter();
    const m = compiled(f);
    // `/api/v1/orders/[0-9]+(/items/.*)?` is one of its endpoints: each path is read to its end.
    const paths = longPaths('/0123456789abcdefghijklmnopqrstuvwxyz', '/api/v1/orders/123/items/', 64, 1);
    return filterCase('filter long list, 2,048-char path', f, paths, Math.max(64, Math.round((2048 * o.scale) / 64) * 64), o, (p) => pathMatches(m, p), { states: m.states });
  },
  'filter worst lazy, 2,048-char path': (o: CaseOptions) => {
    const m = compiled(WORST_LAZY_FILTER);
    // Fresh random paths for every match: each unit is a new DFA state (a cache miss).
    const paths = longPaths('ab', '', 64, 2);
    const before = m.resets;
    return filterCase('filter worst lazy, 2,048-char path', WORST_LAZY_FILTER, paths, 64, o, (p) => pathMatches(m, p)).then((r) => {
      r.extra!.cacheResets = m.resets - before;
      return r;
    });
  },
  'filter compile, worst': async (o: CaseOptions) => {
    // Refused after exploring the whole budget: the most a PUT or an agent's apply() can cost.
    // Two filters in turn, since compilePathFilter keeps the last one.
    const filters = ['(.?){2000}', '(.?){1999}'];
    const rounds = await timeRounds((n) => {
      for (let i = 0; i < n; i++) {
        const f = filters[i & 1]!;
        if (compilePathFilter(f).error === undefined) throw new Error(`${f} should be refused`);
      }
    }, 4, { ...o, rounds: Math.min(o.rounds, 10), warmup: Math.min(o.warmup, 3) });
    return summarizeRounds('filter compile, worst', 'compile', rounds, 4, { filter: filters.join(', ') });
  },
};

await runCase(cases);
