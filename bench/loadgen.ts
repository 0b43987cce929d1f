// The load generator: a child process (pinned to its own core by the harness) that
// drives a closed loop of `connections x pipelining` requests in flight over keep-alive
// undici connections to 127.0.0.1, for a fixed time, and reports how many completed
// and their latency percentiles. It keeps its connection pool between runs against the
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
  /** The load generator's own CPU time over the run (to tell its share of the client core). */
  cpuUs: number;
  firstError?: string;
}

/** Hard bounds, whatever the harness asks for. */
const MAX_DURATION_MS = 120_000;
const MAX_IN_FLIGHT = 1024;
const MAX_SAMPLES = 4_000_000;

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

  // One reusable handler per in-flight slot, on undici's raw dispatch API: no promise,
  // stream or parsed-headers object per request, so the client core stays ahead of the
  // server (request() with a body stream measured ~2x more client CPU per request).
  await new Promise<void>((resolve) => {
    let running = inFlight;
    const finished = (): void => {
      if (--running === 0) resolve();
    };
    class Slot {
      t0 = 0;
      status = 0;
      send(): void {
        if (performance.now() >= until) return finished();
        this.t0 = performance.now();
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
    for (let i = 0; i < inFlight; i++) new Slot().send();
  });
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const sorted = samples.subarray(0, n).sort();
  return { type: 'result', id: r.id, requests, errors, non2xx, elapsedMs, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), cpuUs: cpu.user + cpu.system, firstError };
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
