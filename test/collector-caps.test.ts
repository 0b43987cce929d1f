// Every collector resource has a cap, tried as a hostile agent would against a real
// collector process: many service names, a recording that keeps growing, frames held
// half-sent. Each cap says what it refused, counts it, and loses nothing else.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson } from './helpers/http.js';
import { AgentClient } from './helpers/ingest-client.js';

const overview = async (url: string): Promise<any> => (await getJson(`${url}/v1/overview`)).body;

async function metricsText(url: string): Promise<string> {
  const r = await request(`${url}/metrics`);
  return r.body.text();
}

describe('services past --max-services fold into one route', () => {
  let collector: CollectorProcess;
  before(async () => {
    collector = await startCollectorProcess({ args: ['--max-services', '3', '--max-routes', '50'] });
  });
  after(() => collector?.stop());

  test('a service named `*` cannot pose as the folded one, even with room for services', async () => {
    const agent = await AgentClient.connect(collector.url);
    await agent.handshake('star-agent', '*');
    await agent.batch(1, [{ path: '/x', durationMs: 1 }]);
    await agent.close();
    const { body } = await getJson(`${collector.url}/v1/routes?service=*`);
    assert.deepEqual(body.routes.map((r: any) => `${r.method} ${r.route}`), ['* other']);
  });

  test('300 service names make 3 services of routes and one `*` other; the rest is counted', async () => {
    // 300 agents, 20 at a time, each of its own service with 3 routes of 2 events.
    for (let round = 0; round < 15; round++) {
      await Promise.all(Array.from({ length: 20 }, async (_, k) => {
        const n = round * 20 + k;
        const agent = await AgentClient.connect(collector.url);
        await agent.handshake(`svc-agent-${n}`, `svc-${String(n).padStart(3, '0')}`);
        const rows = ['/a', '/b', '/c'].flatMap((path) => [{ path, durationMs: 1 }, { path, durationMs: 2 }]);
        assert.deepEqual(await agent.batch(1, rows), { t: 'ack', seq: 1 });
        await agent.close();
      }));
    }
    const { body } = await getJson(`${collector.url}/v1/routes`);
    const services = [...new Set(body.routes.map((r: any) => r.service))].sort();
    assert.equal(services.length, 4, `services: ${services.slice(0, 10).join(', ')} ...`);
    assert.equal(services.includes('*'), true);
    assert.equal(body.routes.length, 3 * 3 + 1);
    const folded = body.routes.find((r: any) => r.service === '*');
    assert.equal(folded.route, 'other');
    assert.equal(folded.count, 297 * 6 + 1, 'the 297 services past the cap and the `*` agent');
    const o = await overview(collector.url);
    assert.equal(o.servicesOverflowed, 297 * 6 + 1);
    assert.equal(o.events.received, 300 * 6 + 1, 'every event is counted, folded or not');
    const text = await metricsText(collector.url);
    assert.match(text, /^nodeflight_collector_service_overflow_events_total 1783$/m);
    const requestSeries = text.split('\n').filter((l) => l.startsWith('nodeflight_http_server_requests_total{'));
    assert.equal(requestSeries.length, 10 * 5, 'one series per route and status class');
  });
});

