// A scripted agent for collector tests: a real `ws` client speaking protocol v1 with
// batches built as the agent builds them (typed-array columns, interned strings).
import { once } from 'node:events';
import WebSocket from 'ws';
import { createDecoder, createEncoder } from '../../protocol/codec.js';
import { defaultLiveSettings } from '../../protocol/settings.js';
import { EventFlag, PROTOCOL_VERSION, type Counters, type EventColumns } from '../../protocol/messages.js';

export interface Row {
  durationMs: number;
  method?: string;
  path?: string;
  /** Defaults to the path. */
  route?: string;
  status?: number;
  size?: number;
  aborted?: boolean;
  start?: number;
}

export function columns(rows: Row[]): EventColumns {
  const strings: string[] = [];
  const index = new Map<string, number>();
  const intern = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) index.set(s, (i = strings.push(s) - 1));
    return i;
  };
  const n = rows.length;
  const c: EventColumns = {
    count: n, strings, start: new Float64Array(n), duration: new Float64Array(n), method: new Uint32Array(n), path: new Uint32Array(n),
    route: new Uint32Array(n), status: new Uint16Array(n), size: new Float64Array(n), flags: new Uint8Array(n),
  };
  rows.forEach((r, i) => {
    const path = r.path ?? '/';
    c.start[i] = r.start ?? 1_700_000_000_000 + i;
    c.duration[i] = r.durationMs;
    c.method[i] = intern(r.method ?? 'GET');
    c.path[i] = intern(path);
    c.route[i] = intern(r.route ?? path);
    c.status[i] = r.status ?? 200;
    c.size[i] = r.size ?? -1;
    c.flags[i] = r.aborted ? EventFlag.aborted : 0;
  });
  return c;
}

/** Counters that add up, as the collector's schema check demands. */
export function counters(sent: number, more: Partial<Counters> = {}): Counters {
  const c = { filtered: 0, dropped: 0, buffered: 0, hookErrors: 0, ...more };
  return { ...c, sent, recorded: sent + c.dropped + c.buffered };
}

/** A hello of one scripted agent process: the same id says hello with the same `instance` unless told otherwise. */
export function hello(agentId: string, service: string, more: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    t: 'hello', protocol: PROTOCOL_VERSION, agentId, service, host: 'test-host', pid: 4242, nodeVersion: process.version,
    agentVersion: '0.0.0-test', startTime: Date.now(), instance: `${agentId}/scripted-instance`, settings: { ...defaultLiveSettings },
    settingsVersion: 0, ...more,
  };
}

export const ingestUrl = (collectorUrl: string): string => `${collectorUrl.replace(/^http/, 'ws')}/v1/ingest`;

/** What an upgrade the collector refuses answers: status and parsed JSON body. */
export async function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
  });
}

export class AgentClient {
  /** Resolves with the close code and reason the collector sent. */
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly encoder = createEncoder();
  private readonly decoder = createDecoder();
  private readonly inbox: any[] = [];
  private waiting: ((m: any) => void) | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const m = this.decoder.unpack(data);
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(m);
      } else this.inbox.push(m);
    });
    this.closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  }

  static async connect(collectorUrl: string, token?: string): Promise<AgentClient> {
    const ws = new WebSocket(ingestUrl(collectorUrl), { headers: token ? { authorization: `Bearer ${token}` } : {} });
    await once(ws, 'open');
    return new AgentClient(ws);
  }

  send(message: object): void {
    this.ws.send(this.encoder.pack(message));
  }

  /** The next message from the collector. */
  next(): Promise<any> {
    if (this.inbox.length) return Promise.resolve(this.inbox.shift());
    return new Promise((resolve) => { this.waiting = resolve; });
  }

  /** Sends a hello and resolves with the welcome. */
  async handshake(agentId: string, service: string, more: Record<string, unknown> = {}): Promise<any> {
    this.send(hello(agentId, service, more));
    return this.next();
  }

  /** Sends a batch and resolves with the ack. */
  async batch(seq: number, rows: Row[], c: Counters = counters(rows.length)): Promise<any> {
    this.send({ t: 'batch', seq, counters: c, events: columns(rows) });
    return this.next();
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) {
      this.ws.close();
      await this.closed;
    }
  }
}
