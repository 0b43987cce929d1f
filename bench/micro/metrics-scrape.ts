// (e) GET /metrics with busy routes (busy-routes.ts: 100, 1,000 and 2,000, the default
// route cap), in each format: the scrape end to end, and the longest the collector's
// event loop was held meanwhile (what an agent's batch arriving then would wait), as the
// widest gap between consecutive turns of a setImmediate chain in the same process.
// Both in CPU time, as the other cases (timing.ts): under load a wall-clock gap is
// mostly other processes running; the wall-clock gap is reported beside it. The scraper
// (undici) runs in the same process, so its reading of the body is counted too. Before
// each GET (untimed) one more batch puts events on every route, so no route's pieces are
// reused. The body size is reported with the timing: bytes a route costs each format.
import { request } from 'undici';
import { ROUTES, startBusyCollector } from './busy-routes.js';
import { cpuNs, runCase, summarizeRounds, type CaseOptions, type Result } from './timing.js';

const FORMATS: ReadonlyArray<readonly [string, string]> = [
  ['text', 'text/plain; version=0.0.4'],
  ['openmetrics', 'application/openmetrics-text; version=1.0.0'],
  ['protobuf', 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited'],
];
const SIZES = [100, ROUTES, 2000];

interface Gaps { cpu: number; wall: number }

/** Widest CPU and wall-clock gaps between setImmediate turns while `during` runs, in ns. */
async function longestBlock<T>(during: () => Promise<T>): Promise<[T, Gaps]> {
  const widest: Gaps = { cpu: 0, wall: 0 };
  let lastWall = process.hrtime.bigint();
  let lastCpu = cpuNs();
  let running = true;
  const tick = (): void => {
    const wall = process.hrtime.bigint();
    const cpu = cpuNs();
    widest.wall = Math.max(widest.wall, Number(wall - lastWall));
    widest.cpu = Math.max(widest.cpu, cpu - lastCpu);
    lastWall = wall;
    lastCpu = cpu;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return [await during(), widest];
  } finally {
    running = false;
  }
}

/** The name micro.ts's budget reads: 1,000 routes as `GET /metrics (text)`, other sizes with their count. */
const caseName = (format: string, routes: number): string =>
  `GET /metrics (${format}${routes === ROUTES ? '' : `, ${routes.toLocaleString('en')} routes`})`;

async function scrapes(o: CaseOptions, routes: number): Promise<Result[]> {
  const { collector, touch, close } = await startBusyCollector(o, 'bench-metrics', routes);
  try {
    const results: Result[] = [];
    for (const [name, accept] of FORMATS) {
      let size = 0;
      const once1 = async (): Promise<[number, Gaps]> => {
        await touch();
        const t0 = cpuNs();
        const [bytes, block] = await longestBlock(async () => {
          const res = await request(`${collector.url}/metrics`, { headers: { accept } });
          const body = Buffer.from(await res.body.arrayBuffer());
          if (res.statusCode !== 200) throw new Error(`/metrics (${name}): HTTP ${res.statusCode}`);
          return body;
        });
        const ns = cpuNs() - t0;
        // Wiring: every route is in the answer.
        const seen = new Set(bytes.toString('latin1').match(/resource-\d+/g)).size;
        if (seen !== routes) throw new Error(`/metrics (${name}): ${seen} routes, expected ${routes}`);
        size = bytes.length;
        return [ns, block];
      };
      const first = await once1();
      // About 1.5 s of CPU a format and size: the case stays within micro.ts's 3 minutes on a busy machine.
      const rounds = Math.max(3, Math.min(o.rounds, Math.floor(1.5e9 / first[0])));
      for (let i = 0; i < Math.min(o.warmup, 3); i++) await once1();
      const total: number[] = [];
      const cpu: number[] = [];
      const wall: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const [ns, block] = await once1();
        total.push(ns);
        cpu.push(block.cpu);
        wall.push(block.wall);
      }
      const label = caseName(name, routes);
      const extra = { routes, bytes: size, bytesPerRoute: Math.round(size / routes) };
      results.push(summarizeRounds(label, 'GET', total, 1, extra));
      results.push(summarizeRounds(`${label}: longest block`, 'GET', cpu, 1, { routes }));
      results.push(summarizeRounds(`${label}: longest block, wall clock`, 'GET', wall, 1, { routes }));
    }
    return results;
  } finally {
    await close();
  }
}

async function metricsScrape(o: CaseOptions): Promise<Result[]> {
  const results: Result[] = [];
  for (const routes of SIZES) results.push(...await scrapes(o, Math.max(2, Math.round(routes * Math.min(1, o.scale)))));
  return results;
}

await runCase({ 'metrics-scrape': metricsScrape });
