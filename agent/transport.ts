// Streams encoded batches to the collector over one WebSocket and keeps them until
// acknowledged, so that a collector that dies mid-stream loses nothing it was sent:
//
//   queue:  [ seq 7 | seq 8 | seq 9 | seq 10 ]      (encoded, awaiting ack)
//             ^acked up to 6   ^written on this connection up to here
//
// On reconnect every queued batch is written again with its own sequence number; the
// collector's welcome says which it already holds, and it ignores duplicates.
// Bounded twice: the main thread queues at most MAX_UNACKED_BYTES (past that it stops
// taking events from the ring, where overflow is counted as dropped), and nothing more
// is written while the socket's bufferedAmount is above MAX_SOCKET_BUFFERED.
//
// This runs inside the agent's worker thread (transport-worker.ts): a pending write to a
// collector that stopped reading, a connect to a black-holed address or a slow DNS
// lookup are libuv requests, which keep a loop alive even when their socket is
// unref'd. In an unref'd worker they can never hold the host's process.
import WebSocket from 'ws';
import { createDecoder } from '../protocol/codec.js';
import { CloseCode, INGEST_PATH, type CollectorMessage } from '../protocol/messages.js';
import { MAX_COLLECTOR_FRAME_BYTES, validateCollectorMessage } from '../protocol/validate.js';
import { errorText } from './log.js';
import { MAX_SOCKET_BUFFERED } from './transport-messages.js';

const BACKOFF_BASE_MS = 250;

export function zeroMask(mask: Buffer): void {
  mask.fill(0);
}
const BACKOFF_CAP_MS = 30_000;

interface Queued {
  seq: number;
  count: number;
  bytes: Uint8Array;
}

export interface TransportHooks {
  /** The hello message, encoded, for each new connection. */
  hello(): Uint8Array;
  onMessage(message: CollectorMessage): void;
  /** Batches holding `events` events and `bytes` bytes were acknowledged. */
  onAcked(events: number, bytes: number): void;
  /** True on each welcome; false whenever a connection (or an attempt at one) ends. */
  onConnected(connected: boolean): void;
  warn(key: string, text: string): void;
}

export class Transport {
  private ws: WebSocket | null = null;
  /** True between the collector's welcome and the connection's end. */
  private ready = false;
  private readonly queue: Queued[] = [];
  /** Index in `queue` of the next batch to write on the current connection. */
  private written = 0;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly url: string;

  constructor(base: string, private readonly token: string | undefined, private readonly hooks: TransportHooks) {
    this.url = base + INGEST_PATH;
  }

  start(): void {
    this.connect();
  }

  /** Queues an encoded batch (in sequence order) and writes what the socket takes. */
  push(seq: number, count: number, bytes: Uint8Array): void {
    this.queue.push({ seq, count, bytes });
    this.pump();
  }

  /** Sends a message that is not kept for resending (acks of settings, dump data). */
  sendNow(bytes: Uint8Array): void {
    if (this.ready && this.ws !== null) this.ws.send(bytes);
  }

  /** Writes queued batches while the socket drains. */
  pump(): void {
    const ws = this.ws;
    if (!this.ready || ws === null) return;
    while (this.written < this.queue.length && ws.bufferedAmount < MAX_SOCKET_BUFFERED) {
      ws.send(this.queue[this.written++]!.bytes);
    }
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.ws?.close(CloseCode.goingAway, 'process exiting');
  }

  private acknowledge(seq: number): void {
    let n = 0;
    let events = 0;
    let bytes = 0;
    while (n < this.queue.length && this.queue[n]!.seq <= seq) {
      const q = this.queue[n++]!;
      events += q.count;
      bytes += q.bytes.length;
    }
    if (n === 0) return;
    this.queue.splice(0, n);
    this.written = Math.max(0, this.written - n);
    this.hooks.onAcked(events, bytes);
    this.pump();
  }

  private connect(): void {
    if (this.closed) return;
    const ws = new WebSocket(this.url, {
      headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
      maxPayload: MAX_COLLECTOR_FRAME_BYTES,
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
      // A zero mask, which ws skips: masking guards proxies against bytes a browser
      // script chose, and cost an XOR pass over a copy of every frame (88 ns/event).
      generateMask: zeroMask,
    });
    this.ws = ws;
    const decoder = createDecoder();
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      ws.send(this.hooks.hello());
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      let message: CollectorMessage | null = null;
      try {
        message = isBinary ? validateCollectorMessage(decoder.unpack(data)) : null;
      } catch {
        message = null;
      }
      if (message === null) {
        this.hooks.warn('bad-frame', 'ignored a malformed message from the collector');
        return;
      }
      if (message.t === 'welcome') {
        this.ready = true;
        this.attempt = 0;
        this.written = 0;
        this.hooks.onConnected(true);
        this.acknowledge(message.lastSeq);
      } else if (message.t === 'ack') {
        this.acknowledge(message.seq);
      }
      this.hooks.onMessage(message);
      if (message.t === 'welcome') this.pump();
    });
    ws.on('unexpected-response', (_req, res) => {
      this.hooks.warn(`refused:${res.statusCode}`, `the collector at ${this.url} refused the connection (HTTP ${res.statusCode}${res.statusCode === 401 ? ': wrong or missing NODEFLIGHT_TOKEN' : ''}); retrying`);
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err: Error) => {
      this.hooks.warn(`error:${(err as NodeJS.ErrnoException).code ?? err.message}`, `cannot stream to the collector at ${this.url} (${errorText(err)}); recording in-process and retrying`);
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (this.ws === ws) this.ws = null;
      this.ready = false;
      this.hooks.onConnected(false);
      if (code >= 4000) this.hooks.warn(`close:${code}`, `the collector closed the stream (${code} ${reason.toString()}); retrying`);
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    // Full jitter: agents restarted together do not reconnect in lockstep.
    const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, 50 + Math.random() * cap);
  }
}
