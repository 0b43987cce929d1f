// The load generator: a child process (pinned to its own core by the harness) that
// drives load over keep-alive undici connections to 127.0.0.1 for a fixed time and
// reports how many requests completed and their latency percentiles. Closed loop by
// default (`connections x pipelining` requests always in flight: the most the service
// can do); with `rate`, open loop at that many requests per second, latency counted from
// when each request fell due, so a stalled server is charged for the requests it held up
// (no coordinated omission). It keeps its connection pool between runs against the
// same origin, so the warm-up opens the connections and the timed window reuses them.
//
//   harness -> { type: 'run', id, origin, paths, connections, pipelining, durationMs }
//   loadgen -> { type: 'result', id, requests, errors, non2xx, elapsedMs, p50Ms, p99Ms }
import { performance } from 'node:perf_hooks';
import { Pool, type Dispatcher } from 'undici';

export interface RunRequest {
  type: 'run';
  id: number;
  origin: string;
  paths: string[];
  connections: number;
  pipelining: number;
  durationMs: number;
  /** Requests per second, open loop; absent: closed loop. */
  rate?: number;
  /** Closed loop: send exactly this many requests (or fewer if `durationMs` ends first). */
  count?: number;
}

export interface RunResult {
  type: 'result';
  id: number;
  requests: number;
  errors: number;
  non2xx: number;
  elapsedMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Open loop: requests that fell due but found no idle slot before the end (the service fell behind). */
  unsent: number;
  /** The load generator's own CPU time over the run (to tell its share of the client core). */
  cpuUs: number;
  firstError?: string;
}

/** Hard bounds, whatever the harness asks for. */
const MAX_DURATION_MS = 120_000;
const MAX_IN_FLIGHT = 1024;
const MAX_SAMPLES = 4_000_000;
const MAX_RATE = 1_000_000;

let pool: Pool | null = null;
let poolKey = '';

function poolFor(origin: string, connections: number, pipelining: number): Pool {
  const key = `${origin} ${connections} ${pipelining}`;
  if (pool !== null && poolKey === key) return pool;
  void pool?.destroy();
  poolKey = key;
  pool = new Pool(origin, { connections, pipelining, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
  return pool;
}

/** The value at a percentile of sorted samples (nearest rank, as HdrHistogram). */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export async function run(r: RunRequest): Promise<RunResult> {
  if (!r.origin.startsWith('http://127.0.0.1:')) throw new Error(`the load generator only targets 127.0.0.1, not ${r.origin}`);
  const durationMs = Math.min(Math.max(r.durationMs, 1), MAX_DURATION_MS);
  const inFlight = Math.min(Math.max(1, r.connections * r.pipelining), MAX_IN_FLIGHT);
  const p = poolFor(r.origin, r.connections, r.pipelining);
  const samples = new Float64Array(MAX_SAMPLES);
  let n = 0;
  let requests = 0;
  let errors = 0;
  let non2xx = 0;
  let firstError: string | undefined;
  let next = 0;
  const { paths } = r;
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  const until = started + durationMs;

  const rate = r.rate === undefined ? 0 : Math.min(Math.max(r.rate, 1), MAX_RATE);
  const count = r.count === undefined ? Infinity : Math.max(0, Math.floor(r.count));
  // Open loop: the number of requests due by time t is (t - started) * rate; a 1 ms timer
  // and every completion send what is due on the idle slots. A request waiting for a
  // slot keeps the time it fell due (t0), so the wait counts in its latency.
  const intervalMs = rate > 0 ? 1000 / rate : 0;
  let due = 0;
  let unsent = 0;
  let timer: NodeJS.Timeout | undefined;

  // One reusable handler per in-flight slot, on undici's raw dispatch API: no promise,
  // stream or parsed-headers object per request, so the client core stays ahead of the
  // server (request() with a body stream measured ~2x more client CPU per request).
  await new Promise<void>((resolve) => {
    let running = inFlight;
    const idle: Slot[] = [];
    // Due times of requests not sent yet (a queue: read from dueHead on).
    const dueTimes: number[] = [];
    let dueHead = 0;
    const finished = (): void => {
      if (--running === 0) {
        clearInterval(timer);
        resolve();
      }
    };
    /** Open loop: the requests due by now, sent on idle slots or queued with their due time. */
    const sendDue = (): void => {
      const now = performance.now();
      if (now >= until) {
        // No new request falls due; the idle slots are done, the busy ones finish theirs.
        for (; idle.length > 0; idle.pop()) finished();
        unsent = dueTimes.length - dueHead;
        return;
      }
      const total = Math.floor((now - started) / intervalMs);
      for (; due < total; due++) dueTimes.push(now);
      while (idle.length > 0 && dueHead < dueTimes.length) idle.pop()!.dispatch(dueTimes[dueHead++]!);
      if (dueHead === dueTimes.length) dueHead = dueTimes.length = 0;
    };
    class Slot {
      t0 = 0;
      status = 0;
      send(): void {
        if (rate > 0) {
          idle.push(this);
          return sendDue();
        }
        if (next >= count || performance.now() >= until) return finished();
        this.dispatch(performance.now());
      }
      dispatch(t0: number): void {
        this.t0 = t0;
        p.dispatch({ path: paths[next++ % paths.length]!, method: 'GET' }, this as unknown as Dispatcher.DispatchHandler);
      }
      onConnect(): void {}
      onHeaders(statusCode: number): boolean {
        this.status = statusCode;
        return true;
      }
      onData(): boolean {
        return true;
      }
      onComplete(): void {
        if (this.status < 200 || this.status > 299) non2xx++;
        requests++;
        if (n < MAX_SAMPLES) samples[n++] = performance.now() - this.t0;
        this.send();
      }
      onError(err: Error): void {
        errors++;
        firstError ??= String(err?.message ?? err);
        // A refused or reset connection would otherwise spin: back off a little.
        setTimeout(() => this.send(), 10);
      }
    }
    if (rate > 0) timer = setInterval(sendDue, 1);
    for (let i = 0; i < inFlight; i++) new Slot().send();
  });
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const sorted = samples.subarray(0, n).sort();
  return { type: 'result', id: r.id, requests, errors, non2xx, elapsedMs, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), unsent, cpuUs: cpu.user + cpu.system, firstError };
}

if (typeof process.send === 'function') {
  process.on('message', (m: RunRequest | { type: 'close' }) => {
    if (m.type === 'close') {
      void pool?.destroy();
      pool = null;
      return;
    }
    if (m.type === 'run') {
      run(m).then(
        (result) => process.send!(result),
        (err: unknown) => process.send!({ type: 'result', id: m.id, error: String((err as Error)?.stack ?? err) }),
      );
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready' });
}
