// WebSocket ingest at /v1/ingest: agents stream hello, then batches (protocol/messages.ts);
// settings-acks and dump data go to the control (control/control.ts), which sends through `send`.
//
// The token is checked on the HTTP upgrade request, before a WebSocket exists, so a
// caller without it costs one short response. After the upgrade every frame is decoded
// by the connection's own decoder and schema-checked before it is used; a frame that
// fails closes the connection with a code and a reason the agent can log, and counts
// as rejected. Timers are unref'd: the HTTP server alone keeps the process alive.
//
// Bytes of frames not yet whole (a frame, or a fragmented message, still arriving) are
// counted per connection, to within one socket read, and capped across connections:
// over `pendingMaxBytes`, the connection holding the most is closed with 1013, so many
// slow senders cannot make the collector hold many frames' worth of memory.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { createDecoder, createEncoder } from '../../protocol/codec.js';
import {
  CloseCode, PROTOCOL_VERSION, type BatchMessage, type CollectorMessage, type DumpDataMessage, type HelloMessage,
  type SettingsAckMessage,
} from '../../protocol/messages.js';
import { MAX_AGENT_FRAME_BYTES, validateAgentMessage } from '../../protocol/validate.js';
import { copyCounters, type AgentRegistry, type AgentState } from './agents.js';
import type { Aggregator } from '../stats/aggregator.js';
import { authMessage, type TokenCheck } from '../http/auth.js';
import type { HostCheck } from '../http/host-check.js';
import type { AgentEnd, GoneAgents } from './gone-agents.js';
import type { InflightStore } from '../stats/inflight-store.js';
import type { SeriesStore } from '../stats/series-store.js';
import { rawErrorResponse } from '../http/respond.js';
import { stripVersion } from '../http/router.js';

/** A connection that has not said hello by then is closed. */
const HELLO_TIMEOUT_MS = 10_000;
/** Pings find agents whose connection died without a close (a half-open TCP link). */
const HEARTBEAT_MS = 30_000;
/** The close code ws reports when the connection ended without a close frame. */
const NO_CLOSE_FRAME = 1006;
/** Close reasons are limited to 123 bytes. */
const MAX_REASON_BYTES = 120;
const CLOSE_GRACE_MS = 2_000;
/** The WebSocket standard's close code for a server-side failure. */
const INTERNAL_ERROR = 1011;
/** The WebSocket standard's "try again later". */
const TRY_AGAIN_LATER = 1013;
/** Default cap on bytes of partly received frames across connections. */
const PENDING_MAX_BYTES = 64 * 1024 * 1024;

/** What the ingest tells the control about; `link` is the connection a message came on. */
export interface IngestControl {
  onHello(agent: AgentState, hello: HelloMessage): void;
  onSettingsAck(agent: AgentState, m: SettingsAckMessage): void;
  onDumpData(agent: AgentState, link: object, m: DumpDataMessage, bytes: number): void;
  onClosed(agent: AgentState, link: object): void;
}

export interface IngestDeps {
  agents: AgentRegistry;
  aggregator: Aggregator;
  checkToken: TokenCheck;
  checkHost: HostCheck;
  clock: () => number;
  /** Settings and dumps: told of hellos, acks, dump data and closed connections. */
  control: IngestControl;
  /** Outbound calls, runtime samples and pauses that batches carry. */
  series?: SeriesStore;
  /** The requests open now that batches carry. */
  inflight?: InflightStore;
  /** Told when and how each agent's connection ended. */
  gone?: GoneAgents;
  /** Ping period; default HEARTBEAT_MS. */
  heartbeatMs?: number;
  /** Bytes of partly received frames held across connections; default PENDING_MAX_BYTES. */
  pendingMaxBytes?: number;
}

export interface Ingest {
  /** Frames that closed their connection: malformed, out of protocol, or too large. */
  readonly rejectedFrames: number;
  /** Sends to the agent's open connection; returns it, or null when the agent has none. */
  send(agent: AgentState, message: CollectorMessage): object | null;
  close(): Promise<void>;
}

