// The layout holds: the import graph of the TypeScript sources has no cycle, and each
// folder imports only what its README.md says it may. Read from the sources (relative
// `import ... from`, `export ... from`, `import '...'` and `import('...')`), type-only
// imports included: a type cycle is still two modules that cannot be read apart.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** What tsc compiles, so that a new folder is walked too (and fails until it has a rule). */
const SOURCE_DIRS = (JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { include: string[] }).include;

/**
 * What each folder may import besides itself. A file belongs to its collector subfolder,
 * else to its top-level folder. '*' is anything; test/, bench/ and demo/ drive the
 * product from outside, and nothing in the product imports them.
 */
const ALLOWED: Record<string, string[] | '*'> = {
  types: [],
  protocol: [],
  recording: ['protocol'],
  agent: ['protocol', 'recording'],
  'collector/http': [],
  'collector/stats': ['protocol'],
  'collector/ingest': ['protocol', 'collector/stats', 'collector/http'],
  'collector/control': ['protocol', 'recording', 'collector/ingest'],
  'collector/api': ['protocol', 'collector/http', 'collector/stats', 'collector/ingest', 'collector/control'],
  collector: [
    'protocol', 'recording',
    'collector/http', 'collector/stats', 'collector/ingest', 'collector/control', 'collector/api',
  ],
  cli: ['protocol', 'recording', 'collector', 'collector/stats'],
  test: '*',
  bench: '*',
  demo: '*',
};
/** Folders of the product, each opening with a README.md that states its part of ALLOWED. */
const PRODUCT = Object.keys(ALLOWED).filter((z) => !['types', 'test', 'bench', 'demo'].includes(z));

type Graph = Map<string, string[]>;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative specifiers of one file; comment lines are dropped first so that prose naming a module is no edge. */
export function specifiers(text: string): string[] {
  const code = text.split('\n').filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line)).join('\n');
  const found = [
    ...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  return found.filter((s) => s.startsWith('./') || s.startsWith('../'));
}

/** file -> the files it imports, repo-relative; a specifier that names no source file is listed in `unresolved`. */
function importGraph(): { graph: Graph; unresolved: string[] } {
  const graph: Graph = new Map();
  const unresolved: string[] = [];
  for (const file of SOURCE_DIRS.flatMap(sourceFiles)) {
    const edges: string[] = [];
    for (const spec of specifiers(readFileSync(join(root, file), 'utf8'))) {
      const target = relative(root, resolve(root, dirname(file), spec.replace(/\.js$/, '.ts')));
      if (existsSync(join(root, target)) && target.endsWith('.ts')) edges.push(target);
      else if (!existsSync(join(root, dirname(file), spec))) unresolved.push(`${file}: '${spec}'`);
    }
    graph.set(file, edges);
  }
  return { graph, unresolved };
}

/** Every cycle, as the path that closes it (a -> b -> a), one per strongly connected group of files. */
export function cycles(graph: Graph): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') out.push([...stack.slice(stack.indexOf(g)), g]);
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
  return out;
}

export function zoneOf(file: string): string {
  const parts = file.split('/');
  return parts[0] === 'collector' && parts.length > 2 ? `collector/${parts[1]}` : parts[0]!;
}

/** Imports that cross into a folder their own folder may not import, as `from -> to (zone -> zone)`. */
export function forbidden(graph: Graph, allowed: Record<string, string[] | '*'>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const rule = allowed[zoneOf(from)];
    for (const to of targets) {
      const a = zoneOf(from);
      const b = zoneOf(to);
      if (a === b || rule === '*') continue;
      if (rule === undefined || !rule.includes(b)) out.push(`${from} -> ${to} (${a} may not import ${b})`);
    }
  }
  return out;
}

test('the graph reader finds static, re-exported, type-only and dynamic imports, and skips comments', () => {
  // `dyn` keeps the dynamic imports of this sample from being read as this file's own.
  const dyn = 'import';
  const text = [
    "import { a } from './a.js';",
    'import type {',
    '  B,',
    "} from '../b.js';",
    "export * from './c.js';",
    "import './d.js';",
    `const e = () => ${dyn}('./e.js');`,
    "// import { f } from './f.js';",
    ` * see ${dyn}('./g.js')`,
    "import { h } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(specifiers(text).sort(), ['../b.js', './a.js', './c.js', './d.js', './e.js']);
  const { graph } = importGraph();
  // A reader that finds nothing would pass every rule below: a few edges that exist must be seen.
  for (const [from, to] of [
    ['collector/index.ts', 'collector/ingest/ingest.ts'],
    ['collector/api/handler.ts', 'collector/api/control-api.ts'],
    ['collector/api/control-api.ts', 'collector/control/control.ts'],
    ['cli/nodeflight.ts', 'cli/collector-cli.ts'],
    ['agent/hooks/http-server.ts', 'agent/recorder.ts'],
  ] as const) {
    assert.ok(graph.get(from)?.includes(to), `${from} -> ${to} not found; it has: ${graph.get(from)?.join(', ')}`);
  }
});

test('cycles() and forbidden() report what they find', () => {
  const g: Graph = new Map([
    ['agent/a.ts', ['collector/b.ts']],
    ['collector/b.ts', ['collector/c.ts']],
    ['collector/c.ts', ['collector/b.ts']],
  ]);
  assert.deepEqual(cycles(g), [['collector/b.ts', 'collector/c.ts', 'collector/b.ts']]);
  assert.deepEqual(forbidden(g, { agent: ['protocol'], collector: [] }), [
    'agent/a.ts -> collector/b.ts (agent may not import collector)',
  ]);
});

test('every relative import names a source file', () => {
  assert.deepEqual(importGraph().unresolved, []);
});

test('no import cycle', () => {
  const found = cycles(importGraph().graph);
  assert.equal(found.length, 0, `import cycles:\n${found.map((c) => `  ${c.join(' -> ')}`).join('\n')}`);
});

test('each folder imports only what it may', () => {
  const { graph } = importGraph();
  const unknown = [...new Set([...graph.keys()].map(zoneOf))].filter((z) => !(z in ALLOWED));
  assert.deepEqual(unknown, [], 'a new folder needs its rule in ALLOWED and a README.md');
  const bad = forbidden(graph, ALLOWED);
  assert.equal(bad.length, 0, `forbidden imports:\n${bad.map((b) => `  ${b}`).join('\n')}`);
});

test('each folder of the product opens with a README.md naming what it may import', () => {
  for (const zone of PRODUCT) {
    const path = join(root, zone, 'README.md');
    assert.ok(existsSync(path), `${zone}/README.md is missing`);
    const text = readFileSync(path, 'utf8');
    const rule = ALLOWED[zone] as string[];
    const named = rule.length === 0 ? /imports nothing/i.test(text) : rule.every((z) => text.includes(`${z}/`));
    assert.ok(named, `${zone}/README.md does not state its imports (${rule.join(', ') || 'nothing'})`);
  }
});
