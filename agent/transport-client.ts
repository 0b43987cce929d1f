// The main thread's side of the transport: starts the transport thread, hands it
// encoded batches and keeps the counts the agent's accounting needs (events awaiting
// an ack, events acknowledged) without waiting on it.
//
// The worker and its port are unref'd, so they never keep the host alive (a 'message'
// listener on a Worker object refs its built-in port whatever worker.unref() said, so
// the two threads talk over a MessageChannel of their own). The worker is started with
// no execArgv, so the --import that loaded the agent does not run again inside it.
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { CollectorMessage } from '../protocol/messages.js';
import { errorText, warnOnce } from './log.js';
import { MAX_UNACKED_BYTES, type FromWorker, type ToWorker } from './transport-messages.js';

/** How long a process that is about to exit waits for its last batches to be acknowledged. */
export const EXIT_DRAIN_MS = 1000;

export class TransportClient {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private nextSeq = 1;
  private queuedBytes = 0;
  private draining: NodeJS.Timeout | null = null;
  connected = false;
  /** Whether the last connection (or attempt) ended; false while the first attempt is under way. */
  private down = false;
  /** Events the collector acknowledged. */
  sent = 0;
  /** Events handed to the transport and not yet acknowledged. */
  inFlight = 0;
  /** Events lost with a transport thread that died. */
  lost = 0;

  constructor(url: string, token: string | undefined, hello: Uint8Array, private readonly onMessage: (m: CollectorMessage) => void) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(new URL('./transport-worker.js', import.meta.url), {
      workerData: { url, token, hello, port: port2 },
      transferList: [port2],
      execArgv: [],
      stdout: true,
      stderr: true,
      // The queue is bounded by MAX_UNACKED_BYTES; this bounds the rest of the thread.
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    this.port.on('message', (m: FromWorker) => this.receive(m));
    this.port.unref();
    this.worker.unref();
    this.worker.on('error', (err) => warnOnce('worker', `the transport thread failed; streaming is off: ${errorText(err)}`));
    this.worker.on('exit', () => {
      this.connected = false;
      this.lost += this.inFlight;
      this.inFlight = 0;
      this.queuedBytes = MAX_UNACKED_BYTES;
      this.endDrain();
    });
  }

  /** Whether another batch may be handed over now. */
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

  push(seq: number, count: number, bytes: Uint8Array): void {
    this.queuedBytes += bytes.length;
    this.inFlight += count;
    this.post({ t: 'batch', seq, count, bytes });
  }

  /** Sends a message that is not kept for resending (acks of settings, dump data). */
  sendNow(bytes: Uint8Array): void {
    this.post({ t: 'send', bytes });
  }

  setHello(bytes: Uint8Array): void {
    this.post({ t: 'hello', bytes });
  }

  /**
   * Called when the process is about to exit: keeps it up for at most EXIT_DRAIN_MS
   * while the last batches are acknowledged. Best effort and bounded; skipped when the
   * collector is known to be unreachable, so such a process exits at once.
   */
  drainBeforeExit(): void {
    if (this.draining || this.down || this.inFlight === 0) return;
    this.port.ref();
    this.draining = setTimeout(() => this.endDrain(), EXIT_DRAIN_MS);
  }

  close(): void {
    this.post({ t: 'close' });
    this.endDrain();
  }

  private endDrain(): void {
    if (!this.draining) return;
    clearTimeout(this.draining);
    this.draining = null;
    this.port.unref();
  }

  private post(m: ToWorker): void {
    if (!('bytes' in m)) {
      this.port.postMessage(m);
      return;
    }
    // msgpackr's output is a view into its reused pool, and a structured clone copies a
    // view's whole backing buffer (up to 30x the payload for a small batch). So copy
    // exactly the payload once and transfer it.
    const exact = Uint8Array.prototype.slice.call(m.bytes);
    this.port.postMessage({ ...m, bytes: exact }, [exact.buffer]);
  }


  private receive(m: FromWorker): void {
    switch (m.t) {
      case 'acked':
        this.sent += m.events;
        this.inFlight -= m.events;
        this.queuedBytes -= m.bytes;
        if (this.inFlight === 0) this.endDrain();
        break;
      case 'connected':
        this.connected = m.connected;
        this.down = !m.connected;
        if (this.down) this.endDrain();
        break;
      case 'message':
        this.onMessage(m.message);
        break;
      case 'warn':
        warnOnce(m.key, m.text);
        break;
    }
  }
}
