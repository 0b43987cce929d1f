// GET /v1/live: the dashboard's live feed, as server-sent events. Once a second, while
// at least one client is connected, one `snapshot` event carries what GET /v1/overview,
// /v1/routes and /v1/agents would answer at that moment, verbatim, so the page shows
// exactly the REST API's numbers:
//
//   event: snapshot
//   data: {"time":<ms>,"overview":{...},"routes":{"routes":[...]},"agents":{"agents":[...]}}
//
// The snapshot is built once per tick and written to every client. The timer exists
// only while someone listens (cleared with the last disconnect) and is unref'd.
// Clients are bounded (a 503 past the cap), and a client that does not read is cut off
// once its unsent data passes a bound, rather than buffered without end: EventSource
// reconnects by itself and gets a fresh snapshot.
//
// Like every other read of the API, the feed needs no token (EventSource cannot send
// an Authorization header, and the same numbers are one GET away); it carries no
// secret and changes nothing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../http/respond.js';

export interface LiveOptions {
  /** The JSON of one snapshot, without newlines. */
  snapshot: () => string;
  maxClients?: number;
  periodMs?: number;
  /** A client with more than this many bytes unsent is disconnected. */
  maxUnsentBytes?: number;
}

export class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | null = null;
  private failed = false;
  private readonly maxClients: number;
  private readonly periodMs: number;
  private readonly maxUnsentBytes: number;

  constructor(private readonly opts: LiveOptions) {
    this.maxClients = opts.maxClients ?? 32;
    this.periodMs = opts.periodMs ?? 1000;
    this.maxUnsentBytes = opts.maxUnsentBytes ?? 8 * 1024 * 1024;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Whether the timer is running (only while a client is connected). */
  get ticking(): boolean {
    return this.timer !== null;
  }

  /** Starts the stream on `res`; throws a 503 HttpError when the feed is full. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= this.maxClients) {
      throw new HttpError(503, `the live feed has its maximum of ${this.maxClients} clients; poll the REST API or retry later`, { 'retry-after': '10' });
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Tells proxies such as nginx not to hold the stream back.
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    this.clients.add(res);
    res.on('close', () => this.remove(res));
    const first = this.frame();
    // `retry`: how long EventSource waits before it reconnects.
    res.write(`retry: 2000\n\n${first ?? ''}`);
    this.timer ??= setInterval(() => this.tick(), this.periodMs).unref();
  }

  /** Ends every stream and stops the timer. */
  close(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.stop();
  }

  private remove(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0) this.stop();
  }

  private stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    if (this.clients.size === 0) return this.stop();
    const frame = this.frame();
    if (frame === undefined) return;
    for (const res of this.clients) {
      if (res.writableLength > this.maxUnsentBytes) res.destroy();
      else res.write(frame);
    }
  }

  /** One snapshot event; undefined (logged once) if building it failed. */
  private frame(): string | undefined {
    try {
      return `event: snapshot\ndata: ${this.opts.snapshot()}\n\n`;
    } catch (err) {
      if (!this.failed) process.stderr.write(`[nodeflight] collector: live snapshot failed: ${(err as Error).stack ?? String(err)}\n`);
      this.failed = true;
      return undefined;
    }
  }
}
