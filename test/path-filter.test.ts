import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Recorder } from '../agent/recorder.js';
import { compilePathFilter, EXPLORE_BUDGET, MAX_FILTER_SOURCE, MAX_FILTERED_PATH, MAX_LAZY_PROGRAM, MAX_PROGRAM, pathMatches, type PathMatcher } from '../protocol/path-filter.js';
import { LazyDfa } from '../protocol/regex-dfa.js';
import { parseRegex } from '../protocol/regex-parse.js';
import { buildProgram, programSize } from '../protocol/regex-program.js';
import { defaultLiveSettings } from '../protocol/settings.js';

function compiled(filter: string): PathMatcher | null {
  const c = compilePathFilter(filter);
  assert.equal(c.error, undefined, c.error);
  return c.matcher!;
}

const matches = (filter: string, path: string): boolean => pathMatches(compiled(filter), path);

/** Milliseconds one call takes. */
function timed<T>(f: () => T): { value: T; ms: number } {
  const t = process.hrtime.bigint();
  const value = f();
  return { value, ms: Number(process.hrtime.bigint() - t) / 1e6 };
}

/** Deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('the filter must match the whole path, as Pattern.matches does', () => {
  assert.equal(matches('/api', '/api'), true);
  assert.equal(matches('/api', '/api/x'), false);
  assert.equal(matches('/api', '/v1/api'), false);
  assert.equal(matches('/api/.*', '/api/x'), true);
  assert.equal(matches('/a|/b', '/b'), true, 'alternation is grouped before anchoring');
  assert.equal(matches('/a|/b', '/ab'), false);
  assert.equal(matches('^/a$', '/a'), true, 'anchors inside the filter are allowed');
  assert.equal(matches('/a$|/b', '/b'), true);
  assert.equal(matches('/(users|orders)/[0-9]+', '/orders/42'), true);
  assert.equal(matches('/(users|orders)/[0-9]+', '/orders/4x'), false);
  assert.equal(compilePathFilter('.*').matcher, null, 'the default skips matching entirely');
});

test('pathMatches reads the path up to the end it is given, without cutting the string', () => {
  const m = compiled('/api/[a-z]+');
  const url = '/api/users?id=7';
  assert.equal(pathMatches(m, url, url.indexOf('?')), true);
  assert.equal(pathMatches(m, url), false);
});

test('what a linear-time matcher cannot do is refused with a reason', () => {
  const refused: Array<[string, RegExp]> = [
    ['(a)\\1', /backreferences .* cannot be matched in linear time \(at offset 3\)/],
    ['(?<x>a)\\k<x>', /named backreferences/],
    ['/a(?=b)b', /lookahead/],
    ['/a(?!b).', /lookahead/],
    ['(?<=a)b', /lookbehind/],
    ['(?<!a)b', /lookbehind/],
    ['\\bapi', /word boundaries/],
    ['/\\07', /octal/],
    ['[\\1]', /octal/],
    ['a{5000}', /program of 5000 instructions .*at most 4096/],
    ['((a{100}){100}){100}', /program of 1000000 instructions/],
    ['.*a.{600}', /does not fit in \d+ states .* 603 instructions, more than the 32 allowed/],
    ['(a?){2000}', /does not fit in \d+ states within 500000 work units/],
  ];
  for (const [bad, reason] of refused) {
    const c = compilePathFilter(bad);
    assert.ok(c.error, `${bad} should be refused`);
    assert.match(c.error, reason, bad);
    assert.match(c.error, /^pathFilter ".*" is refused: /, bad);
  }
  assert.match(compilePathFilter('/api/(').error!, /not a valid regular expression/);
  assert.match(compilePathFilter('a)(b').error!, /not a valid regular expression/);
  assert.match(compilePathFilter('x'.repeat(MAX_FILTER_SOURCE + 1)).error!, /longer than 1024 characters/);
  // Patterns the old heuristic refused are matched in linear time now.
  for (const ok of ['(a+)+$', '(a*)*', '(/[a-z]+)*', '(a|aa)+', '((ab)*c)+', '(x+){2,}', '/v{1,3}', '\\(a+\\)+', '[(]+']) {
    assert.equal(compilePathFilter(ok).error, undefined, `${ok} should be accepted`);
  }
});

test('escapes, classes and quantifiers agree with V8 on hand-picked cases', () => {
  const cases: Array<[string, string]> = [
    ['\\d+', '123'], ['\\D+', 'ab'], ['\\w+', 'a_1'], ['\\W', '/'], ['\\s', ' '], ['\\S+', 'ab'],
    ['[\\d-z]+', '1-z'], ['[\\d-z]+', 'y'], ['[a-]+', 'a-'], ['[-a]+', '-'], ['[^/]+', 'abc'], ['[^/]+', 'a/c'],
    ['[]', ''], ['[^]', '\n'], ['.', '\n'], ['.', '\u2028'], ['.', 'x'], ['\\x41', 'A'], ['\\x4', 'x4'],
    ['\\u0041', 'A'], ['\\u{3}', 'uuu'], ['\\p{L}', 'p{L}'], ['\\cJ', '\n'], ['[\\c1]', '\x11'], ['[\\b]', '\b'],
    ['\\0', '\0'], ['a{2}', 'aa'], ['a{2,}', 'aaaa'], ['a{2,3}', 'aaaa'], ['a{,2}', 'a{,2}'], ['a{', 'a{'],
    ['x{1}?', 'x'], ['a+?', 'aaa'], ['(?:a|b)*', 'abba'], ['(?<n>a)b', 'ab'], ['a$b', 'ab'], ['a^b', 'ab'],
    ['^$', ''], ['$^', ''], ['(a|^)b', 'b'], ['(a|$)', ''], ['(a*)*b', 'aab'], ['()*', ''], ['(|a)+', 'aa'],
    ['\\/api\\/', '/api/'], ['\\.', '.'], ['\\-', '-'], ['é+', 'éé'], ['[à-ÿ]+', 'ñ'], ['[\\u0100-\\uffff]', '\u4e2d'],
  ];
  for (const [f, p] of cases) assert.equal(matches(f, p), new RegExp(`^(?:${f})$`).test(p), `${JSON.stringify(f)} on ${JSON.stringify(p)}`);
});

// A generated filter and a way to make paths it matches, so both outcomes are exercised.
interface Gen { src: string; sample(r: () => number): string }

function generator(r: () => number): (depth: number) => Gen {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const alphabet = ['/', 'a', 'b', '1', '-', '.'];
  const atoms: Gen[] = [
    ...alphabet.map((c) => ({ src: c === '.' ? '\\.' : c, sample: () => c })),
    { src: '.', sample: (q) => pick(alphabet.concat(['x'])) ?? String(q()) },
    { src: '[a-b]', sample: () => pick(['a', 'b']) },
    { src: '[^/]', sample: () => pick(['a', '1', '-']) },
    { src: '\\d', sample: () => pick(['1', '7']) },
    { src: '\\w', sample: () => pick(['a', '1', '_']) },
  ];
  const gen = (depth: number): Gen => {
    const roll = r();
    if (depth <= 0 || roll < 0.35) return pick(atoms);
    if (roll < 0.6) {
      const parts = Array.from({ length: 2 + Math.floor(r() * 3) }, () => gen(depth - 1));
      return { src: parts.map((p) => p.src).join(''), sample: (q) => parts.map((p) => p.sample(q)).join('') };
    }
    if (roll < 0.75) {
      const parts = Array.from({ length: 2 + Math.floor(r() * 3) }, () => gen(depth - 1));
      return { src: `(${parts.map((p) => p.src).join('|')})`, sample: (q) => parts[Math.floor(q() * parts.length)]!.sample(q) };
    }
    const inner = gen(depth - 1);
    const [q, min, max] = pick([['*', 0, 3], ['+', 1, 3], ['?', 0, 1], ['{2}', 2, 2], ['{1,3}', 1, 3], ['{2,}', 2, 4]] as const);
    const lazy = r() < 0.2 ? '?' : '';
    return {
      src: `(?:${inner.src})${q}${lazy}`,
      sample: (s) => Array.from({ length: min + Math.floor(s() * (max - min + 1)) }, () => inner.sample(s)).join(''),
    };
  };
  return gen;
}

test('on generated filters and paths the engine agrees with V8 (^(?:f)$), seeded', () => {
  const seed = 20261204;
  const r = rng(seed);
  const gen = generator(r);
  let matched = 0;
  let checked = 0;
  let refused = 0;
  for (let n = 0; n < 400; n++) {
    const g = gen(4);
    const c = compilePathFilter(g.src);
    if (c.error !== undefined) {
      // A program too large whose DFA costs more than the budget to build: refused, with that reason.
      assert.match(c.error, /does not fit in \d+ states within \d+ work units/, g.src);
      refused++;
      continue;
    }
    const m = c.matcher;
    const v8 = new RegExp(`^(?:${g.src})$`);
    for (let k = 0; k < 12; k++) {
      let path = g.sample(r);
      // Half the paths are mutated: a unit changed, dropped or added.
      if (k % 2 === 1 && path.length > 0) {
        const at = Math.floor(r() * path.length);
        const c = ['a', '/', '1', 'x', ''][Math.floor(r() * 5)]!;
        path = r() < 0.5 ? path.slice(0, at) + c + path.slice(at + 1) : path.slice(0, at) + c + path.slice(at);
      }
      const want = v8.test(path);
      assert.equal(pathMatches(m, path), want, `seed ${seed}, filter ${JSON.stringify(g.src)}, path ${JSON.stringify(path)}`);
      matched += want ? 1 : 0;
      checked++;
    }
  }
  assert.ok(matched > checked / 4 && matched < checked * 3 / 4, `both outcomes are exercised: ${matched} of ${checked} matched`);
  assert.ok(refused <= 8, `${refused} of 400 generated filters were refused`);
});

// Filters that make a backtracking engine take exponential or polynomial time.
function nastyFilters(): string[] {
  const alternation = (n: number): string => `(${Array.from({ length: n }, (_, i) => 'a'.repeat(1 + (i % 7)) + (i % 3 === 0 ? '' : 'b')).join('|')})*`;
  const filters = [
    '/(a*){12}', '.*.*.*.*.*.*.*x', '/api/.*/.*/.*/x', '(a+)+$', '(a*)*b', '((a+)+)+b', '(a|aa)+b', '(a|a?)+b', '(.*a){12}',
    '(a+)+', '(a|aa)+', '(.*a){20}', '(a|a)*!', '(a*)*$', '((a|b)*)*c', '(\\d{1,3}\\.){3}\\d{1,3}!', '(a{1,100}){1,3}!', 'a{4000}',
    '((a|b){1,40}){1,3}c', '(x+x+)+y', '(\\w+\\d+)+C', '(a{1,10}){1,10}b', '(a?){30}a{30}', '.*a.{9}', '(a|b|ab|ba)*c', '((((a*)*)*)*)*b',
    '(/[^/]*)*x', '(/.*)*/x', '(?:a*?){20}b', '(.*)*(.*)*(.*)*!', '(a|\\w|\\d|[a-z0-9])*!', '[a-z]*[a-z]*[a-z]*1',
    '.*'.repeat(200) + 'x', '(.*){100}x', '(a*)'.repeat(170) + '!', alternation(140), '(' + 'a|'.repeat(500) + 'b)*!',
    '(' + '('.repeat(100) + 'a*' + ')*'.repeat(100) + ')!',
  ];
  return filters.filter((f) => f.length <= MAX_FILTER_SOURCE);
}

