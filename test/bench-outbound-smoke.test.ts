// The streams' microbenchmark runs end to end (no timing asserted): every case checks its
// own wiring, so a hook that no longer records fails here rather than measuring nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnv, repoRoot } from './helpers/service-process.js';

test('node dist/bench/micro-outbound.js --quick prints every figure', () => {
  const script = fileURLToPath(new URL('../bench/micro-outbound.js', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--quick', '--no-pin'], { cwd: repoRoot, env: cleanEnv(), encoding: 'utf8', timeout: 90_000 });
  assert.equal(r.status, 0, r.stderr);
  for (const figure of ['agent per undici / fetch call', 'agent per node:http client call', 'symbol property / WeakMap', 'one runtime sample', 'idle CPU', 'GC observer per collection']) {
    assert.match(r.stdout, new RegExp(`${figure.replace(/[/.]/g, '\\$&')}.* \\| [-\\d.,]+ (ns|µs|µs/s)`), figure);
  }
});
