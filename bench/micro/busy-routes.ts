// Busy routes (1,000 unless told) for the collector cases (routes-api, metrics-scrape): a collector
// started with the programmatic API (its clock injected, so that five minutes of 5 s
// intervals pass in a moment), fed by a WebSocket client speaking the agent protocol,
// one batch per interval with events on every route. touch() sends one more batch, so
// that every route has changed since the last read: the collector reuses a route's
// figures while it records nothing, and the busy case is the one to measure.
import { once } from 'node:events';
import WebSocket from 'ws';
import { startCollector, type Collector } from '../../collector/index.js';
import { createDecoder, createEncoder } from '../../protocol/codec.js';
import { INGEST_PATH, PROTOCOL_VERSION, type EventColumns } from '../../protocol/messages.js';
import { MAX_BLOCK_EVENTS } from '../../protocol/validate.js';
import { defaultLiveSettings } from '../../protocol/settings.js';
import type { CaseOptions } from './timing.js';

export const ROUTES = 1000;
const EVENTS_PER_ROUTE = 8;
/** 5 minutes of the collector's 5 s intervals, each with events on every route. */
const INTERVALS = 61;

function batch(seq: number, start: number, routes: number): { t: 'batch'; seq: number; counters: object; events: EventColumns } {
  // One message holds at most MAX_BLOCK_EVENTS (2,000 routes get 4 events each).
  const n = routes * Math.min(EVENTS_PER_ROUTE, Math.floor(MAX_BLOCK_EVENTS / routes));
  const strings = ['GET'];
  for (let r = 0; r < routes; r++) strings.push(`/api/v1/resource-${r}/:id`);
  const events: EventColumns = {
    count: n, strings,
    start: new Float64Array(n).fill(start), duration: Float64Array.from({ length: n }, (_, i) => 0.05 + ((i * 7919) % 5000) / 100),
    method: new Uint32Array(n), path: Uint32Array.from({ length: n }, (_, i) => 1 + (i % routes)), route: Uint32Array.from({ length: n }, (_, i) => 1 + (i % routes)),
    status: Uint16Array.from({ length: n }, (_, i) => (i % 97 === 0 ? 500 : 200)), size: new Float64Array(n).fill(512), flags: new Uint8Array(n),
  };
  const sent = (seq - 1) * n;
  return { t: 'batch', seq, counters: { recorded: sent + n, filtered: 0, dropped: 0, sent, buffered: n, hookErrors: 0 }, events };
}

export interface BusyCollector {
  collector: Collector;
  touch(): Promise<void>;
  close(): Promise<void>;
}

export async function startBusyCollector(o: CaseOptions, name: string, routes = ROUTES): Promise<BusyCollector> {
  let now = Date.UTC(2026, 0, 1);
  const collector = await startCollector({ port: 0, host: '127.0.0.1', clock: () => now });
  const ws = new WebSocket(collector.url.replace('http:', 'ws:') + INGEST_PATH, { perMessageDeflate: false });
  const close = async (): Promise<void> => {
    ws.terminate();
    await collector.close();
  };
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
      t: 'hello', protocol: PROTOCOL_VERSION, agentId: name, service: 'bench', host: 'bench', pid: process.pid,
      nodeVersion: process.version, agentVersion: '0.0.0', startTime: now, settings: defaultLiveSettings, settingsVersion: 0,
    }));
    await reply('welcome');
    const intervals = Math.max(2, Math.round(INTERVALS * Math.min(1, o.scale)));
    for (let k = 1; k <= intervals; k++) {
      now += 5000;
      ws.send(packr.pack(batch(k, now, routes)));
      await reply('ack');
    }
    let seq = intervals;
    const touch = async (): Promise<void> => {
      ws.send(packr.pack(batch(++seq, now, routes)));
      await reply('ack');
    };
    return { collector, touch, close };
  } catch (err) {
    await close();
    throw err;
  }
}