function nastyPaths(): string[] {
  const n = MAX_FILTERED_PATH;
  return [
    'a'.repeat(n - 1) + '!', '/' + 'a'.repeat(n - 1), '/api/' + '/'.repeat(n - 5), 'ab'.repeat(n / 2), '/' + 'a1'.repeat(n / 2 - 1) + '/',
    'x'.repeat(n), '/' + 'a'.repeat(22) + '!', '/' + 'a'.repeat(70), Array.from({ length: n }, (_, i) => ((i * 7) % 3 === 0 ? 'a' : 'b')).join(''),
  ];
}

/**
 * Instructions a match may visit per path unit: none for a DFA built in full when it is set,
 * one closure (each instruction at most twice: once, and once after `$`) per cache miss otherwise.
 */
const WORK_PER_UNIT = 2 * (MAX_LAZY_PROGRAM + 1);

test('nasty filters on nasty paths: each match is bounded in work per unit and in wall time', () => {
  const filters = nastyFilters();
  assert.ok(filters.length >= 25 && filters.some((f) => f.length > 900), 'the corpus holds long filters too');
  let worst = { ms: 0, what: '' };
  for (const f of filters) {
    const c = timed(() => compilePathFilter(f));
    assert.equal(c.value.error, undefined, `${f.slice(0, 60)}: ${c.value.error}`);
    assert.ok(c.ms < 500, `compiling ${f.slice(0, 60)} took ${c.ms} ms`);
    for (const p of nastyPaths()) {
      // Twice: the first run builds DFA states, the second reads them.
      for (let round = 0; round < 2; round++) {
        const m = c.value.matcher!;
        const before = m.work;
        const t = timed(() => pathMatches(m, p));
        assert.ok(m.work - before <= WORK_PER_UNIT * p.length, `${f.slice(0, 60)} on ${p.slice(0, 20)}...: ${m.work - before} instructions for ${p.length} units`);
        if (t.ms > worst.ms) worst = { ms: t.ms, what: `${f.slice(0, 60)} on ${p.slice(0, 20)}... (${p.length})` };
        assert.ok(t.ms < 50, `${f.slice(0, 60)} on ${p.slice(0, 20)}... took ${t.ms} ms`);
      }
    }
  }
  assert.ok(worst.ms < 50, `worst: ${worst.what}, ${worst.ms} ms`);
});

