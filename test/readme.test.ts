import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
