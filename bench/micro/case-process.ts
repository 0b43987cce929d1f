// Runs one microbenchmark case in a fresh process (pinned to the server core where
// taskset exists) and collects the JSON results it prints. Shared by every micro
// harness; a harness that is interrupted kills the case it was running.
import { spawn, type ChildProcess } from 'node:child_process';
import { cleanEnv, distBench, repoRoot, SERVER_CORE } from '../processes.js';
import type { Result } from './timing.js';

const running = new Set<ChildProcess>();
let handlersInstalled = false;

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const killAll = () => { for (const c of running) c.kill('SIGKILL'); };
  process.once('exit', killAll);
  process.once('SIGINT', () => { killAll(); process.exit(130); });
  process.once('SIGTERM', () => { killAll(); process.exit(143); });
}

/** Runs `dist/bench/<script> <name> ...flags`; resolves with its results, rejects with its stderr. */
export function runCaseProcess(script: string, name: string, flags: string[], taskset: string | null, timeoutMs = 180_000): Promise<Result[]> {
  installHandlers();
  const argv = [distBench(script), name, ...flags];
  const child = taskset
    ? spawn(taskset, ['-c', String(SERVER_CORE), process.execPath, ...argv], { cwd: repoRoot, env: cleanEnv() })
    : spawn(process.execPath, argv, { cwd: repoRoot, env: cleanEnv() });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (code !== 0) return reject(new Error(`micro case ${name} failed (${code ?? signal}):\n${err.trim()}`));
      resolve(out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Result));
    });
  });
}