test('random long filters (up to 1,024 characters) on random 2,048-character paths are bounded too', () => {
  const r = rng(77);
  const gen = generator(r);
  let accepted = 0;
  for (let n = 0; n < 60; n++) {
    let src = '';
    // Long filters are mostly lists of endpoints: an alternation of generated pieces.
    for (let piece = '/' + gen(2).src; src.length + piece.length < MAX_FILTER_SOURCE; piece = '/' + gen(2).src) src += (src ? '|' : '') + piece;
    const c = compilePathFilter(src);
    if (c.error !== undefined) continue; // a program too large to bound: refused when set, which is the point
    accepted++;
    for (let k = 0; k < 4; k++) {
      const p = Array.from({ length: MAX_FILTERED_PATH }, () => '/ab1-.x'[Math.floor(r() * 7)]).join('');
      const before = c.matcher!.work;
      const t = timed(() => pathMatches(c.matcher, p));
      assert.ok(c.matcher!.work - before <= WORK_PER_UNIT * p.length, `seed 77, filter #${n}: ${c.matcher!.work - before} instructions`);
      assert.ok(t.ms < 50, `seed 77, filter #${n} on a random path took ${t.ms} ms`);
    }
  }
  assert.ok(accepted >= 10, `only ${accepted} of the random long filters compiled`);
});

