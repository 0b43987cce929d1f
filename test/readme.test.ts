import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { settingsMarkdown } from '../protocol/settings-table.js';
import { repoRoot } from './helpers/service-process.js';

test('the README settings table is the declared settings table', () => {
  const readme = readFileSync(`${repoRoot}README.md`, 'utf8');
  const m = /<!-- settings-table:start -->\n([\s\S]*?)\n<!-- settings-table:end -->/.exec(readme);
  assert.ok(m, 'the README has a settings table between its markers');
  assert.equal(m[1], settingsMarkdown(), 'regenerate it with: node -e "import(\'./dist/protocol/settings-table.js\').then(m => console.log(m.settingsMarkdown()))"');
});

test('the README gives the two set-up commands and .ci/run calls the same test command', () => {
  const readme = readFileSync(`${repoRoot}README.md`, 'utf8');
  assert.ok(readme.includes('npm install && npm start'));
  assert.ok(readme.includes('npm test'));
  assert.match(readFileSync(`${repoRoot}.ci/run`, 'utf8'), /^npm test$/m);
});

const docFiles = ['README.md', ...readdirSync(`${repoRoot}docs`).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const readDoc = (file: string) => readFileSync(`${repoRoot}${file}`, 'utf8');
/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
const anchor = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');

test('every relative link in the README and docs/ names a file (and a heading) that exists', () => {
  const broken: string[] = [];
  for (const file of docFiles) {
    for (const [, target] of readDoc(file).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path, hash] = target.split('#');
      const resolved = path === '' ? file : join(dirname(file), path);
      if (!existsSync(`${repoRoot}${resolved}`)) { broken.push(`${file}: ${target}`); continue; }
      if (hash && resolved.endsWith('.md')) {
        const headings = [...readDoc(resolved).matchAll(/^#+ (.*)$/gm)].map((m) => anchor(m[1]));
        if (!headings.includes(hash)) broken.push(`${file}: ${target} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('docs/api.md names every path the collector serves', () => {
  const api = readDoc('docs/api.md');
  const dir = `${repoRoot}collector/api`;
  const missing: string[] = [];
  let paths = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    for (const [, path] of readFileSync(join(dir, f), 'utf8').matchAll(/\.(?:get|put|post|delete|patch)\('(\/[^']*)'/g)) {
      if (path.startsWith('/dashboard/') || path === '/ingest') continue;
      paths++;
      const versioned = path === '/metrics' ? path : `/v1${path}`;
      if (!api.includes(versioned)) missing.push(`${versioned} (collector/api/${f})`);
    }
  }
  assert.ok(paths >= 15, `found only ${paths} paths in collector/api/`);
  assert.deepEqual(missing, [], 'each path needs its row in docs/api.md');
});

test('the README or docs/ name every collector flag and its environment variable', () => {
  const all = docFiles.map(readDoc).join('\n');
  const config = readFileSync(`${repoRoot}collector/config.ts`, 'utf8');
  const names = [...config.matchAll(/(?:flag|env): '([^']+)'/g)].map((m) => m[1]);
  assert.ok(names.length >= 12, 'collector/config.ts declares its flags as { flag, env }');
  const missing = names.filter((n) => !all.includes(n.startsWith('NODEFLIGHT_COLLECTOR_') ? n.slice('NODEFLIGHT_COLLECTOR'.length) : n));
  assert.deepEqual(missing, []);
});