function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_REASON_BYTES) return text;
  let s = text.slice(0, MAX_REASON_BYTES);
  while (Buffer.byteLength(s) > MAX_REASON_BYTES - 3) s = s.slice(0, -1);
  return `${s}...`;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function attachIngest(server: Server, deps: IngestDeps): Ingest {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_FRAME_BYTES, perMessageDeflate: false });
  const connections = new Set<Connection>();
  const stats = { rejectedFrames: 0 };
  const encoder = createEncoder();
  const heartbeatMs = deps.heartbeatMs ?? HEARTBEAT_MS;
  const pendingMaxBytes = deps.pendingMaxBytes ?? PENDING_MAX_BYTES;
  /** Sum of every connection's `pending`. */
  let heldBytes = 0;

  function overPendingCap(): void {
    let most: Connection | null = null;
    for (const c of connections) if (most === null || c.pending > most.pending) most = c;
    most?.cutForMemory();
  }

  class Connection {
    private agent: AgentState | null = null;
    private alive = true;
    private closing = false;
    private readonly decoder = createDecoder();
    private readonly helloTimer: NodeJS.Timeout;
    /** Set when this side ends the connection: a timeout, or a frame it refused. */
    private ending: Omit<AgentEnd, 'at'> | null = null;
    /** The socket's error, if it failed (ECONNRESET ...). */
    private socketError: string | null = null;
    /** Bytes read since the last whole message: what ws holds of frames still arriving. */
    pending = 0;

    constructor(readonly ws: WebSocket, private readonly socket: Duplex) {
      socket.on('error', (err: NodeJS.ErrnoException) => (this.socketError ??= err.code ?? err.message));
      // ws reads the socket first (its listener came first), so a message of this read has fired already.
      socket.on('data', (chunk: Buffer) => {
        if (this.closing) return;
        this.pending += chunk.length;
        heldBytes += chunk.length;
        if (heldBytes > pendingMaxBytes) overPendingCap();
      });
      ws.on('message', (data, isBinary) => {
        this.release();
        try {
          this.onFrame(data, isBinary);
        } catch (err) {
          // Not the agent's fault (its frame passed the checks): say so, keep the collector up.
          process.stderr.write(`[nodeflight] collector: could not handle a frame: ${(err as Error).stack ?? String(err)}\n`);
          this.close(INTERNAL_ERROR, 'the collector failed to handle this frame');
        }
      });
      ws.on('pong', () => (this.alive = true));
      // ws reports a frame over maxPayload (and other protocol errors) here, then closes.
      ws.on('error', (err) => {
        if (!this.closing) stats.rejectedFrames++;
        this.ending ??= { reason: 'rejected', code: NO_CLOSE_FRAME, message: closeReason(err.message) };
        this.closing = true;
      });
      ws.on('close', (code, reason) => this.onClose(code, reason.toString('utf8')));
      this.helloTimer = setTimeout(() => this.close(CloseCode.unexpected, `no hello within ${HELLO_TIMEOUT_MS / 1000} s`), HELLO_TIMEOUT_MS).unref();
    }

    heartbeat(): void {
      if (!this.alive) {
        this.ending ??= { reason: 'timeout', code: NO_CLOSE_FRAME, message: `no answer to the collector's ping within ${heartbeatMs} ms` };
        this.ws.terminate();
        return;
      }
      this.alive = false;
      this.ws.ping();
    }

    private release(): void {
      heldBytes -= this.pending;
      this.pending = 0;
    }

    /** Closes at once and lets go of what ws holds: the close frame is flushed, then the socket destroyed. */
    cutForMemory(): void {
      const held = this.pending;
      this.release();
      const why = `the collector holds over ${pendingMaxBytes} bytes of partly received frames; ` +
        `this connection held the most (${held})`;
      this.reject(TRY_AGAIN_LATER, why);
      this.socket.pause();
      this.socket.end();
      this.socket.once('finish', () => this.socket.destroy());
    }

    close(code: number, reason: string): void {
      if (this.closing) return;
      this.closing = true;
      this.ws.close(code, closeReason(reason));
    }

    private reject(code: number, reason: string): void {
      stats.rejectedFrames++;
      this.ending ??= { reason: 'rejected', code, message: closeReason(reason) };
      this.close(code, reason);
    }

    send(m: CollectorMessage): void {
      this.ws.send(encoder.pack(m));
    }

    private onFrame(data: RawData, isBinary: boolean): void {
      if (this.closing) return;
      this.alive = true;
      if (!isBinary) return this.reject(CloseCode.malformed, 'frames must be binary msgpack, got text');
      let decoded: unknown;
      try {
        // binaryType is 'nodebuffer', so a (reassembled) binary message is one Buffer.
        decoded = this.decoder.unpack(data as Buffer);
      } catch (err) {
        return this.reject(CloseCode.malformed, `frame is not msgpack: ${(err as Error).message}`);
      }
      if (this.agent === null) return this.onFirst(decoded);
      const checked = validateAgentMessage(decoded);
      if ('error' in checked) return this.reject(CloseCode.malformed, checked.error);
      const m = checked.message;
      switch (m.t) {
        case 'batch':
          return this.onBatch(this.agent, m);
        case 'hello':
          return this.reject(CloseCode.unexpected, 'hello was already received on this connection');
        case 'settings-ack':
          return deps.control.onSettingsAck(this.agent, m);
        case 'dump-data':
          return deps.control.onDumpData(this.agent, this, m, (data as Buffer).length);
      }
    }

    private onFirst(decoded: unknown): void {
      // The version comes before the schema: a newer agent's hello may differ in shape,
      // and should hear that the versions differ rather than that its hello is malformed.
      if (isMap(decoded) && decoded.t === 'hello' && typeof decoded.protocol === 'number' && decoded.protocol !== PROTOCOL_VERSION) {
        return this.reject(CloseCode.protocolVersion, `agent speaks protocol v${decoded.protocol}; this collector speaks v${PROTOCOL_VERSION}`);
      }
      const checked = validateAgentMessage(decoded);
      if ('error' in checked) return this.reject(CloseCode.malformed, checked.error);
      if (checked.message.t !== 'hello') return this.reject(CloseCode.unexpected, `the first message must be a hello, got ${checked.message.t}`);
      this.onHello(checked.message);
    }

    private onHello(hello: HelloMessage): void {
      const previous = deps.agents.get(hello.agentId)?.link;
      const agent = deps.agents.connect(hello, this, deps.clock());
      if (agent === 'full') {
        return this.close(CloseCode.tooManyAgents, 'this collector holds as many connected agents as it may');
      }
      // Refused, not replaced: else any client that read the id in /v1/agents could cut the agent off
      // and, with a high seq, have its later batches acknowledged and thrown away.
      if (agent === 'taken') {
        return this.reject(CloseCode.idTaken, `agent id ${hello.agentId} belongs to another agent process`);
      }
      clearTimeout(this.helloTimer);
      if (previous instanceof Connection) previous.close(CloseCode.replaced, `a newer connection took over agent ${hello.agentId}`);
      this.agent = agent;
      deps.gone?.back(agent.id);
      deps.control.onHello(agent, hello);
      this.send({
        t: 'welcome',
        protocol: PROTOCOL_VERSION,
        lastSeq: agent.lastSeq,
        settings: agent.requested?.settings ?? null,
        settingsVersion: agent.requested?.version ?? agent.settingsVersion,
      });
    }

    private onBatch(agent: AgentState, m: BatchMessage): void {
      const now = deps.clock();
      agent.lastSeenAt = now;
      // A batch resent after a lost ack is acknowledged again but counted once.
      if (m.seq > agent.lastSeq) {
        deps.aggregator.recordBatch(agent.id, agent.service, m.events, now);
        deps.series?.record(agent.id, agent.service, m, now);
        if (m.inflight !== undefined) deps.inflight?.record(agent.id, agent.service, m.inflight);
        agent.lastSeq = m.seq;
        agent.received += m.events.count;
        deps.agents.received += m.events.count;
        agent.counters = copyCounters(m.counters);
        if (m.cost !== undefined) agent.cost.add(m.cost);
        if (m.streams !== undefined) {
          agent.streamsDropped = { outbound: m.streams.outbound.dropped, runtime: m.streams.runtime.dropped, pauses: m.streams.pauses.dropped };
        }
      }
      this.send({ t: 'ack', seq: m.seq });
    }

    private onClose(code: number, reason: string): void {
      this.closing = true;
      this.release();
      clearTimeout(this.helloTimer);
      connections.delete(this);
      if (this.agent !== null) {
        const now = deps.clock();
        // A replaced connection is no end: its successor holds the agent.
        if (this.agent.link === this) deps.gone?.ended(this.agent.id, { at: now, ...this.howItEnded(code, reason) });
        deps.agents.disconnect(this.agent, this, now);
        deps.control.onClosed(this.agent, this);
      }
    }

    private howItEnded(code: number, reason: string): Omit<AgentEnd, 'at'> {
      // What this side decided; the code the connection ended with when this side set none.
      if (this.ending !== null) return this.ending.code === NO_CLOSE_FRAME ? { ...this.ending, code } : this.ending;
      if (code !== NO_CLOSE_FRAME) return { reason: 'closed', code, message: reason };
      const error = this.socketError === null ? '' : ` (${this.socketError})`;
      return { reason: 'reset', code, message: `the connection ended without a close frame${error}` };
    }
  }

  function refuse(socket: Duplex, status: number, message: string, headers?: Record<string, string>): void {
    socket.once('finish', () => socket.destroy());
    socket.end(rawErrorResponse(status, message, headers));
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    let path: string;
    try {
      path = stripVersion(new URL(req.url ?? '/', 'http://collector').pathname);
    } catch (err) {
      return refuse(socket, 404, (err as Error).message);
    }
    const badHost = deps.checkHost(req.headers.host);
    if (badHost !== null) return refuse(socket, 403, badHost);
    if (path !== '/ingest') return refuse(socket, 404, `no WebSocket endpoint at ${req.url}; agents connect to /v1/ingest`);
    // Agents send no Origin; browsers always do, and a page must not pose as an agent.
    const origin = req.headers.origin;
    if (origin !== undefined) {
      const page = JSON.stringify(origin).slice(0, 200);
      return refuse(socket, 403, `a WebSocket from a web page (Origin ${page}) cannot connect to the agents' endpoint`);
    }
    const auth = deps.checkToken(req.headers.authorization);
    if (auth !== 'ok') return refuse(socket, 401, authMessage(auth), { 'WWW-Authenticate': 'Bearer' });
    wss.handleUpgrade(req, socket, head, (ws) => connections.add(new Connection(ws, socket)));
  }

  server.on('upgrade', onUpgrade);
  const heartbeat = setInterval(() => connections.forEach((c) => c.heartbeat()), heartbeatMs).unref();

  return {
    get rejectedFrames() {
      return stats.rejectedFrames;
    },
    send(agent, message) {
      const c = agent.link;
      if (!(c instanceof Connection) || c.ws.readyState !== c.ws.OPEN) return null;
      c.send(message);
      return c;
    },
    async close() {
      server.off('upgrade', onUpgrade);
      clearInterval(heartbeat);
      const closed = [...connections].map((c) => new Promise<void>((resolve) => {
        c.ws.once('close', () => resolve());
        c.close(CloseCode.goingAway, 'collector shutting down');
      }));
      // A peer that does not answer the close handshake is cut off after a grace period.
      const grace = setTimeout(() => connections.forEach((c) => c.ws.terminate()), CLOSE_GRACE_MS).unref();
      await Promise.all(closed);
      clearTimeout(grace);
      wss.close();
    },
  };
}
