// Streams encoded batches to the collector over one WebSocket and keeps them until
// acknowledged, so that a collector that dies mid-stream loses nothing it was sent:
//
//   queue:  [ seq 7 | seq 8 | seq 9 | seq 10 ]      (encoded, awaiting ack)
//             ^acked up to 6   ^written on this connection up to here
//
// On reconnect every queued batch is written again with its own sequence number; the
// collector's welcome says which it already holds, and it ignores duplicates.
// Bounded twice: at most MAX_UNACKED_BYTES are queued (past that the agent stops taking
// events from the ring, where overflow is counted as dropped), and nothing more is
// written while the socket holds MAX_SOCKET_BUFFERED unsent.
//
// It runs on the host's thread, and the host's event loop must never wait for it. The
// socket is unref'd, but a pending write to a collector that stopped reading, a connect
// to a black-holed address or a DNS lookup is a libuv request, and requests keep a loop
// alive whatever their socket says. So a light check (releaseLoop) asks the loop what
// keeps it alive; when that is only requests of the kinds this socket makes, the host
// is done and waiting for us: the socket is dropped (its batches stay queued, so a host
// that was not done after all only sees a reconnect). (A worker thread avoided this too,
// but its second V8 isolate cost 18 MB idle and 30-50 MB under load.)
import { createDecoder } from '../protocol/codec.js';
import { CloseCode, INGEST_PATH, type CollectorMessage } from '../protocol/messages.js';
import { MAX_COLLECTOR_FRAME_BYTES, validateCollectorMessage } from '../protocol/validate.js';
import { debug, errorText, warnOnce } from './log.js';
import { onlySocketRequestsAlive } from './node-internals.js';
import { SILENT_SERVER, WebSocketClient } from './websocket.js';

export interface CollectorConnection {
  /** `ws://` or `wss://` base URL. */
  base: string;
  token: string | undefined;
  /** Certificates to trust for wss (undefined: Node's defaults). */
  ca: string[] | undefined;
  /** A collector silent this long, not even answering a ping, is taken for lost. */
  pingTimeoutMs: number;
}

/** Node's codes for a certificate it would not trust. */
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS/;

/** Encoded batches kept awaiting acknowledgement. */
export const MAX_UNACKED_BYTES = 8 * 1024 * 1024;
/** Nothing more is written while the socket holds this much unsent. */
const MAX_SOCKET_BUFFERED = 1024 * 1024;
/** How long a process that is about to exit waits for its last batches to be acknowledged. */
export const EXIT_DRAIN_MS = 1000;
/** How often the loop is asked whether only this transport keeps it alive. */
const RELEASE_CHECK_MS = 200;
/**
 * Stdio handles are listed as ref'd although they do not keep a loop alive unless the app
 * reads them. If one was in use after all, releasing costs only a reconnect, after
 * RELEASED_RETRY_MS so that such a host sees at most one every few seconds.
 */
const RELEASED_RETRY_MS = 5000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 30_000;

interface Queued {
  seq: number;
  count: number;
  bytes: Buffer;
}

export class Transport {
  private ws: WebSocketClient | null = null;
  /** True between the collector's welcome and the connection's end. */
  private ready = false;
  private readonly queue: Queued[] = [];
  /** Index in `queue` of the next batch to write on the current connection. */
  private written = 0;
  private queuedBytes = 0;
  private nextSeq = 1;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private draining: NodeJS.Timeout | null = null;
  private readonly releaseTimer: NodeJS.Timeout;
  private closed = false;
  /** Whether releaseLoop() dropped the last connection. */
  private released = false;
  private readonly url: URL;
  /** True on each welcome; false once a connection (or an attempt at one) ended. */
  connected = false;
  /** Whether the last connection (or attempt) ended; false while the first attempt is under way. */
  private down = false;
  /** Events the collector acknowledged. */
  sent = 0;
  /** Events queued and not yet acknowledged. */
  inFlight = 0;
  /** Bytes handed to the socket, resends included. */
  bytesSent = 0;
  /** Connections dropped because the collector fell silent. */
  timeouts = 0;
  /** Connection attempts that failed on the collector's certificate. */
  certificateErrors = 0;

  constructor(private readonly connection: CollectorConnection, private hello: Uint8Array, private readonly onMessage: (m: CollectorMessage) => void) {
    this.url = new URL(connection.base + INGEST_PATH);
    this.releaseTimer = setInterval(() => this.releaseLoop(), RELEASE_CHECK_MS);
    this.releaseTimer.unref();
    this.connect();
  }

  /** Whether another batch may be queued now. */
  get hasRoom(): boolean {
    return this.queuedBytes < MAX_UNACKED_BYTES;
  }

  get idle(): boolean {
    return this.inFlight === 0;
  }

  /** The sequence number of the next batch; batches must be pushed in this order. */
  takeSeq(): number {
    return this.nextSeq++;
  }

  /**
   * Queues an encoded batch (in sequence order) and writes what the socket takes. The
   * bytes are copied: the encoder's output is a view into a pool of several batches, and
   * a kept view would hold the whole pool until acked, past MAX_UNACKED_BYTES.
   */
  push(seq: number, count: number, bytes: Uint8Array): void {
    const copy = Buffer.from(bytes);
    this.queue.push({ seq, count, bytes: copy });
    this.queuedBytes += copy.length;
    this.inFlight += count;
    this.pump();
  }

  /** Sends a message that is not kept for resending (acks of settings, dump data). */
  sendNow(bytes: Uint8Array): void {
    if (this.ready && this.ws !== null) {
      this.bytesSent += bytes.length;
      this.ws.send(bytes);
    }
  }

