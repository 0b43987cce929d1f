// The agent's WebSocket client against a raw server that writes exactly the bytes each
// case needs, the way ws and Autobahn test a client: frames split across reads at every
// byte boundary, fragments with control frames between them, every length class, close
// codes and the close handshake, a hostile server that masks its frames, a server that
// falls silent; plain and over TLS.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { SILENT_SERVER, WebSocketClient, type WebSocketOptions } from '../agent/websocket.js';
import { makeCerts, type TestCerts } from './helpers/tls-certs.js';

interface ClientFrame { fin: boolean; op: number; masked: boolean; key: Buffer; payload: Buffer }

/** The server side of one connection: the frames the client wrote, unmasked, in order. */
class Peer {
  frames: ClientFrame[] = [];
  ended = false;
  private input = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => { this.input = Buffer.concat([this.input, d]); this.parse(); this.wake(); });
    socket.on('close', () => { this.ended = true; this.wake(); });
    socket.on('error', () => {});
  }
  write(...chunks: Buffer[]): void { for (const c of chunks) this.socket.write(c); }
  /** Writes each chunk in its own turn, so that the client reads them apart. */
  async writeApart(chunks: Buffer[]): Promise<void> {
    for (const c of chunks) {
      await new Promise<void>((r) => this.socket.write(c, () => r()));
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  async frame(): Promise<ClientFrame> {
    await this.until(() => this.frames.length > 0 || this.ended);
    const f = this.frames.shift();
    if (f === undefined) throw new Error('the client closed the connection without another frame');
    return f;
  }
  until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => { const check = () => { if (done()) resolve(); else this.waiters.push(check); }; this.waiters.push(check); });
  }
  private wake(): void { const w = this.waiters; this.waiters = []; for (const f of w) f(); }
  private parse(): void {
    for (;;) {
      const b = this.input;
      if (b.length < 2) return;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) { if (b.length < 4) return; len = b.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (b.length < 10) return; len = Number(b.readBigUInt64BE(2)); off = 10; }
      const masked = (b[1]! & 0x80) !== 0;
      const key = masked ? b.subarray(off, off + 4) : Buffer.alloc(4);
      if (masked) off += 4;
      if (b.length < off + len) return;
      const payload = Buffer.from(b.subarray(off, off + len));
      for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
      this.frames.push({ fin: (b[0]! & 0x80) !== 0, op: b[0]! & 0x0f, masked, key: Buffer.from(key), payload });
      this.input = b.subarray(off + len);
    }
  }
}

