// The agent's own WebSocket client against a real `ws` server: the cases the
// collector never produces but a proxy or another server may (fragments, pings, a
// refused upgrade, an oversized message), and the frames it writes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { WebSocketClient, type WebSocketEvents } from '../agent/websocket.js';

interface Seen { opened: boolean; messages: Buffer[]; texts: number; refused: number[]; errors: string[]; closed: Promise<[number, string]> }

async function server(t: { after(fn: () => unknown): void }, options: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<{ wss: WebSocketServer; url: URL }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await once(wss, 'listening');
  t.after(() => new Promise((r) => { for (const c of wss.clients) c.terminate(); wss.close(r); }));
  return { wss, url: new URL(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/v1/ingest?x=1`) };
}

function connect(url: URL, headers: Record<string, string> = {}, maxPayload = 1024): { client: WebSocketClient; seen: Seen } {
  let onClose!: (v: [number, string]) => void;
  const seen: Seen = { opened: false, messages: [], texts: 0, refused: [], errors: [], closed: new Promise((r) => { onClose = r; }) };
  const events: WebSocketEvents = {
    open: () => { seen.opened = true; },
    message: (data) => seen.messages.push(Buffer.from(data)),
    text: () => { seen.texts++; },
    refused: (status) => seen.refused.push(status),
    error: (err) => seen.errors.push(err.message),
    close: (code, reason) => onClose([code, reason]),
  };
  return { client: new WebSocketClient(url, { headers, maxPayload, handshakeTimeoutMs: 5000, silenceTimeoutMs: 0 }, events), seen };
}

test('handshake with headers and path; binary frames both ways; fragments reassembled; pings answered; a clean close', async (t) => {
  const { wss, url } = await server(t);
  const { client, seen } = connect(url, { authorization: 'Bearer abc' });
  const [peer, req] = (await once(wss, 'connection')) as [WebSocket, { url: string; headers: Record<string, string> }];
  assert.equal(req.url, '/v1/ingest?x=1');
  assert.equal(req.headers.authorization, 'Bearer abc');
  const got: Buffer[] = [];
  peer.on('message', (d: Buffer, binary: boolean) => { assert.ok(binary); got.push(d); });
  while (!seen.opened) await new Promise((r) => setImmediate(r));
  // Every payload length class: 7-bit, 16-bit and 64-bit lengths.
  const sizes = [0, 1, 125, 126, 65535, 65536, 300_000];
  for (const n of sizes) client.send(Buffer.alloc(n, n % 251));
  while (got.length < sizes.length) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(got.map((b) => b.length), sizes);
  assert.ok(got.every((b, i) => b.every((x) => x === sizes[i]! % 251)), 'payloads arrive unchanged');

  peer.send(Buffer.from('abc'), { fin: false });
  peer.send(Buffer.from('def'), { fin: true });
  peer.send('a text frame');
  const pong = once(peer, 'pong');
  peer.ping(Buffer.from('p1'));
  assert.equal(String((await pong)[0]), 'p1');
  while (seen.messages.length < 1 || seen.texts < 1) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(seen.messages.map(String), ['abcdef']);
  assert.equal(seen.texts, 1);

  const peerClosed = once(peer, 'close');
  client.close(4000, '');
  assert.equal((await peerClosed)[0], 4000);
  assert.deepEqual(await seen.closed, [4000, '']);
  assert.deepEqual(seen.errors, []);
});

test('a refused upgrade reports its status; a message over the limit closes with 1009', async (t) => {
  const refusing = await server(t, { verifyClient: (_info, cb) => cb(false, 401) });
  const a = connect(refusing.url);
  await a.seen.closed;
  assert.deepEqual(a.seen.refused, [401]);
  assert.equal(a.seen.opened, false);

  const { wss, url } = await server(t);
  const b = connect(url, {}, 1024);
  const [peer] = (await once(wss, 'connection')) as [WebSocket];
  while (!b.seen.opened) await new Promise((r) => setImmediate(r));
  const peerClosed = once(peer, 'close');
  peer.send(Buffer.alloc(4096));
  assert.equal((await peerClosed)[0], 1009);
  await b.seen.closed;
  assert.deepEqual(b.seen.messages, []);
  assert.match(b.seen.errors.join(), /exceeds 1024 bytes/);
});

test('a server that is not a WebSocket server: a clear error, no open', async (t) => {
  const http = await import('node:http');
  const srv = http.createServer((_req, res) => res.writeHead(200).end('hello')).listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.after(() => srv.close());
  const { seen } = connect(new URL(`ws://127.0.0.1:${(srv.address() as AddressInfo).port}/`));
  await seen.closed;
  assert.equal(seen.opened, false);
  assert.deepEqual(seen.refused, [200]);
});

test('a handler that throws ends the connection with 1011 and never reaches the process', async (t) => {
  const { wss, url } = await server(t);
  let onClose!: (v: [number, string]) => void;
  const closed = new Promise<[number, string]>((r) => { onClose = r; });
  const errors: string[] = [];
  let opened = false;
  new WebSocketClient(url, { headers: {}, maxPayload: 1024, handshakeTimeoutMs: 5000, silenceTimeoutMs: 0 }, {
    open: () => { opened = true; }, text: () => {}, refused: () => {}, close: (code, reason) => onClose([code, reason]),
    message: () => { throw new Error('handler failed'); },
    error: (err) => errors.push(err.message),
  });
  const [peer] = (await once(wss, 'connection')) as [WebSocket];
  while (!opened) await new Promise((r) => setImmediate(r));
  const peerClosed = once(peer, 'close');
  peer.send(Buffer.from('x'));
  assert.equal((await peerClosed)[0], 1011);
  await closed;
  assert.deepEqual(errors, ['handler failed']);
});
