// A real Prometheus server and promtool (Debian's `prometheus` package, which .ci/run
// installs), run by the tests on 127.0.0.1 with their own config and a temporary TSDB.
// Never a system service: each test starts its own server and stops it.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { waitFor } from './service-process.js';

export const examplesDir = fileURLToPath(new URL('../../../examples/', import.meta.url));

/** The absolute path of `name` on PATH, or null. */
export function findTool(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this folder
    }
  }
  return null;
}

/**
 * Null when the tools are there; else the reason to skip. In CI, which installs them,
 * a missing tool is a failure, not a skip.
 */
export function missingTools(...names: string[]): string | null {
  const missing = names.filter((n) => findTool(n) === null);
  if (missing.length === 0) return null;
  const why = `${missing.join(' and ')} not on PATH`;
  if (process.env.CI) throw new Error(`.ci/run installs prometheus, yet ${why}`);
  return `${why} (apt-get install prometheus; .ci/run installs it)`;
}

export interface Run { code: number | null; stdout: string; stderr: string }

/** Runs promtool to its end; `input` goes to its stdin. */
export function promtool(args: string[], input?: string, cwd?: string): Run {
  const r = spawnSync('promtool', args, { input, cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export interface PromSample { metric: Record<string, string>; value: [number, string] }

export interface PrometheusServer {
  url: string;
  stderr(): string;
  /** An instant query through the HTTP API; `time` in seconds since the epoch. */
  query(expr: string, time?: number): Promise<PromSample[]>;
  /** Resolves once a scrape of every target that started after `sinceMs` has succeeded. */
  scrapedSince(sinceMs: number, timeoutMs?: number): Promise<void>;
  rules(): Promise<any[]>;
  /** /api/v1/query_exemplars over [start, end], seconds since the epoch. */
  exemplars(expr: string, start: number, end: number): Promise<Array<{ seriesLabels: Record<string, string>; exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }> }>>;
  targets(): Promise<Array<{ health: string; lastScrape: string; lastError: string; scrapeUrl: string }>>;
  /** Resolves once `probe` answers; fails with what it last saw (`why`) after `timeoutMs`. */
  until<T>(probe: () => Promise<T | undefined>, why: () => string, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** host:port of each collector. */
  targets: string[];
  /** Absolute paths. */
  ruleFiles?: string[];
  intervalS?: number;
  /** --enable-feature values, e.g. `native-histograms,exemplar-storage`. */
  features?: string;
}

/** Starts `prometheus` scraping `targets` every `intervalS` (default 1 s). */
export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-prom-'));
  const interval = `${opts.intervalS ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    ...(opts.ruleFiles?.length ? ['rule_files:', ...opts.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
    'scrape_configs:',
    '  - job_name: nodeflight',
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: ${JSON.stringify(opts.targets)}`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  // A port found free may be taken before Prometheus binds it: try again then.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await launch(dir, port, opts.features);
    } catch (err) {
      if (attempt === 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

async function launch(dir: string, port: number, features: string | undefined): Promise<PrometheusServer> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
    ...(features === undefined ? [] : [`--enable-feature=${features}`]),
  ], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const reap = (): void => { child.kill('SIGKILL'); };
  process.once('exit', reap);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = once(child, 'exit');

  async function api<T>(path: string): Promise<T> {
    const res = await request(url + path);
    const body = await res.body.json() as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.statusCode}`);
    return body.data;
  }

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', reap);
  }

  try {
    await waitFor(async () => {
      try {
        const res = await request(`${url}/-/ready`);
        await res.body.dump();
        return res.statusCode === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    }, 20_000, () => `prometheus did not get ready; stderr: ${err}`, exited);
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    url,
    stderr: () => err,
    async query(expr, time) {
      const q = new URLSearchParams({ query: expr });
      if (time !== undefined) q.set('time', String(time));
      return (await api<{ result: PromSample[] }>(`/api/v1/query?${q}`)).result;
    },
    async scrapedSince(sinceMs, timeoutMs = 20_000) {
      let last: unknown;
      await waitFor(async () => {
        const { activeTargets } = await api<{ activeTargets: Array<{ health: string; lastScrape: string; lastError: string }> }>('/api/v1/targets');
        last = activeTargets;
        return activeTargets.length > 0 && activeTargets.every((t) => t.health === 'up' && Date.parse(t.lastScrape) > sinceMs) ? true : undefined;
      }, timeoutMs, () => `no successful scrape since ${new Date(sinceMs).toISOString()}; targets: ${JSON.stringify(last)}`);
    },
    async rules() {
      return (await api<{ groups: any[] }>('/api/v1/rules')).groups;
    },
    async exemplars(expr, start, end) {
      return api(`/api/v1/query_exemplars?${new URLSearchParams({ query: expr, start: String(start), end: String(end) })}`);
    },
    async targets() {
      return (await api<{ activeTargets: any[] }>('/api/v1/targets')).activeTargets;
    },
    until(probe, why, timeoutMs = 60_000) {
      return waitFor(probe, timeoutMs, () => `${why()}; prometheus stderr: ${err.slice(-2000)}`, exited);
    },
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
