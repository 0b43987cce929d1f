// Timing for the microbenchmarks. Every case runs in a fresh process (micro.ts starts
// one per case) so that no case inherits another's JIT feedback, runs warm-up rounds
// that are thrown away, then timed rounds of a fixed number of operations; it reports
// the median and the min over rounds. A first reading of the agent path taken without
// warm-up measured ~600 ns/request: that was the JIT, not the agent.
//
// Rounds are timed in CPU time (user + system of the process), not wall time: on a
// shared machine another process preempting this one inflates wall time by whatever
// ran meanwhile (a run under load average 10 read 367 ns wall for a 160 ns path), while
// CPU time counts only this process, its GC threads included.
import type dc from 'node:diagnostics_channel';

export interface Result {
  case: string;
  /** What one operation is: 'request', 'event', 'GET'. */
  per: string;
  /** ns per operation for ns cases; for rate cases the same, and `perSecond` is set. */
  medianNs: number;
  minNs: number;
  maxNs: number;
  rounds: number;
  opsPerRound: number;
  /** Anything else worth keeping (bytes per event, counters that prove the wiring). */
  extra?: Record<string, unknown>;
}

export interface CaseOptions {
  rounds: number;
  warmup: number;
  /** Multiplies each case's default operations per round (the smoke test makes it small). */
  scale: number;
}

export function parseCaseArgs(argv: string[]): { name: string; options: CaseOptions } {
  const [name, ...rest] = argv;
  const get = (flag: string, fallback: number): number => {
    const i = rest.indexOf(flag);
    const v = i === -1 ? fallback : Number(rest[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${flag} must be a positive number`);
    return v;
  };
  if (!name) throw new Error('usage: <case> [--rounds N] [--warmup N] [--scale X]');
  return { name, options: { rounds: Math.round(get('--rounds', 30)), warmup: Math.round(get('--warmup', 20)), scale: get('--scale', 1) } };
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** CPU time of this process (all its threads), in ns; Linux accounts it to the ns, reports µs. */
export function cpuNs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
}

function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export function summarizeRounds(name: string, per: string, nsPerOp: number[], opsPerRound: number, extra?: Record<string, unknown>): Result {
  const s = sorted(nsPerOp);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { case: name, per, medianNs: median, minNs: s[0]!, maxNs: s[s.length - 1]!, rounds: s.length, opsPerRound, extra };
}

/**
 * Runs `body(ops)` for `warmup` rounds untimed, then `rounds` timed rounds; returns the
 * CPU ns per operation of each timed round. The event loop runs between rounds (the
 * agent's flush timer included), never inside one.
 */
export async function timeRounds(body: (ops: number) => void, ops: number, o: CaseOptions): Promise<number[]> {
  for (let r = 0; r < o.warmup; r++) {
    body(ops);
    await yieldToLoop();
  }
  const out: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const t0 = cpuNs();
    body(ops);
    out.push((cpuNs() - t0) / ops);
    await yieldToLoop();
  }
  return out;
}

/** Runs one case of a scenario file as the child process micro.ts started; prints JSON. */
export async function runCase(cases: Record<string, (o: CaseOptions) => Promise<Result | Result[]>>): Promise<void> {
  try {
    const { name, options } = parseCaseArgs(process.argv.slice(2));
    const run = cases[name];
    if (!run) throw new Error(`unknown case ${JSON.stringify(name)}; known: ${Object.keys(cases).join(', ')}`);
    const results = await run(options);
    for (const r of Array.isArray(results) ? results : [results]) process.stdout.write(`${JSON.stringify(r)}\n`);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  }
}

/**
 * A floor case: `publish` (ops events a round, each a pair of messages on `start` then
 * `end`) with a subscriber that does nothing on both, which the agent's cases stand on.
 */
export async function floorCase(name: string, per: string, o: CaseOptions, ops: number, start: dc.Channel, end: dc.Channel, publish: (ops: number) => void): Promise<Result> {
  let calls = 0;
  const onMessage = (): void => { calls++; };
  start.subscribe(onMessage);
  end.subscribe(onMessage);
  try {
    const rounds = await timeRounds(publish, ops, o);
    if (calls !== 2 * ops * (o.warmup + o.rounds)) throw new Error(`${name}: calls do not match publishes`);
    return summarizeRounds(name, per, rounds, ops);
  } finally {
    start.unsubscribe(onMessage);
    end.unsubscribe(onMessage);
  }
}
