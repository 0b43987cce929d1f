// Benchmark harnesses run by the smoke tests: each as the leader of its own process group,
// so that everything it starts can be found (and, on failure, killed) through the group.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './service-process.js';

export interface HarnessExit { code: number | null; signal: string | null; stdout: string; stderr: string; pgid: number }

/** Runs dist/bench/`script` with a clean NODEFLIGHT_* environment; the group is killed after `timeoutMs` or the test. */
export function runHarness(script: string, args: string[], t: { after(fn: () => void): void }, timeoutMs = 55_000): Promise<HarnessExit> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NODEFLIGHT_') || k === 'NODE_OPTIONS') delete env[k];
  const child = spawn(process.execPath, [join(repoRoot, 'dist/bench', script), ...args], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pgid = child.pid!;
  t.after(() => killGroup(pgid));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timer = setTimeout(() => killGroup(pgid), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pgid });
    });
  });
}

export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // The group is already empty.
  }
}

/** Waits (bounded) until no process of the group is left. */
export async function groupGone(pgid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
