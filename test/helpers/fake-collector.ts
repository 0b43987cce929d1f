// A collector that misbehaves on purpose: the fault injected into the agent's
// tests. It speaks just enough of the protocol to be believed (the welcome), then does
// what each test asks: sends garbage, closes oddly, or stops reading.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { createDecoder, createEncoder } from '../../protocol/codec.js';
import { PROTOCOL_VERSION } from '../../protocol/messages.js';

export interface FakeCollector {
  url: string;
  connections: number;
  /** Messages agents sent, decoded. */
  received: any[];
  close(): Promise<void>;
}

export async function startFakeCollector(onConnection: (ws: WebSocket, welcome: () => void) => void, port = 0): Promise<FakeCollector> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/v1/ingest' });
  await once(wss, 'listening');
  const fake: FakeCollector = {
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    connections: 0,
    received: [],
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
  const encoder = createEncoder();
  wss.on('connection', (ws) => {
    fake.connections++;
    const decoder = createDecoder();
    ws.on('message', (data: Buffer) => {
      try { fake.received.push(decoder.unpack(data)); } catch { fake.received.push(undefined); }
    });
    ws.on('error', () => {});
    onConnection(ws, () => ws.send(encoder.pack({ t: 'welcome', protocol: PROTOCOL_VERSION, lastSeq: 0, settings: null, settingsVersion: 0 })));
  });
  return fake;
}
