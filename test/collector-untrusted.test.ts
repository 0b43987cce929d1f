// Untrusted input to the collector's ingest: every bad frame closes its own connection
// with a precise close code and reason, is counted, and leaves every other agent's
// numbers exact. A fuzz run then throws thousands of random and mutated frames, REST
// bodies and query strings at it while a good agent streams.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import { createEncoder } from '../protocol/codec.js';
import { CloseCode } from '../protocol/messages.js';
import { startCollectorProcess, type CollectorProcess } from './helpers/collector-process.js';
import { getJson } from './helpers/http.js';
import { AgentClient, columns, counters, hello, ingestUrl } from './helpers/ingest-client.js';

let collector: CollectorProcess;
before(async () => { collector = await startCollectorProcess(); });
after(async () => { await collector.stop(); });

const encoder = createEncoder();
const good = (n: number, path = '/ok') => columns(Array.from({ length: n }, (_, i) => ({ durationMs: 1 + (i % 10), path })));

/** Opens a raw connection, sends a hello unless told not to, then the given frames; resolves with the close. */
async function sendRaw(frames: Array<Buffer | string>, withHello = true): Promise<{ code: number; reason: string }> {
  const ws = new WebSocket(ingestUrl(collector.url));
  const closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  ws.on('error', () => {});
  await once(ws, 'open');
  if (withHello) ws.send(encoder.pack(hello(`bad-${Math.random()}`, 'hostile')));
  for (const f of frames) ws.send(f);
  return closed;
}

async function rejectedFrames(): Promise<number> {
  return (await getJson(`${collector.url}/v1/overview`)).body.rejectedFrames;
}

function batchWith(mutate: (b: any) => void): Buffer {
  const b: any = { t: 'batch', seq: 1, counters: counters(3), events: good(3) };
  mutate(b);
  return encoder.pack(b);
}

const cases: Array<[string, () => Buffer | string, number, RegExp, boolean?]> = [
  ['a NaN duration', () => batchWith((b) => { b.events.duration[1] = NaN; }), CloseCode.malformed, /duration\[1\]/],
  ['a negative duration', () => batchWith((b) => { b.events.duration[0] = -1; }), CloseCode.malformed, /duration\[0\]/],
  ['an infinite duration', () => batchWith((b) => { b.events.duration[2] = Infinity; }), CloseCode.malformed, /duration\[2\]/],
  ['a fractional size', () => batchWith((b) => { b.events.size[0] = 1.5; }), CloseCode.malformed, /size\[0\]/],
  ['columns of different lengths', () => batchWith((b) => { b.events.status = new Uint16Array(2); }), CloseCode.malformed, /status has 2 rows, expected 3/],
  ['a column of the wrong type', () => batchWith((b) => { b.events.duration = [1, 2, 3]; }), CloseCode.malformed, /duration must be a Float64Array/],
  ['a string index out of range', () => batchWith((b) => { b.events.path[0] = 99; }), CloseCode.malformed, /not in events.strings/],
  ['counters that do not add up', () => batchWith((b) => { b.counters.recorded += 1; }), CloseCode.malformed, /do not add up/],
  ['a method that is not a token', () => batchWith((b) => { b.events.strings[b.events.method[0]] = 'GET\n/x'; }), CloseCode.malformed, /not an HTTP method token/],
  ['an unknown message type', () => encoder.pack({ t: 'launch-missiles' }), CloseCode.malformed, /unknown message type/],
  ['a msgpack value that is not a map', () => encoder.pack([1, 2, 3]), CloseCode.malformed, /must be a msgpack map/],
  ['bytes that are not msgpack', () => Buffer.from([0xc1, 0xc1, 0xc1]), CloseCode.malformed, /./],
  ['a huge array header (0xdd ffffffff)', () => Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x00]), CloseCode.malformed, /./],
  ['deep nesting', () => Buffer.concat([Buffer.alloc(200_000, 0x91), Buffer.from([0xc0])]), CloseCode.malformed, /./],
  ['a text frame', () => 'hello there', CloseCode.malformed, /binary/i],
  ['a batch before any hello', () => batchWith(() => {}), CloseCode.unexpected, /hello/, false],
  ['a hello of another protocol version', () => encoder.pack(hello('v9', 'hostile', { protocol: 9 })), CloseCode.protocolVersion, /9/, false],
  ['a hello with a __proto__ key', () => encoder.pack(JSON.parse('{"t":"hello","__proto__":{"polluted":true}}')), CloseCode.malformed, /agentId/, false],
];

test('each bad frame closes its connection with a code and reason, is counted, and a good agent is unaffected', async () => {
  const agent = await AgentClient.connect(collector.url);
  await agent.handshake('good-agent', 'good');
  let sent = 0;
  let seq = 0;
  for (const [what, frame, code, reason, withHello = true] of cases) {
    const before = await rejectedFrames();
    const closed = await sendRaw([frame()], withHello);
    assert.equal(closed.code, code, `${what}: close code (reason ${closed.reason})`);
    assert.match(closed.reason, reason, `${what}: close reason`);
    assert.ok(Buffer.byteLength(closed.reason) <= 123);
    assert.equal(await rejectedFrames(), before + 1, `${what}: counted`);
    // The good agent goes on between every bad frame.
    const ack = await agent.batch(++seq, Array.from({ length: 10 }, (_, i) => ({ durationMs: 2 + i, path: '/ok' })));
    assert.deepEqual(ack, { t: 'ack', seq });
    sent += 10;
  }
  const { body } = await getJson(`${collector.url}/v1/agents`);
  const goodAgent = body.agents.find((a: any) => a.id === 'good-agent');
  assert.equal(goodAgent.received, sent);
  assert.ok(!('polluted' in {}), 'nothing polluted this process either');
  assert.ok(body.agents.every((a: any) => !('polluted' in a)));
  await agent.close();
});

