// Starts a fixture service as a real child process, instrumented the way a user does
// it (`node --import nodeflight/agent app`), and collects what it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const fixture = (name: string): string => fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));

export interface Service {
  url: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
  stop(): Promise<number | string>;
}

export interface ServiceOptions {
  env?: Record<string, string>;
  preload?: 'import' | 'require' | 'none';
  /** More node flags, before the script. */
  nodeArgs?: string[];
  timeoutMs?: number;
}

/** The environment of the test runner minus any NODEFLIGHT_* setting it may carry. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NODEFLIGHT_') && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, ...extra };
}

export async function startService(name: string, options: ServiceOptions = {}): Promise<Service> {
  const preload = options.preload ?? 'import';
  const args = [...(options.nodeArgs ?? []), ...(preload === 'none' ? [] : [`--${preload}`, 'nodeflight/agent'])];
  const child = spawn(process.execPath, [...args, fixture(name)], { cwd: repoRoot, env: cleanEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  const port = await waitFor(() => /listening (\d+)/.exec(out)?.[1], options.timeoutMs ?? 15_000, () => `service ${name} did not start; stderr: ${err}`, exited);
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Polls `probe` until it returns a value, failing with `why()` after `timeoutMs` or if `dead` settles first. */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, why: () => string, dead?: Promise<unknown>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void dead?.then(() => { gone = true; });
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (gone) throw new Error(`${why()} (the process exited)`);
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 25));
  }
}