/** A server frame as the bytes on the wire. */
function frame(op: number, payload: Buffer | string, opts: { fin?: boolean; rsv?: number; mask?: Buffer; length?: number } = {}): Buffer {
  const body = Buffer.from(payload);
  const len = opts.length ?? body.length;
  const head = len < 126 ? Buffer.from([0, len]) : len < 0x10000 ? Buffer.from([0, 126, len >> 8, len & 0xff]) : Buffer.alloc(10);
  if (len >= 0x10000) { head[1] = 127; head.writeBigUInt64BE(BigInt(len), 2); }
  head[0] = ((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | op;
  if (!opts.mask) return Buffer.concat([head, body]);
  head[1]! |= 0x80;
  const masked = Buffer.from(body);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= opts.mask[i & 3]!;
  return Buffer.concat([head, opts.mask, masked]);
}
/** Polls until `done()`, failing with `why` after 10 s. */
async function until(done: () => boolean, why: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !done(); await new Promise((r) => setTimeout(r, 2))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${why}`);
  }
}
const close = (code: number, reason = '') => { const b = Buffer.alloc(2 + Buffer.byteLength(reason)); b.writeUInt16BE(code); b.write(reason, 2); return b; };

interface Server { url: URL; next(): Promise<Peer> }

/** Answers each upgrade (checking the client's key) and hands the socket to the test. */
async function rawServer(t: { after(fn: () => unknown): void }, certs?: TestCerts): Promise<Server> {
  const peers: Peer[] = [];
  let waiting: ((p: Peer) => void) | null = null;
  const onSocket = (socket: net.Socket) => {
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const key = /sec-websocket-key: *(\S+)/i.exec(head)![1]!;
      const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      const peer = new Peer(socket);
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      if (rest.length) socket.emit('data', rest);
      if (waiting) { const w = waiting; waiting = null; w(peer); } else peers.push(peer);
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  };
  const server = certs ? tls.createServer({ key: certs.key, cert: certs.cert }, onSocket) : net.createServer(onSocket);
  const sockets = new Set<net.Socket>();
  server.on(certs ? 'secureConnection' : 'connection', (s: net.Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => { for (const s of sockets) s.destroy(); server.close(); });
  const port = (server.address() as AddressInfo).port;
  return {
    url: new URL(`${certs ? 'wss' : 'ws'}://127.0.0.1:${port}/v1/ingest`),
    next: () => peers.length ? Promise.resolve(peers.shift()!) : new Promise((r) => { waiting = r; }),
  };
}

interface Seen { opened: Promise<void>; messages: Buffer[]; texts: number; errors: Error[]; closed: Promise<[number, string]>; client: WebSocketClient }

function connect(url: URL, options: Partial<WebSocketOptions> = {}): Seen {
  let onOpen!: () => void;
  let onClose!: (v: [number, string]) => void;
  const seen = { opened: new Promise<void>((r) => { onOpen = r; }), messages: [] as Buffer[], texts: 0, errors: [] as Error[], closed: new Promise<[number, string]>((r) => { onClose = r; }) } as Seen;
  seen.client = new WebSocketClient(url, { headers: {}, maxPayload: 1 << 20, handshakeTimeoutMs: 5000, silenceTimeoutMs: 0, ...options }, {
    open: onOpen, message: (d) => seen.messages.push(Buffer.from(d)), text: () => { seen.texts++; }, refused: () => {},
    error: (err) => seen.errors.push(err), close: (code, reason) => onClose([code, reason]),
  });
  return seen;
}

let certs: TestCerts;
before(() => { certs = makeCerts(); });
after(() => certs.remove());

for (const secure of [false, true]) {
  const over = secure ? ' (TLS)' : '';
  const start = (t: { after(fn: () => unknown): void }) => rawServer(t, secure ? certs : undefined);
  const open = (s: Server, options: Partial<WebSocketOptions> = {}) => connect(s.url, { ca: secure ? [certs.ca] : undefined, ...options });

  test(`client frames: masked, a fresh key per frame, every length class${over}`, async (t) => {
    const s = await start(t);
    const c = open(s);
    const peer = await s.next();
    await c.opened;
    const sizes = [0, 1, 125, 126, 65535, 65536, 300_001];
    for (const n of sizes) c.client.send(Buffer.alloc(n, n % 251));
    // 1,100 more: past the 1,024 keys of one pool fill.
    for (let i = 0; i < 1100; i++) c.client.send(Buffer.from([i & 0xff, 1, 2, 3, 4]));
    const frames: ClientFrame[] = [];
    for (let i = 0; i < sizes.length + 1100; i++) frames.push(await peer.frame());
    assert.ok(frames.every((f) => f.masked && f.fin && f.op === 2), 'every frame a masked final binary frame');
    assert.deepEqual(frames.slice(0, sizes.length).map((f) => f.payload.length), sizes);
    assert.ok(frames.slice(0, sizes.length).every((f, i) => f.payload.every((x) => x === sizes[i]! % 251)), 'payloads unmask to what was sent');
    assert.ok(frames.slice(sizes.length).every((f, i) => f.payload.equals(Buffer.from([i & 0xff, 1, 2, 3, 4]))));
    const keys = new Set(frames.map((f) => f.key.toString('hex')));
    assert.ok(keys.size >= frames.length - 1, `keys repeat: ${frames.length - keys.size} of ${frames.length}`);
    assert.ok(!keys.has('00000000'));
    const buf = Buffer.alloc(8, 7);
    c.client.send(buf);
    await peer.frame();
    assert.deepEqual(buf, Buffer.alloc(8, 7), 'the caller\'s bytes are not masked in place (they may be resent)');
  });

  test(`server frames split across reads at every byte boundary; fragments with a ping between them${over}`, async (t) => {
    const s = await start(t);
    const stream = Buffer.concat([
      frame(2, 'a'), frame(2, ''), frame(2, Buffer.alloc(125, 1)), frame(2, Buffer.alloc(126, 2)),
      frame(2, 'frag-', { fin: false }), frame(9, 'ping!'), frame(0, 'ment', { fin: false }), frame(10, 'pong'), frame(0, 'ed'),
      frame(1, 'text'),
    ]);
    const expected = ['a', '', Buffer.alloc(125, 1).toString(), Buffer.alloc(126, 2).toString(), 'frag-mented'];
    for (let k = 0; k <= stream.length; k += secure ? 7 : 1) {
      const c = open(s);
      const peer = await s.next();
      await c.opened;
      await peer.writeApart(k === 0 || k === stream.length ? [stream] : [stream.subarray(0, k), stream.subarray(k)]);
      await until(() => peer.frames.length > 0 && c.texts === 1, `split at ${k}: ${c.messages.length} messages, ${peer.frames.length} frames, ${c.errors}`);
      assert.deepEqual(c.messages.map(String), expected, `split at ${k}`);
      const pong = await peer.frame();
      assert.deepEqual([pong.op, String(pong.payload), pong.masked], [10, 'ping!', true], `split at ${k}`);
      assert.deepEqual(c.errors, []);
      c.client.terminate();
      await c.closed;
    }
    // Every byte in its own read, with the 16- and 64-bit length headers among them.
    const c = open(s);
    const peer = await s.next();
    await c.opened;
    const big = frame(2, Buffer.alloc(65536, 3));
    const mid = frame(2, Buffer.alloc(65535, 4));
    const singles = (bytes: Buffer) => [...bytes].map((b) => Buffer.from([b]));
    await peer.writeApart([...singles(stream), ...singles(big.subarray(0, 14)), big.subarray(14), ...singles(mid.subarray(0, 4)), mid.subarray(4)]);
    await until(() => c.messages.length === expected.length + 2, `byte by byte: ${c.messages.length} messages, ${c.errors}`);
    assert.deepEqual(c.messages.slice(0, expected.length).map(String), expected);
    assert.deepEqual(c.messages.slice(expected.length).map((m) => [m.length, m[0]]), [[65536, 3], [65535, 4]]);
    c.client.terminate();
  });

  test(`a masked frame from the server fails the connection with 1002, nothing delivered${over}`, async (t) => {
    const s = await start(t);
    const c = open(s);
    const peer = await s.next();
    await c.opened;
    peer.write(frame(2, 'masked payload', { mask: Buffer.from([1, 2, 3, 4]) }), frame(2, 'after'));
    const f = await peer.frame();
    assert.equal(f.op, 8);
    assert.equal(f.payload.readUInt16BE(0), 1002);
    await c.closed;
    assert.deepEqual(c.messages, []);
    assert.match(c.errors.map((e) => e.message).join(), /masked frame from the server/);
  });

  test(`protocol errors: each fails the connection with its close code${over}`, async (t) => {
    const s = await start(t);
    const cases: Array<[string, Buffer, number]> = [
      ['reserved bits', frame(2, 'x', { rsv: 4 }), 1002],
      ['a control frame of 126 bytes', frame(9, Buffer.alloc(126)), 1002],
      ['a fragmented ping', frame(9, 'p', { fin: false }), 1002],
      ['a continuation outside a message', frame(0, 'x'), 1002],
      ['a new message inside a fragmented one', Buffer.concat([frame(2, 'a', { fin: false }), frame(2, 'b')]), 1002],
      ['an unknown opcode', frame(3, 'x'), 1002],
      ['text that is not UTF-8', frame(1, Buffer.from([0xc3, 0x28])), 1007],
      ['a message over the limit (64-bit length)', frame(2, '', { length: 2 ** 32 + 1 }), 1009],
      ['a fragmented message over the limit', Buffer.concat([frame(2, Buffer.alloc(700), { fin: false }), frame(0, Buffer.alloc(700))]), 1009],
    ];
    for (const [why, bytes, code] of cases) {
      const c = open(s, { maxPayload: 1024 });
      const peer = await s.next();
      await c.opened;
      peer.write(bytes);
      const f = await peer.frame();
      assert.deepEqual([f.op, f.payload.readUInt16BE(0)], [8, code], why);
      await c.closed;
      assert.deepEqual(c.messages, [], why);
      assert.equal(c.errors.length, 1, why);
    }
  });

  test(`close codes: valid ones are echoed, invalid ones fail with 1002; the close handshake both ways${over}`, async (t) => {
    const s = await start(t);
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4000, 4999]) {
      const c = open(s);
      const peer = await s.next();
      await c.opened;
      peer.write(frame(8, close(code, 'bye \u00e9')));
      const f = await peer.frame();
      assert.deepEqual([f.op, f.payload.readUInt16BE(0)], [8, code], `code ${code} echoed`);
      peer.socket.end();
      assert.deepEqual(await c.closed, [code, 'bye \u00e9']);
      assert.deepEqual(c.errors, []);
    }
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
      const c = open(s);
      const peer = await s.next();
      await c.opened;
      peer.write(frame(8, close(code)));
      const f = await peer.frame();
      assert.deepEqual([f.op, f.payload.readUInt16BE(0)], [8, 1002], `code ${code} refused`);
      await c.closed;
    }
    for (const [why, payload, reply] of [['a 1-byte close', Buffer.from([3]), 1002], ['a reason not UTF-8', Buffer.concat([close(1000), Buffer.from([0xff])]), 1007]] as Array<[string, Buffer, number]>) {
      const c = open(s);
      const peer = await s.next();
      await c.opened;
      peer.write(frame(8, payload));
      const f = await peer.frame();
      assert.deepEqual([f.op, f.payload.readUInt16BE(0)], [8, reply], why);
      await c.closed;
    }
    {
      // An empty close: the client answers 1000 and reports 1005 (no code received).
      const c = open(s);
      const peer = await s.next();
      await c.opened;
      peer.write(frame(8, ''));
      const f = await peer.frame();
      assert.deepEqual([f.op, f.payload.readUInt16BE(0)], [8, 1000]);
      assert.deepEqual(await c.closed, [1005, '']);
    }
    {
      // The client starts the handshake; the server's answer ends it.
      const c = open(s);
      const peer = await s.next();
      await c.opened;
      c.client.close(4000, 'done');
      const f = await peer.frame();
      assert.deepEqual([f.op, f.masked, f.payload.readUInt16BE(0), String(f.payload.subarray(2))], [8, true, 4000, 'done']);
      c.client.send(Buffer.from('after close'));
      peer.write(frame(8, close(4000)));
      assert.deepEqual(await c.closed, [4000, '']);
      assert.deepEqual(peer.frames, [], 'nothing is sent after the close frame');
    }
    {
      // A server that never answers the close is cut after the close wait.
      const c = open(s);
      const peer = await s.next();
      await c.opened;
      const t0 = Date.now();
      c.client.close(1000, '');
      await peer.frame();
      assert.deepEqual(await c.closed, [1006, '']);
      assert.ok(Date.now() - t0 < 4000, `cut after ${Date.now() - t0} ms`);
    }
  });

  test(`a server that falls silent is pinged at half the timeout and dropped at the timeout; one that answers stays${over}`, async (t) => {
    const s = await start(t);
    const silent = open(s, { silenceTimeoutMs: 600 });
    const peer = await s.next();
    await silent.opened;
    const t0 = Date.now();
    const ping = await peer.frame();
    assert.deepEqual([ping.op, ping.masked], [9, true]);
    assert.ok(Date.now() - t0 >= 250, `pinged after ${Date.now() - t0} ms`);
    await silent.closed;
    const waited = Date.now() - t0;
    assert.ok(waited >= 600 && waited < 600 * 1.25 + 500, `dropped after ${waited} ms`);
    assert.equal((silent.errors[0] as NodeJS.ErrnoException | undefined)?.code, SILENT_SERVER);

    const live = open(s, { silenceTimeoutMs: 600 });
    const peer2 = await s.next();
    await live.opened;
    for (let i = 0; i < 4; i++) {
      const p = await peer2.frame();
      assert.equal(p.op, 9);
      peer2.write(frame(10, p.payload));
    }
    assert.deepEqual(live.errors, [], 'a server answering its pings is kept across 4 timeouts');
    live.client.terminate();
  });
}

test('wss: a certificate from another CA is refused before anything is sent', async (t) => {
  const s = await rawServer(t, certs);
  let upgraded = false;
  void s.next().then(() => { upgraded = true; });
  const c = connect(s.url, { ca: [readFileSync(certs.otherCaFile, 'utf8')] });
  await c.closed;
  assert.equal(upgraded, false);
  assert.match(String((c.errors[0] as NodeJS.ErrnoException).code), /SELF_SIGNED|UNABLE_TO_VERIFY/);
  const d = connect(s.url);
  await d.closed;
  assert.equal(upgraded, false, 'nor with Node\'s default CAs');
});