  /** The hello of the next connection (settings changed). */
  setHello(bytes: Uint8Array): void {
    this.hello = Buffer.from(bytes);
  }

  /**
   * Called when the process is about to exit: keeps it up for at most EXIT_DRAIN_MS
   * while the last batches are acknowledged. Best effort and bounded; skipped when the
   * collector is known to be unreachable, so such a process exits at once.
   */
  drainBeforeExit(): void {
    if (this.draining || this.down || this.inFlight === 0) return;
    this.draining = setTimeout(() => this.endDrain(), EXIT_DRAIN_MS);
  }

  /** The process is ending: a close frame (1001) with `reason` follows what was written, and nothing is retried. */
  closeAtExit(reason: string): void {
    this.closed = true;
    if (this.ready && this.ws !== null) this.ws.close(CloseCode.goingAway, reason);
  }

  close(): void {
    this.closed = true;
    this.endDrain();
    clearInterval(this.releaseTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const ws = this.ws;
    if (ws === null) return;
    // A clean close waits (under an unref'd timer) for the collector's reply; a stream
    // that never got going is simply cut.
    if (this.ready) ws.close(CloseCode.goingAway, 'process exiting');
    else ws.terminate();
  }

  /** Writes queued batches while the socket drains. */
  private pump(): void {
    const ws = this.ws;
    if (!this.ready || ws === null) return;
    while (this.written < this.queue.length && ws.bufferedAmount < MAX_SOCKET_BUFFERED) {
      const bytes = this.queue[this.written++]!.bytes;
      this.bytesSent += bytes.length;
      ws.send(bytes, this.onWritten);
    }
  }

  // Called as a frame reaches the kernel: room to write more.
  private readonly onWritten = (err?: Error | null): void => {
    if (err === undefined || err === null) this.pump();
  };

  private endDrain(): void {
    if (!this.draining) return;
    clearTimeout(this.draining);
    this.draining = null;
  }

  private releaseLoop(): void {
    const ws = this.ws;
    if (ws === null || this.draining) return;
    if (!onlySocketRequestsAlive()) return;
    this.released = true;
    ws.terminate();
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
    this.sent += events;
    this.inFlight -= events;
    this.queuedBytes -= bytes;
    if (this.inFlight === 0) this.endDrain();
    this.pump();
  }

  private setConnected(connected: boolean): void {
    this.connected = connected;
    this.down = !connected;
    if (this.down) this.endDrain();
  }

  private connect(): void {
    if (this.closed) return;
    const decoder = createDecoder();
    const { token, ca, pingTimeoutMs } = this.connection;
    const ws: WebSocketClient = new WebSocketClient(this.url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      maxPayload: MAX_COLLECTOR_FRAME_BYTES,
      handshakeTimeoutMs: Math.min(HANDSHAKE_TIMEOUT_MS, pingTimeoutMs),
      silenceTimeoutMs: pingTimeoutMs,
      ca,
    }, {
      open: () => ws.send(this.hello),
      message: (data) => {
        let message: CollectorMessage | null = null;
        try {
          message = validateCollectorMessage(decoder.unpack(data));
        } catch {
          message = null;
        }
        if (message === null) return warnOnce('bad-frame', 'ignored a malformed message from the collector');
        if (message.t === 'welcome') {
          this.ready = true;
          this.attempt = 0;
          this.written = 0;
          this.setConnected(true);
          this.acknowledge(message.lastSeq);
        } else if (message.t === 'ack') {
          this.acknowledge(message.seq);
        }
        this.onMessage(message);
        if (message.t === 'welcome') this.pump();
      },
      text: () => warnOnce('bad-frame', 'ignored a malformed message from the collector'),
      refused: (status) => {
        warnOnce(`refused:${status}`, `the collector at ${this.url} refused the connection (HTTP ${status}${status === 401 ? ': wrong or missing NODEFLIGHT_TOKEN' : ''}); retrying`);
      },
      error: (err) => {
        // Cutting an attempt ourselves (release, close) is no news.
        if (this.released || this.closed) return;
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (code === SILENT_SERVER) {
          this.timeouts++;
          debug('connection timeout %d: %s', this.timeouts, err.message);
          return warnOnce('silent', `${err.message} (${this.url}): taken for lost, reconnecting`);
        }
        if (CERTIFICATE_ERROR.test(code)) {
          this.certificateErrors++;
          debug('certificate refused %d: %s %s', this.certificateErrors, code, err.message);
          return warnOnce(`tls:${code}`, `refused the TLS certificate of the collector at ${this.url} (${code}: ${errorText(err)}); ` +
            'nothing is sent to it. If a private CA signed it, set NODEFLIGHT_CA to that CA\'s PEM file. Recording in-process and retrying');
        }
        warnOnce(`error:${code || err.message}`, `cannot stream to the collector at ${this.url} (${errorText(err)}); recording in-process and retrying`);
      },
      close: (code, reason) => {
        if (this.ws === ws) this.ws = null;
        this.ready = false;
        this.setConnected(false);
        if (code >= 4000) warnOnce(`close:${code}`, `the collector closed the stream (${code} ${reason}); retrying`);
        this.scheduleReconnect();
      },
    });
    this.ws = ws;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    // Full jitter: agents restarted together do not reconnect in lockstep.
    const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    const delay = this.released ? RELEASED_RETRY_MS : 50 + Math.random() * cap;
    this.released = false;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
    this.retryTimer.unref();
  }
}