test('a lazy DFA\'s cache is bounded: unique paths fill it, it is cleared and refilled, matches stay right and linear', () => {
  // Each unit of a random a/b path is a new state of this filter's DFA (it remembers the last 29 units).
  const f = '[ab]*a[ab]{28}';
  const m = compiled(f)!;
  const v8 = new RegExp(`^(?:${f})$`);
  const r = rng(5);
  let full = -1;
  let matched = 0;
  for (let n = 0; n < 40; n++) {
    const p = Array.from({ length: MAX_FILTERED_PATH }, () => (r() < 0.5 ? 'a' : 'b')).join('');
    const before = m.work;
    const got = pathMatches(m, p);
    assert.equal(got, v8.test(p), `path #${n}`);
    matched += got ? 1 : 0;
    assert.ok(m.work - before <= WORK_PER_UNIT * p.length, `path #${n}: ${m.work - before} instructions for ${p.length} units`);
    assert.ok(m.states <= m.maxStates, `${m.states} states, at most ${m.maxStates}`);
    // Tables grow by doubling up to TABLE_ENTRIES and POOL_ENTRIES (4 bytes each), never past them.
    assert.ok(m.bytes < 1.5 * 2 ** 20, `path #${n}: the tables hold ${m.bytes} bytes`);
    if (n === 30) full = m.bytes;
  }
  assert.equal(m.bytes, full, 'the tables have stopped growing');
  assert.ok(m.resets >= 10, `the cache was cleared ${m.resets} times`);
  assert.ok(matched > 5 && matched < 35, `${matched} of 40 matched`);
});

