import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePathFilter, MAX_FILTERED_PATH, pathMatches } from '../protocol/path-filter.js';

function matches(filter: string, path: string): boolean {
  const c = compilePathFilter(filter);
  assert.equal(c.error, undefined, c.error);
  return pathMatches(c.regex!, path);
}

test('the filter must match the whole path, as Pattern.matches does', () => {
  assert.equal(matches('/api', '/api'), true);
  assert.equal(matches('/api', '/api/x'), false);
  assert.equal(matches('/api', '/v1/api'), false);
  assert.equal(matches('/api/.*', '/api/x'), true);
  assert.equal(matches('/a|/b', '/b'), true, 'alternation is grouped before anchoring');
  assert.equal(matches('/a|/b', '/ab'), false);
  assert.equal(compilePathFilter('.*').regex, null, 'the default skips matching entirely');
});

test('invalid and catastrophic expressions are refused with a reason', () => {
  assert.match(compilePathFilter('/api/(').error!, /not a valid regular expression/);
  for (const bad of ['(a+)+$', '(a*)*', '(/[a-z]+)*', '(a|aa)+', '((ab)*c)+', '(x+){2,}', '(a)\\1']) {
    assert.ok(compilePathFilter(bad).error, `${bad} should be refused`);
  }
  for (const ok of ['/users/[0-9]+', '/(api|admin)/.*', '/a+/b*', '(/x)?/y', '[(]+', '/v{1,3}', '\\(a+\\)+']) {
    assert.equal(compilePathFilter(ok).error, undefined, `${ok} should be accepted`);
  }
});

test('only the first MAX_FILTERED_PATH characters of a path are evaluated', () => {
  const long = '/' + 'a'.repeat(MAX_FILTERED_PATH * 4);
  const started = process.hrtime.bigint();
  assert.equal(matches('/a+', long), true);
  assert.ok(process.hrtime.bigint() - started < 1_000_000_000n);
});
