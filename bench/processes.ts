// Child processes of the macro benchmark: services, the load generator and the
// collector, each pinned to a core where `taskset` exists, each talking to the harness
// over an IPC channel, and each exiting by itself when that channel closes (so a killed
// harness leaves nothing behind).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const benchSource = (file: string): string => fileURLToPath(new URL(`../../bench/${file}`, import.meta.url));
export const distBench = (file: string): string => fileURLToPath(new URL(`./${file}`, import.meta.url));

/** Server on core 1; load generator, collector and harness on core 0. */
export const SERVER_CORE = 1;
export const CLIENT_CORE = 0;

export function tasksetPath(): string | null {
  if (process.platform !== 'linux' || cpus().length < 2) return null;
  for (const p of ['/usr/bin/taskset', '/bin/taskset']) if (existsSync(p)) return p;
  return null;
}

/** Moves every thread of this process to the client core, off the server's. */
export function pinSelf(taskset: string | null): void {
  if (taskset === null) return;
  try {
    execFileSync(taskset, ['-a', '-p', '-c', String(CLIENT_CORE), String(process.pid)], { stdio: 'ignore' });
  } catch {
    // Pinning the harness is a refinement; the children are pinned on their own.
  }
}

/** The environment a child gets: this one minus any NODEFLIGHT_* setting or NODE_OPTIONS. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('NODEFLIGHT_') && !k.startsWith('BENCH_') && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return { ...env, ...extra };
}

const live = new Set<ChildProcess>();

/** Kills every child still running; safe to call more than once. */
export function killAll(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  live.clear();
}

export class Child {
  readonly process: ChildProcess;
  private stderrText = '';
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly exited: Promise<void>;
  private readyMessage: Record<string, unknown> | null = null;
  private readyWaiter: ((m: Record<string, unknown>) => void) | null = null;

  /** `wrap` runs node under another command (valgrind) that keeps node's pid, environment and descriptors. */
  constructor(
    readonly name: string,
    args: string[],
    options: { core: number; taskset: string | null; env: NodeJS.ProcessEnv; wrap?: string[] },
  ) {
    const argv = [...(options.wrap?.slice(1) ?? []), process.execPath, ...args];
    let command = options.wrap?.[0] ?? argv.shift()!;
    if (options.taskset) {
      argv.unshift('-c', String(options.core), command);
      command = options.taskset;
    }
    // taskset execs node in place, so the pid, the IPC descriptor and the environment
    // that carries it are the service's own.
    this.process = spawn(command, argv, { cwd: repoRoot, env: options.env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    live.add(this.process);
    this.process.stderr!.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderrText.length < 64 * 1024) this.stderrText += d;
    });
    this.process.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'ready') {
        this.readyMessage = m;
        this.readyWaiter?.(m);
        return;
      }
      const waiter = this.pending.get(m.id as number);
      if (!waiter) return;
      this.pending.delete(m.id as number);
      if (typeof m.error === 'string') waiter.reject(new Error(`${this.name}: ${m.error}`));
      else waiter.resolve(m);
    });
    this.exited = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        live.delete(this.process);
        const why = new Error(`${this.name} exited (${code ?? signal}) unexpectedly; stderr:\n${this.stderrText.trim() || '(empty)'}`);
        for (const w of this.pending.values()) w.reject(why);
        this.pending.clear();
        resolve();
      });
    });
  }

  get pid(): number {
    return this.process.pid!;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Resolves with the child's `ready` message. */
  ready(timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const m = this.readyMessage;
    return this.withTimeout(m ? Promise.resolve(m) : new Promise((resolve) => { this.readyWaiter = resolve; }), timeoutMs, 'to start');
  }

  /** Sends a request and resolves with the reply carrying the same id. */
  request<T>(message: Record<string, unknown>, timeoutMs: number): Promise<T> {
    const id = this.nextId++;
    const reply = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.process.send({ ...message, id });
    return this.withTimeout(reply, timeoutMs, `to answer ${String(message.type)}`);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
    await this.exited;
  }

  private withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} took more than ${ms} ms ${what}; stderr:\n${this.stderrText.trim() || '(empty)'}`)), ms);
    });
    const died = this.exited.then(() => { throw new Error(`${this.name} exited before ${what.replace(/^to /, '')}; stderr:\n${this.stderrText.trim() || '(empty)'}`); });
    return Promise.race([p, timeout, died]).finally(() => clearTimeout(timer));
  }
}
