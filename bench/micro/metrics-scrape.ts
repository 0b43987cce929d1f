// (e) GET /metrics with 1,000 busy routes (busy-routes.ts), in each format: the scrape
// timed end to end, and the longest the collector's event loop was held meanwhile (what
// an agent's batch arriving then would wait), measured as the widest gap between
// consecutive turns of a setImmediate chain running in the same process. Before each
// GET (untimed) one more batch puts events on every route, so no route's pieces are reused.
// The body size is reported with the timing: bytes a route costs each format.
import { request } from 'undici';
import { ROUTES, startBusyCollector } from './busy-routes.js';
import { runCase, summarizeRounds, type CaseOptions, type Result } from './timing.js';

const FORMATS: ReadonlyArray<readonly [string, string]> = [
  ['text', 'text/plain; version=0.0.4'],
  ['openmetrics', 'application/openmetrics-text; version=1.0.0'],
  ['protobuf', 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited'],
];

/** Widest gap between setImmediate turns while `during` runs, in ns. */
async function longestBlock<T>(during: () => Promise<T>): Promise<[T, number]> {
  let widest = 0;
  let last = process.hrtime.bigint();
  let running = true;
  const tick = (): void => {
    const now = process.hrtime.bigint();
    widest = Math.max(widest, Number(now - last));
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return [await during(), widest];
  } finally {
    running = false;
  }
}

async function metricsScrape(o: CaseOptions): Promise<Result[]> {
  const { collector, touch, close } = await startBusyCollector(o, 'bench-metrics');
  try {
    const results: Result[] = [];
    for (const [name, accept] of FORMATS) {
      let size = 0;
      const once1 = async (): Promise<[number, number]> => {
        await touch();
        const t0 = process.hrtime.bigint();
        const [bytes, block] = await longestBlock(async () => {
          const res = await request(`${collector.url}/metrics`, { headers: { accept } });
          const body = Buffer.from(await res.body.arrayBuffer());
          if (res.statusCode !== 200) throw new Error(`/metrics (${name}): HTTP ${res.statusCode}`);
          return body;
        });
        const ns = Number(process.hrtime.bigint() - t0);
        // Wiring: every route is in the answer.
        const routes = new Set(bytes.toString('latin1').match(/resource-\d+/g)).size;
        if (routes !== ROUTES) throw new Error(`/metrics (${name}): ${routes} routes, expected ${ROUTES}`);
        size = bytes.length;
        return [ns, block];
      };
      const first = await once1();
      const rounds = Math.max(3, Math.min(o.rounds, Math.floor(3e9 / first[0])));
      for (let i = 0; i < Math.max(1, Math.min(o.warmup, rounds)); i++) await once1();
      const total: number[] = [];
      const blocks: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const [ns, block] = await once1();
        total.push(ns);
        blocks.push(block);
      }
      const extra = { routes: ROUTES, bytes: size, bytesPerRoute: Math.round(size / ROUTES) };
      results.push(summarizeRounds(`GET /metrics (${name})`, 'GET', total, 1, extra));
      results.push(summarizeRounds(`GET /metrics (${name}): longest block`, 'GET', blocks, 1, { routes: ROUTES }));
    }
    return results;
  } finally {
    await close();
  }
}

await runCase({ 'metrics-scrape': metricsScrape });
