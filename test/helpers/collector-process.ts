// Runs the real collector CLI (`node dist/cli/nodeflight.js collector`) as a child
// process, as a user would, and reads the URL from the one line it prints.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { cleanEnv, repoRoot, type Service } from './service-process.js';

const bin = fileURLToPath(new URL('../../cli/nodeflight.js', import.meta.url));

/** `stop()` sends SIGTERM, then SIGKILL if the collector has not exited within 5 s. */
export type CollectorProcess = Service;

export interface CollectorProcessOptions {
  token?: string;
  /** More CLI arguments, after `collector --port 0`. */
  args?: string[];
  env?: Record<string, string>;
  timeoutMs?: number;
}

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, 'collector', ...args], { cwd: repoRoot, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  // Should the test process end without stopping it, do not leave a collector behind.
  const reap = (): void => { child.kill('SIGKILL'); };
  process.once('exit', reap);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = once(child, 'exit').then(([code, signal]) => {
    process.off('exit', reap);
    return (code ?? signal) as number | string;
  });
  return { child, exited, stdout: () => out, stderr: () => err };
}

export async function startCollectorProcess(opts: CollectorProcessOptions = {}): Promise<CollectorProcess> {
  const args = ['--port', '0', ...(opts.token === undefined ? [] : ['--token', opts.token]), ...(opts.args ?? [])];
  const p = run(args, opts.env);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(`printed no URL within ${timeoutMs} ms`), timeoutMs);
    const onData = (): void => {
      const m = /^nodeflight collector listening on (https?:\/\/\S+)\n/.exec(p.stdout());
      if (m) {
        done();
        resolve(m[1]!);
      }
    };
    const onExit = (): void => fail('exited before printing its URL');
    function done(): void {
      clearTimeout(timer);
      p.child.stdout!.off('data', onData);
      p.child.off('exit', onExit);
    }
    function fail(why: string): void {
      done();
      p.child.kill('SIGKILL');
      reject(new Error(`the collector ${why}; stderr: ${p.stderr()}`));
    }
    p.child.stdout!.on('data', onData);
    p.child.once('exit', onExit);
  });
  return {
    url,
    ...p,
    async stop() {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        const timer = setTimeout(() => p.child.kill('SIGKILL'), 5000);
        await p.exited;
        clearTimeout(timer);
      }
      return p.exited;
    },
  };
}

/** Runs the CLI to its end (for arguments it should refuse), killing it after `timeoutMs`. */
export async function runCollectorCli(args: string[], env: Record<string, string> = {}, timeoutMs = 10_000): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = run(args, env);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}