test('compression is never negotiated, so no frame can inflate past the size limit', async () => {
  const ws = new WebSocket(ingestUrl(collector.url), { perMessageDeflate: true });
  ws.on('error', () => {});
  await once(ws, 'open');
  assert.equal(ws.extensions, '');
  ws.close();
  await once(ws, 'close');
});

/** A deterministic pseudo-random generator, so that a failing fuzz run can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(base: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(base);
  const kind = Math.floor(rnd() * 5);
  if (kind === 0) return b.subarray(0, Math.floor(rnd() * b.length)); // truncate
  if (kind === 1) return Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 256) }, () => Math.floor(rnd() * 256))); // noise
  const flips = 1 + Math.floor(rnd() * 8);
  for (let i = 0; i < flips; i++) {
    const at = Math.floor(rnd() * b.length);
    if (kind === 2) b[at] = Math.floor(rnd() * 256);
    else if (kind === 3) b[at] = [0x00, 0xff, 0x7f, 0x80, 0xc0, 0xdd, 0xdf, 0xcb][Math.floor(rnd() * 8)]!;
    else b[at] ^= 1 << Math.floor(rnd() * 8);
  }
  return b;
}

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

test('fuzz: 10,000 random and mutated frames, REST bodies and query strings while a good agent streams', async () => {
  const rnd = prng(20261122);
  const goodAgent = await AgentClient.connect(collector.url);
  await goodAgent.handshake('fuzz-good', 'fuzz-good');
  let goodSeq = 0;
  let goodSent = 0;
  let streaming = true;
  const stream = (async () => {
    while (streaming) {
      const ack = await goodAgent.batch(++goodSeq, Array.from({ length: 50 }, (_, i) => ({ durationMs: 0.5 + i, path: `/g/${i % 5}` })));
      assert.deepEqual(ack, { t: 'ack', seq: goodSeq });
      goodSent += 50;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();

  const helloBytes = encoder.pack(hello('fuzz-x', 'fuzz'));
  const batchBytes = encoder.pack({ t: 'batch', seq: 1, counters: counters(5), events: good(5, '/fuzz/1') });
  const rssBefore = rssOf(collector.child.pid!);
  const FRAMES = 10_000;
  let frames = 0;
  let serverErrors = 0;
  async function fuzzConnection(): Promise<void> {
    while (frames < FRAMES) {
      const ws = new WebSocket(ingestUrl(collector.url));
      ws.on('error', () => {});
      const closed = once(ws, 'close');
      await once(ws, 'open');
      // Half the connections fuzz the hello, half send a good hello and fuzz what follows.
      const fuzzHello = rnd() < 0.5;
      if (!fuzzHello) ws.send(encoder.pack(hello(`fuzz-${frames}`, 'fuzz')));
      let open = true;
      void closed.then(() => { open = false; });
      for (let k = 0; k < 20 && open && frames < FRAMES; k++) {
        frames++;
        ws.send(mutate(fuzzHello ? helloBytes : batchBytes, rnd));
        await new Promise((r) => setImmediate(r));
      }
      ws.terminate();
      await closed;
    }
  }
  async function fuzzRest(): Promise<void> {
    const paths = ['/v1/routes?window=', '/v1/events?limit=', '/v1/events?minMs=', '/v1/routes/', '/v1/agents/', '/v1/overview?x=', '/v9/', '/metrics?'];
    for (let i = 0; i < 1500; i++) {
      const junk = encodeURIComponent(mutate(Buffer.from('60s-1000-%%-abc'), rnd).toString('latin1'));
      const method = rnd() < 0.5 ? 'GET' : (['PUT', 'POST', 'DELETE'] as const)[Math.floor(rnd() * 3)]!;
      const body = method === 'GET' ? undefined : mutate(Buffer.from('{"pathFilter":"/api/.*","thresholdMs":5,"agentId":"x"}'), rnd);
      const res = await request(`${collector.url}${paths[i % paths.length]}${junk}`, { method, body });
      await res.body.dump();
      if (res.statusCode >= 500) serverErrors++;
    }
  }
  await Promise.all([fuzzConnection(), fuzzConnection(), fuzzConnection(), fuzzConnection(), fuzzRest()]);
  streaming = false;
  await stream;

  assert.equal(serverErrors, 0, 'no bad REST input is a 5xx');
  const { body } = await getJson(`${collector.url}/v1/agents`);
  assert.equal(body.agents.find((a: any) => a.id === 'fuzz-good').received, goodSent, 'the good agent\'s numbers stay exact');
  const { body: routes } = await getJson(`${collector.url}/v1/routes?service=fuzz-good`);
  assert.equal(routes.routes.reduce((s: number, r: any) => s + r.count, 0), goodSent);
  const grown = rssOf(collector.child.pid!) - rssBefore;
  assert.ok(grown < 200 * 1024 * 1024, `collector memory grew by ${(grown / 1048576).toFixed(0)} MB`);
  assert.equal(collector.child.exitCode, null, 'the collector is still up');
  await goodAgent.close();
});
