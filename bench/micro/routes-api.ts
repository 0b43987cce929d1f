// (d) GET /v1/routes with 1,000 routes: a collector started with the programmatic API
// (its clock injected, so that five minutes of 5 s intervals pass in a moment), fed by
// a WebSocket client speaking the agent protocol, one batch per interval with events on
// every route; then the REST call timed end to end (request sent to last byte read),
// for all time and for the windows that decode retained interval snapshots. Before each
// GET (untimed) one more batch puts events on every route: the collector reuses a
// route's figures while it records nothing, and the busy case is the one to measure.
import { once } from 'node:events';
import { request } from 'undici';
import WebSocket from 'ws';
import { startCollector } from '../../collector/index.js';
import { createDecoder, createEncoder } from '../../protocol/codec.js';
import { INGEST_PATH, PROTOCOL_VERSION, type EventColumns } from '../../protocol/messages.js';
import { defaultLiveSettings } from '../../protocol/settings.js';
import { runCase, summarizeRounds, type CaseOptions, type Result } from './timing.js';

const ROUTES = 1000;
const EVENTS_PER_ROUTE = 8;
/** 5 minutes of the collector's 5 s intervals, each with events on every route. */
const INTERVALS = 61;

function batch(seq: number, start: number): { t: 'batch'; seq: number; counters: object; events: EventColumns } {
  const n = ROUTES * EVENTS_PER_ROUTE;
  const strings = ['GET'];
  for (let r = 0; r < ROUTES; r++) strings.push(`/api/v1/resource-${r}/:id`);
  const events: EventColumns = {
    count: n, strings,
    start: new Float64Array(n).fill(start), duration: Float64Array.from({ length: n }, (_, i) => 0.05 + ((i * 7919) % 5000) / 100),
    method: new Uint32Array(n), path: Uint32Array.from({ length: n }, (_, i) => 1 + (i % ROUTES)), route: Uint32Array.from({ length: n }, (_, i) => 1 + (i % ROUTES)),
    status: Uint16Array.from({ length: n }, (_, i) => (i % 97 === 0 ? 500 : 200)), size: new Float64Array(n).fill(512), flags: new Uint8Array(n),
  };
  const sent = (seq - 1) * n;
  return { t: 'batch', seq, counters: { recorded: sent + n, filtered: 0, dropped: 0, sent, buffered: n, hookErrors: 0 }, events };
}

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
  let now = Date.UTC(2026, 0, 1);
  const collector = await startCollector({ port: 0, host: '127.0.0.1', clock: () => now });
  const ws = new WebSocket(collector.url.replace('http:', 'ws:') + INGEST_PATH, { perMessageDeflate: false });
  try {
    await once(ws, 'open');
    const packr = createEncoder();
    const unpackr = createDecoder();
    const replies: Array<{ t: string; seq?: number }> = [];
    let wake: (() => void) | null = null;
    ws.on('message', (data: Buffer) => {
      replies.push(unpackr.unpack(data) as { t: string; seq?: number });
      wake?.();
    });
    const reply = async (t: string): Promise<void> => {
      for (;;) {
        const i = replies.findIndex((m) => m.t === t);
        if (i !== -1) return void replies.splice(i, 1);
        await new Promise<void>((resolve) => { wake = resolve; });
      }
    };
    ws.send(packr.pack({
      t: 'hello', protocol: PROTOCOL_VERSION, agentId: 'bench-routes-api', service: 'bench', host: 'bench', pid: process.pid,
      nodeVersion: process.version, agentVersion: '0.0.0', startTime: now, settings: defaultLiveSettings, settingsVersion: 0,
    }));
    await reply('welcome');
    const intervals = Math.max(2, Math.round(INTERVALS * Math.min(1, o.scale)));
    for (let k = 1; k <= intervals; k++) {
      now += 5000;
      ws.send(packr.pack(batch(k, now)));
      await reply('ack');
    }
    let seq = intervals;
    const touch = async (): Promise<void> => {
      ws.send(packr.pack(batch(++seq, now)));
      await reply('ack');
    };
    const base = `${collector.url}/v1/routes`;
    return [
      await timeGet(base, o, 'GET /v1/routes', touch),
      await timeGet(`${base}?window=60s`, o, 'GET /v1/routes?window=60s', touch),
      await timeGet(`${base}?window=5m`, o, 'GET /v1/routes?window=5m', touch),
    ];
  } finally {
    ws.terminate();
    await collector.close();
  }
}

await runCase({ 'routes-api': routesApi });