test('only the first MAX_FILTERED_PATH characters of a path are evaluated', () => {
  const long = '/' + 'a'.repeat(MAX_FILTERED_PATH * 4);
  assert.equal(matches('/a+', long), true);
  assert.equal(matches('/a+', long + '!'), true, 'what follows the limit is not read');
  assert.equal(matches('/a{2047}', long), true);
  assert.equal(matches('/a{2048}', long), false);
});

test('matching allocates nothing: five million matches trigger at most one garbage collection', async () => {
  const { PerformanceObserver } = await import('node:perf_hooks');
  const m = compiled('/(users|orders)/[0-9]+|/api/.*');
  const paths = ['/users/123456789012345678901234', '/api/products/1234?fields=all', '/orders/12x', '/health'];
  const ends = paths.map((p) => (p.indexOf('?') === -1 ? p.length : p.indexOf('?')));
  let hits = 0;
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) if (pathMatches(m, paths[i & 3]!, ends[i & 3]!)) hits++;
  };
  run(200_000); // warm-up: the JIT and the DFA's states
  hits = 0;
  let gcs = 0;
  const obs = new PerformanceObserver((list) => { gcs += list.getEntries().length; });
  obs.observe({ entryTypes: ['gc'] });
  run(5_000_000);
  await new Promise((r) => setTimeout(r, 50)); // gc entries are delivered asynchronously
  obs.disconnect();
  assert.equal(hits, 2_500_000);
  // 16 bytes a match would be 80 MB: dozens of scavenges. One may be the runner's own.
  assert.ok(gcs <= 1, `${gcs} collections during five million matches`);
});

/** Work units compilePathFilter spends building a filter's DFA (null when refused before building). */
function compileUnits(filter: string): number | null {
  const tree = parseRegex(filter);
  if (programSize(tree) > MAX_PROGRAM) return null;
  const dfa = new LazyDfa(buildProgram(tree));
  dfa.explore(EXPLORE_BUDGET);
  return dfa.units;
}

/**
 * The most one compile may cost: the budget, plus the last state built past it (a closure and
 * list scans of at most MAX_PROGRAM entries each) and one doubling of each table (2^17 entries at most).
 */
const COMPILE_UNITS = EXPLORE_BUDGET + 8 * MAX_PROGRAM + 2 * (1 << 17);

test('the worst compile is bounded in work units, whether the filter is accepted or refused', () => {
  const worst = ['(.?){2000}', '(a?){2000}', '(.?){1000}(.?){1000}', '.*a.{600}', '.*(a|b).{3000}'];
  for (const f of worst) {
    const units = compileUnits(f)!;
    assert.ok(units <= COMPILE_UNITS, `${f}: ${units} work units, at most ${COMPILE_UNITS}`);
    assert.match(compilePathFilter(f).error!, /does not fit in \d+ states within 500000 work units/, f);
  }
  // The longest list of endpoints is built in full well within the budget.
  const words = ['users', 'orders', 'products', 'items', 'carts', 'health', 'metrics', 'admin', 'login', 'search'];
  const parts: string[] = [];
  for (let i = 0; ; i++) {
    const part = `/api/v${i % 3}/${words[i % 10]}/[0-9]+(/${words[(i * 3) % 10]}/.*)?`;
    if ([...parts, part].join('|').length > MAX_FILTER_SOURCE) break;
    parts.push(part);
  }
  const list = compilePathFilter(parts.join('|'));
  assert.equal(list.error, undefined, list.error);
  assert.ok(list.matcher!.units < EXPLORE_BUDGET / 2, `the endpoint list took ${list.matcher!.units} work units`);
});

