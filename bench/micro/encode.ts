// (b) What the agent's flush does per event: BlockEncoder turns ring rows into a
// column block (agent/encode.ts), msgpackr packs it into one frame (protocol/codec.ts),
// and the transport writes the frame to its WebSocket. The ring is filled once with
// 65,536 events over ~330 distinct paths; every round encodes all of it, 8,192 events
// per block, as a busy agent's flushes would.
import { once } from 'node:events';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BlockEncoder } from '../../agent/encode.js';
import type { EventRing } from '../../agent/ring.js';
import { createEncoder } from '../../protocol/codec.js';
import { benchSource, CLIENT_CORE, tasksetPath } from '../processes.js';
import { startAgent } from '../../agent/agent.js';
import { readConfig } from '../../agent/config.js';
import { WebSocketClient } from '../../agent/websocket.js';
import type { EventColumns } from '../../protocol/messages.js';
import { MAX_BLOCK_EVENTS } from '../../protocol/validate.js';
import { fillRing, filledRing, RING_EVENTS } from './fixtures.js';
import { cpuNs, runCase, summarizeRounds, type CaseOptions, type Result } from './timing.js';

const counters = { recorded: RING_EVENTS, filtered: 0, dropped: 0, sent: 0, buffered: RING_EVENTS, hookErrors: 0 };

/** Encodes the whole ring into blocks; returns them. */
function encodeAll(ring: EventRing, encoder: BlockEncoder, from: number): EventColumns[] {
  const blocks: EventColumns[] = [];
  for (let pos = from; pos < ring.head; ) {
    const events = encoder.encode(pos, ring.head - pos);
    blocks.push(events);
    pos += events.count;
  }
  return blocks;
}

