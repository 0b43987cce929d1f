// The package ships the product only, and an app that preloads the agent needs only the
// agent's dependencies: the packed tarball is installed into a new app beside just those.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './helpers/service-process.js';

interface Manifest { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string> }
const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...opts, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('npm pack ships the compiled product, the dashboard and the license, and no tests, benchmarks or demo', async () => {
  const r = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot });
  assert.equal(r.code, 0, r.stderr);
  const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
  assert.deepEqual(files.filter((f) => /^(dist\/)?(test|bench|demo|examples)\//.test(f) || f.endsWith('.ts') && !f.endsWith('.d.ts')), []);
  for (const f of ['dist/agent/index.js', 'agent/require.cjs', 'dist/collector/index.js', 'dist/cli/nodeflight.js', 'collector/dashboard/index.html', 'LICENSE', 'README.md']) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
});

/** The installed packages `names` need, found in the repo's node_modules. */
function closure(names: string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const dir = join(repoRoot, 'node_modules', name);
    if (seen.has(name) || !existsSync(dir)) return;
    seen.add(name);
    const m = manifest(dir);
    for (const dep of Object.keys({ ...m.dependencies, ...m.optionalDependencies })) visit(dep);
  };
  names.forEach(visit);
  return [...seen];
}

test('an app with only the agent\'s dependencies records its requests; the collector command says what to install', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: repoRoot });
  assert.equal(packed.code, 0, packed.stderr);
  const app = join(dir, 'app');
  const modules = join(app, 'node_modules');
  mkdirSync(join(modules, 'nodeflight'), { recursive: true });
  const untar = await run('tar', ['-xzf', join(dir, packed.stdout.trim().split('\n').pop()!), '-C', join(modules, 'nodeflight'), '--strip-components=1'], { cwd: dir });
  assert.equal(untar.code, 0, untar.stderr);

  const own = manifest(repoRoot);
  const installed = closure(Object.keys(own.dependencies ?? {}));
  for (const peer of Object.keys(own.peerDependencies ?? {})) assert.ok(!installed.includes(peer), `${peer} comes in only as a peer`);
  for (const name of installed) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules', name), join(modules, name), 'dir');
  }

  // The app's own manifest stops Node's package self-reference from walking up past the app.
  writeFileSync(join(app, 'package.json'), '{"name": "app", "private": true}\n');
  const dump = join(dir, 'app.nfr');
  writeFileSync(join(app, 'app.mjs'), `import { createServer, get } from 'node:http';
const server = createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => {
  get(\`http://127.0.0.1:\${server.address().port}/hello\`, (res) => { res.resume(); res.on('end', () => server.close()); });
});\n`);
  const env = { PATH: process.env.PATH, NODEFLIGHT_DUMP: dump };
  const agent = await run(process.execPath, ['--import', 'nodeflight/agent', 'app.mjs'], { cwd: app, env });
  assert.equal(agent.code, 0, agent.stderr);
  assert.equal(agent.stderr, '');
  assert.ok(existsSync(dump), 'the agent wrote its exit dump');
  const printed = await run(process.execPath, [join(repoRoot, 'dist/cli/nodeflight.js'), 'print', '--json', dump], { cwd: app });
  assert.equal((JSON.parse(printed.stdout) as { events: Array<{ path: string }> }).events.map((e) => e.path).join(), '/hello');

  const collector = await run(process.execPath, [join(modules, 'nodeflight/dist/cli/nodeflight.js'), 'collector', '--port', '0'], { cwd: app, env });
  assert.equal(collector.code, 1);
  assert.match(collector.stderr, /^nodeflight: collector needs the package [\w-]+, .*: npm install( [\w-]+)+\n$/);
  for (const peer of ['ws', 'hdr-histogram-js', 'uplot']) assert.ok(collector.stderr.includes(` ${peer}`), `the message names ${peer}`);
});
