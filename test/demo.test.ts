// `npm start`: the demo ends by itself and its final table accounts for every request.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { cleanEnv, repoRoot } from './helpers/service-process.js';

test('the demo runs its load, prints the final per-route table and the dashboard URL, and ends by itself', async (t) => {
  const child = spawn(process.execPath, ['dist/demo/start.js', '--seconds', '2'], { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, out);
  const m = /final per-route table \((\d+) requests\):\n([\s\S]*?)\n\ndashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
  assert.ok(m, out.slice(-2000));
  const rows = m[2]!.split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  assert.deepEqual(rows.map((r) => r[1]).sort(), ['/api/orders/:id', '/api/products', '/api/products/:id', '/api/search', '/health']);
  assert.equal(rows.reduce((sum, r) => sum + Number(r[2]), 0), Number(m[1]), 'every request sent is in the table');
});
