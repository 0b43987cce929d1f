// (d) GET /v1/routes with 1,000 busy routes (busy-routes.ts), timed end to end (request
// sent to last byte read), for all time and for the windows that decode retained
// interval snapshots. Before each GET (untimed) one more batch puts events on every route.
import { request } from 'undici';
import { ROUTES, startBusyCollector } from './busy-routes.js';
import { runCase, summarizeRounds, type CaseOptions, type Result } from './timing.js';

async function timeGet(url: string, o: CaseOptions, name: string, touch: () => Promise<void>): Promise<Result> {
  const once1 = async (): Promise<number> => {
    await touch();
    const t0 = process.hrtime.bigint();
    const res = await request(url);
    const body = await res.body.text();
    const ns = Number(process.hrtime.bigint() - t0);
    if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`);
    const count = (JSON.parse(body) as { routes: unknown[] }).routes.length;
    if (count !== ROUTES) throw new Error(`${url}: ${count} routes, expected ${ROUTES}`);
    return ns;
  };
  // Slow queries get fewer rounds, so a query stays within ~5 s.
  const first = await once1();
  const rounds = Math.max(3, Math.min(o.rounds, Math.floor(2e9 / first)));
  const warmup = Math.max(1, Math.min(o.warmup, Math.floor(2e9 / first)));
  for (let i = 0; i < warmup; i++) await once1();
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) out.push(await once1());
  return summarizeRounds(name, 'GET', out, 1, { routes: ROUTES });
}

async function routesApi(o: CaseOptions): Promise<Result[]> {
  const { collector, touch, close } = await startBusyCollector(o, 'bench-routes-api');
  try {
    const base = `${collector.url}/v1/routes`;
    return [
      await timeGet(base, o, 'GET /v1/routes', touch),
      await timeGet(`${base}?window=60s`, o, 'GET /v1/routes?window=60s', touch),
      await timeGet(`${base}?window=5m`, o, 'GET /v1/routes?window=5m', touch),
    ];
  } finally {
    await close();
  }
}

await runCase({ 'routes-api': routesApi });