/** A client on a raw TCP socket, to send frames in pieces: fragments, pings, and read what comes back. */
class RawWebSocket {
  private received = Buffer.alloc(0);
  private readonly waiters: Array<() => void> = [];
  readonly ended: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static async open(collectorUrl: string): Promise<RawWebSocket> {
    const { hostname, port } = new URL(collectorUrl);
    const socket = connect(Number(port), hostname);
    await once(socket, 'connect');
    const ws = new RawWebSocket(socket);
    socket.write(`GET /v1/ingest HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await ws.until(() => ws.received.includes('\r\n\r\n'));
    const head = ws.received.subarray(0, ws.received.indexOf('\r\n\r\n') + 4).toString();
    assert.match(head, /^HTTP\/1\.1 101 /);
    ws.received = ws.received.subarray(head.length);
    return ws;
  }

  private async until(done: () => boolean): Promise<void> {
    while (!done()) {
      if (this.socket.destroyed) throw new Error(`the connection closed; received ${this.received.toString('hex').slice(0, 200)}`);
      await new Promise<void>((resolve) => { this.waiters.push(resolve); this.socket.once('close', resolve); });
    }
  }

  /** One masked frame; `fin` false for a fragment. */
  frame(opcode: number, payload: Buffer, fin: boolean): Buffer {
    const n = payload.length;
    const len = n < 126 ? Buffer.from([n]) : n < 65536 ? Buffer.from([126, n >> 8, n & 255]) : Buffer.concat([Buffer.from([127]), bigLength(n)]);
    len[0]! |= 0x80;
    const mask = randomBytes(4);
    const masked = Buffer.from(payload);
    for (let i = 0; i < n; i++) masked[i]! ^= mask[i & 3]!;
    return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode]), len, mask, masked]);
  }

  /** Sends `fragments` non-final fragments of a binary message, `bytes` each: a message that never ends. */
  async hold(fragments: number, bytes: number, first: boolean): Promise<void> {
    for (let i = 0; i < fragments; i++) {
      if (!this.socket.write(this.frame(first && i === 0 ? 2 : 0, Buffer.alloc(bytes), false))) await once(this.socket, 'drain');
    }
  }

  /** Pings and waits for the pong: the collector has read everything sent before. */
  async ping(): Promise<void> {
    const tag = randomBytes(8);
    this.socket.write(this.frame(9, tag, true));
    await this.until(() => this.received.includes(Buffer.concat([Buffer.from([0x8a, 8]), tag])));
  }

  /** The close frame the collector sent: code and reason. */
  async closeFrame(): Promise<{ code: number; reason: string }> {
    await this.until(() => this.received.includes(0x88));
    const at = this.received.indexOf(0x88);
    const n = this.received[at + 1]!;
    await this.until(() => this.received.length >= at + 2 + n);
    return { code: this.received.readUInt16BE(at + 2), reason: this.received.subarray(at + 4, at + 2 + n).toString() };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function bigLength(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

describe('partly received frames are capped across connections (--ingest-pending-max-bytes)', () => {
  const MB = 1024 * 1024;
  let collector: CollectorProcess;
  before(async () => {
    collector = await startCollectorProcess({ args: ['--ingest-pending-max-bytes', String(4 * MB)] });
  });
  after(() => collector?.stop());

  test('over the cap, the connection holding the most is closed with 1013; the others and a good agent go on', async (t) => {
    const good = await AgentClient.connect(collector.url);
    await good.handshake('good-agent', 'good');
    const [big, small1, small2] = await Promise.all([RawWebSocket.open(collector.url), RawWebSocket.open(collector.url), RawWebSocket.open(collector.url)]);
    t.after(() => [big, small1, small2].forEach((w) => w.destroy()));
    const rejectedBefore = (await overview(collector.url)).rejectedFrames;
    await big.hold(5, MB / 2, true);
    await big.ping();
    await small1.hold(2, MB / 2, true);
    await small1.ping();
    // 2.5 + 1 MB held: under the cap. The next 1 MB crosses it.
    await small2.hold(2, MB / 2, true);
    await small2.ping();
    const closed = await big.closeFrame();
    assert.equal(closed.code, 1013, JSON.stringify(closed));
    assert.match(closed.reason, /holds over 4194304 bytes of partly received frames; this connection held the most/);
    await big.ended;
    await small1.ping();
    await small2.ping();
    assert.deepEqual(await good.batch(1, [{ durationMs: 3 }]), { t: 'ack', seq: 1 });
    assert.equal((await overview(collector.url)).rejectedFrames, rejectedBefore + 1);
    // What the closed one held was let go: 3.5 MB held now, under the cap, and no one is cut.
    await small1.hold(3, MB / 2, false);
    await small1.ping();
    await small2.ping();
    await good.close();
  });
});