test('generated hostile filters each compile within the unit budget, accepted or refused with a reason', () => {
  const r = rng(99);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const wide = (i: number): string => String.fromCharCode(0x100 + 3 * i);
  const makers: Array<() => string> = [
    () => `(.?){${int(500, 2000)}}`,
    () => `(${['a', '.', '[ab]', '\\w'][int(0, 3)]}${['?', '*', '|b'][int(0, 2)]}){${int(100, 1000)}}`,
    () => `.*a.{${int(50, 3000)}}`,
    () => `((a|b|ab){1,${int(5, 40)}}){1,${int(2, 9)}}c`,
    () => {
      const depth = int(20, 120);
      return '('.repeat(depth) + 'a|b' + ')*'.repeat(depth) + '!';
    },
    () => `(${Array.from({ length: int(50, 300) }, (_, i) => wide(i)).join('|')})*x`,
    () => Array.from({ length: int(50, 200) }, (_, i) => `[${wide(i)}-${wide(i + 1)}]`).join(''),
    () => '.*' + Array.from({ length: int(50, 450) }, (_, i) => wide(i)).join(''),
    () => `(.*${Array.from({ length: int(2, 12) }, (_, i) => wide(i)).join('')}){${int(10, 300)}}`,
    () => Array.from({ length: int(50, 140) }, (_, i) => `[${wide(i)}a-z]?`).join(''),
  ];
  let accepted = 0;
  let refused = 0;
  for (let n = 0; n < 60; n++) {
    const f = makers[n % makers.length]!();
    const c = compilePathFilter(f);
    if (c.error !== undefined) {
      assert.match(c.error, /^pathFilter ".*" is refused: (it makes a program|its automaton does not fit)/, f.slice(0, 60));
      refused++;
    } else {
      accepted++;
    }
    const units = c.error !== undefined && !/work units/.test(c.error) ? null : compileUnits(f);
    if (units !== null) assert.ok(units <= COMPILE_UNITS, `seed 99, #${n} ${f.slice(0, 60)}: ${units} work units`);
  }
  assert.ok(accepted > 5 && refused > 5, `${accepted} accepted, ${refused} refused`);
});

test('a filter is compiled once when settings are checked and then applied (Recorder.apply)', () => {
  const f = '/(users|orders)/[0-9]+';
  const first = compilePathFilter(f);
  assert.equal(compilePathFilter(f), first, 'the same source twice in a row is not built again');
  const refused = compilePathFilter('(.?){2000}');
  assert.equal(compilePathFilter('(.?){2000}'), refused, 'nor is a refused one');
  // apply() checks the settings (which compiles the filter) and then takes its matcher.
  const recorder = new Recorder(64, [], { ...defaultLiveSettings, pathFilter: '/api/[0-9]+' });
  const applied = (recorder as unknown as { filter: PathMatcher }).filter;
  assert.equal(compilePathFilter('/api/[0-9]+').matcher, applied, 'the matcher applied is the one the check built');
  assert.notEqual(compilePathFilter(f).matcher, first.matcher, 'another filter in between builds it afresh');
  assert.match(recorder.apply({ ...defaultLiveSettings, pathFilter: '(a)\\1' }, 1)!, /backreferences/);
  assert.equal((recorder as unknown as { filter: PathMatcher }).filter, applied, 'a refused filter keeps the one applied');
});