const cases = {
  /** encode (into the reused columns, as the agent's flush does), pack and both, in CPU ns per event. */
  async 'encode-pack'(o: CaseOptions): Promise<Result[]> {
    const events = Math.max(MAX_BLOCK_EVENTS, 2 ** Math.round(Math.log2(RING_EVENTS * o.scale)));
    const { ring, routes } = filledRing(events);
    const encoder = new BlockEncoder(ring, routes);
    const packr = createEncoder();
    const from = ring.oldest;
    const enc: number[] = [];
    const pack: number[] = [];
    const both: number[] = [];
    let bytes = 0;
    let seq = 1;
    for (let r = 0; r < o.warmup + o.rounds; r++) {
      let encNs = 0;
      let packNs = 0;
      bytes = 0;
      for (let pos = from; pos < ring.head; ) {
        const t0 = cpuNs();
        const block = encoder.encode(pos, ring.head - pos, true);
        const t1 = cpuNs();
        const frame = packr.pack({ t: 'batch', seq: seq++, counters, events: block });
        const t2 = cpuNs();
        encNs += (t1 - t0);
        packNs += (t2 - t1);
        bytes += frame.length;
        pos += block.count;
      }
      if (r >= o.warmup) {
        enc.push(encNs / events);
        pack.push(packNs / events);
        both.push((encNs + packNs) / events);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const extra = { bytesPerEvent: bytes / events, blocks: Math.ceil(events / MAX_BLOCK_EVENTS) };
    return [summarizeRounds('encode', 'event', enc, events, extra), summarizeRounds('pack', 'event', pack, events, extra), summarizeRounds('encode+pack', 'event', both, events, extra)];
  },

  /** The transport's socket write: each packed frame sent by the agent's WebSocket client to a local sink, in CPU ns per event until written. */
  send,

  /**
   * The whole flush as the agent runs it, streaming to a live collector process: the
   * agent's own flush() (encode, pack, copy into the transport's queue) and the socket
   * writes, until the collector acknowledged every event. CPU time of the whole process
   * per event.
   */
  async flush(o: CaseOptions): Promise<Result> {
    const events = Math.max(MAX_BLOCK_EVENTS, 2 ** Math.round(Math.log2(RING_EVENTS * o.scale)));
    const collector = spawnChild(benchSource('services/collector.mjs'));
    try {
      const [{ url }] = (await once(collector, 'message')) as [{ url: string }];
      return await flushRounds(o, events, url);
    } finally {
      collector.kill();
    }
  },
};

async function until(ok: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 15_000; !ok(); ) {
    if (Date.now() > deadline) throw new Error(`flush: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

async function flushRounds(o: CaseOptions, events: number, url: string): Promise<Result> {
  const agent = startAgent(readConfig({ NODEFLIGHT_COLLECTOR: url, NODEFLIGHT_BUFFER_EVENTS: String(events), NODEFLIGHT_SERVICE: 'bench-flush', NODEFLIGHT_FLUSH_MS: '60000' }));
  try {
    await until(() => agent.transport!.connected, 'the collector\'s welcome');
    const out: number[] = [];
    for (let r = 0; r < o.warmup + o.rounds; r++) {
      fillRing(agent.recorder.ring, events);
      const c0 = process.cpuUsage();
      agent.flush();
      await until(() => agent.counters().buffered === 0, 'acknowledgements');
      const c = process.cpuUsage(c0);
      if (r >= o.warmup) out.push(((c.user + c.system) * 1000) / events);
    }
    const counters = agent.counters();
    if (counters.sent !== counters.recorded || counters.dropped !== 0) throw new Error(`flush: the collector acknowledged ${counters.sent} of ${counters.recorded} events (${counters.dropped} dropped)`);
    return summarizeRounds('flush', 'event', out, events, { sent: counters.sent });
  } finally {
    agent.stop();
  }
}

/** A helper process (sink, collector), moved off this process's core where taskset exists. */
function spawnChild(script: string): ChildProcess {
  const child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
  const taskset = tasksetPath();
  if (taskset !== null) execFileSync(taskset, ['-a', '-p', '-c', String(CLIENT_CORE), String(child.pid)], { stdio: 'ignore' });
  return child;
}

async function send(o: CaseOptions): Promise<Result> {
  {
    const events = Math.max(MAX_BLOCK_EVENTS, 2 ** Math.round(Math.log2(RING_EVENTS * o.scale)));
    const { ring, routes } = filledRing(events);
    const packr = createEncoder();
    let seq = 1;
    const frames = encodeAll(ring, new BlockEncoder(ring, routes), ring.oldest).map((events) => packr.pack({ t: 'batch', seq: seq++, counters, events }));
    const sink = spawnChild(fileURLToPath(new URL('./sink.js', import.meta.url)));
    try {
      const [{ port }] = (await once(sink, 'message')) as [{ port: number }];
      let opened!: () => void;
      const open = new Promise<void>((resolve) => { opened = resolve; });
      let closing = false;
      const fail = (err: Error) => { if (!closing) throw err; };
      const ws = new WebSocketClient(new URL(`ws://127.0.0.1:${port}/`), { headers: {}, maxPayload: 64 * 1024, handshakeTimeoutMs: 10_000, silenceTimeoutMs: 0 }, {
        open: opened, message: () => {}, text: () => {}, refused: (status) => fail(new Error(`send: the sink refused the upgrade (${status})`)), error: fail, close: () => {},
      });
      await open;
      const out: number[] = [];
      for (let r = 0; r < o.warmup + o.rounds; r++) {
        let pending = frames.length;
        let resolveFlushed!: () => void;
        const flushed = new Promise<void>((resolve) => { resolveFlushed = resolve; });
        const onSent = (err?: Error | null) => {
          if (err) throw err;
          if (--pending === 0) resolveFlushed();
        };
        // CPU time, not wall time: a frame the kernel does not take at once is written
        // later from the event loop, and that write is part of sending it.
        const c0 = process.cpuUsage();
        for (const f of frames) ws.send(f, onSent);
        await flushed;
        const c = process.cpuUsage(c0);
        if (r >= o.warmup) out.push(((c.user + c.system) * 1000) / events);
      }
      // Written is not yet read: wait (bounded) until the sink has every frame.
      const total = frames.length * (o.warmup + o.rounds);
      let received = 0;
      for (const deadline = Date.now() + 10_000; received < total && Date.now() < deadline; ) {
        sink.send('frames');
        received = ((await once(sink, 'message')) as [{ frames: number }])[0].frames;
        if (received < total) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      closing = true;
      ws.close(1000, '');
      if (received < total) throw new Error(`send: the sink received ${received} frames of ${total}`);
      return summarizeRounds('send', 'event', out, events, { frameBytes: Math.round(frames.reduce((a, f) => a + f.length, 0) / frames.length) });
    } finally {
      sink.kill();
    }
  }
}

await runCase(cases);
