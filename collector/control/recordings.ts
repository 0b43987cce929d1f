// Recordings dumped from agents on request (POST /v1/recordings), as asynchronous
// operations in the manner of Apache Flink's savepoints: the request is answered at
// once with an id, and the operation moves from IN_PROGRESS to COMPLETED or FAILED.
//
//   POST --> dump {requestId, lastMs} to each matching agent
//        <-- dump-data blocks from each, the last one flagged   --> one .nfr file
//
// Blocks are streamed into `<dir>/<id>.nfr.part` as they arrive and the file is renamed
// to `<id>.nfr` once every agent sent its last block, so a file under its final name is
// always whole. The operation FAILS, and its partial file is removed, when an agent's
// connection closes before its last block, when an agent sends nothing for `timeoutMs`,
// when the whole is not done within `maxMs` (however busy its agents), when one agent
// sends more than `agentMaxBytes` or all together more than `maxBytes`, or when the file
// cannot be written. Finished operations are kept for `storeMs` (like Flink's
// rest.async.store-duration), then forgotten with their file, so the directory holds no
// more than the operations the API can still name (JFR's bounded repository). Files
// left by a collector that did not close are removed when the next one starts.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentIdentity, DumpDataMessage, DumpRequestMessage } from '../../protocol/messages.js';
import { RecordingWriter } from '../../recording/writer.js';
import type { AgentState } from '../ingest/agents.js';

export type OperationStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

export interface RecordingOptions {
  /** The collector's data directory; recordings go to <dataDir>/recordings. Unset: a temporary directory. */
  dataDir: string | undefined;
  /** An agent that sends nothing for this long fails the operation. */
  timeoutMs: number;
  /** How long a finished operation is kept. */
  storeMs: number;
  /** An operation not complete this long after it started fails. */
  maxMs: number;
  /** Bytes of dump frames one agent may send into one operation. */
  agentMaxBytes: number;
  /** Bytes of dump frames of one operation, all agents together. */
  maxBytes: number;
  clock: () => number;
}

/** Operations under way at once; one more is refused. */
export const MAX_IN_PROGRESS = 8;
/** Finished operations kept; past this the oldest is forgotten early. */
const MAX_FINISHED = 1000;
/** The names this collector gives its files: `<32 hex>.nfr` and `.nfr.part`. */
const LEFT_OVER = /^[0-9a-f]{32}\.nfr(\.part)?$/;

interface Pending {
  /** The connection the request went out on: an answer must come back on it. */
  link: object;
  identity: AgentIdentity;
  introduced: boolean;
  /** Bytes of dump frames received from it. */
  bytes: number;
}

export interface Operation {
  readonly id: string;
  status: OperationStatus;
  readonly createdAt: number;
  finishedAt: number;
  failureCause: string | null;
  /** The file, once COMPLETED. */
  location: string | null;
  events: number;
  bytes: number;
  readonly agentIds: string[];
  readonly pending: Map<string, Pending>;
  /** Writes in arrival order; each step waits for the one before. */
  chain: Promise<void>;
  writer: Promise<RecordingWriter> | null;
  partPath: string;
  /** The no-answer timer while IN_PROGRESS; the expiry timer once finished. */
  timer: NodeJS.Timeout | null;
  deadline: NodeJS.Timeout | null;
  /** Bytes of dump frames received, every agent together. */
  received: number;
}

/** Sends a message to an agent; returns the connection it went out on, or null if there is none. */
export type AgentSender = (agent: AgentState, message: DumpRequestMessage) => object | null;

function identityOf(a: AgentState): AgentIdentity {
  return { agentId: a.id, service: a.service, host: a.host, pid: a.pid, nodeVersion: a.nodeVersion, agentVersion: a.agentVersion, startTime: a.startTime };
}

export class Recordings {
  private readonly ops = new Map<string, Operation>();
  private dir: Promise<string> | null = null;
  private readonly ownsDir: boolean;
  private closed = false;

  constructor(private readonly opts: RecordingOptions) {
    this.ownsDir = opts.dataDir === undefined;
  }

  get inProgress(): number {
    let n = 0;
    for (const op of this.ops.values()) if (op.status === 'IN_PROGRESS') n++;
    return n;
  }

  /** Starts an operation over `agents` (connected, at least one); the caller checked the cap. */
  start(agents: AgentState[], lastMs: number, send: AgentSender): Operation {
    this.expire();
    const id = randomBytes(16).toString('hex');
    const op: Operation = {
      id, status: 'IN_PROGRESS', createdAt: this.opts.clock(), finishedAt: 0, failureCause: null, location: null,
      events: 0, bytes: 0, agentIds: agents.map((a) => a.id), pending: new Map(), chain: Promise.resolve(), writer: null,
      partPath: '', timer: null, deadline: null, received: 0,
    };
    this.ops.set(id, op);
    op.writer = this.directory().then((dir) => {
      op.partPath = join(dir, `${id}.nfr.part`);
      return RecordingWriter.open(op.partPath, 'collector');
    });
    // The file is opened while the agents answer; every write waits for it.
    op.chain = op.writer.then(() => undefined, (err: Error) => this.fail(op, `could not create the recording file: ${err.message}`));
    for (const a of agents) {
      const link = send(a, { t: 'dump', requestId: id, lastMs });
      if (link === null) {
        this.fail(op, `agent ${a.id} (${a.service}) disconnected before the dump request was sent`);
        return op;
      }
      op.pending.set(a.id, { link, identity: identityOf(a), introduced: false, bytes: 0 });
    }
    this.arm(op);
    op.deadline = setTimeout(() => this.fail(op, `not complete within ${this.opts.maxMs} ms`), this.opts.maxMs).unref();
    return op;
  }

  /** The operation, unless unknown or expired. */
  get(id: string): Operation | undefined {
    this.expire();
    return this.ops.get(id);
  }

  /** `bytes`: the size of the frame that carried `m`. */
  onDumpData(agent: AgentState, link: object, m: DumpDataMessage, bytes: number): void {
    const op = this.ops.get(m.requestId);
    const p = op?.pending.get(agent.id);
    // A late answer (after a failure or a timeout) or one nobody asked for: ignored.
    if (op === undefined || op.status !== 'IN_PROGRESS' || p === undefined || p.link !== link) return;
    p.bytes += bytes;
    op.received += bytes;
    if (p.bytes > this.opts.agentMaxBytes) {
      const who = `agent ${agent.id} (${agent.service})`;
      return this.fail(op, `${who} sent more than ${this.opts.agentMaxBytes} bytes (--recording-agent-max-bytes)`);
    }
    if (op.received > this.opts.maxBytes) {
      return this.fail(op, `the agents sent more than ${this.opts.maxBytes} bytes (--recording-max-bytes)`);
    }
    this.arm(op);
    const { events, counters, inflight } = m;
    op.chain = op.chain.then(async () => {
      if (op.status !== 'IN_PROGRESS') return;
      const w = await op.writer!;
      if (!p.introduced) {
        p.introduced = true;
        await w.writeAgent(p.identity, counters);
      }
      if (events.count > 0) await w.writeEvents(p.identity.agentId, events);
      if (inflight !== undefined) await w.writeInflight(p.identity.agentId, inflight);
    }).catch((err: Error) => this.fail(op, `could not write the recording: ${err.message}`));
    if (m.last) {
      op.pending.delete(agent.id);
      if (op.pending.size === 0) this.complete(op);
    }
  }

  /** A connection closed: operations still waiting for an answer on it fail. */
  onConnectionClosed(agent: AgentState, link: object): void {
    for (const op of this.ops.values()) {
      if (op.status === 'IN_PROGRESS' && op.pending.get(agent.id)?.link === link) {
        this.fail(op, `agent ${agent.id} (${agent.service}) disconnected before it sent all of its recording`);
      }
    }
  }

  /** Removes the files a collector that did not close left in the data directory. */
  async sweep(): Promise<void> {
    if (this.ownsDir) return;
    const dir = join(this.opts.dataDir!, 'recordings');
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => LEFT_OVER.test(n)).map((n) => rm(join(dir, n), { force: true })));
  }

  /** Fails what is under way, waits for the files to close, removes them (and a temporary directory). */
  async close(): Promise<void> {
    this.closed = true;
    for (const op of this.ops.values()) this.fail(op, 'the collector shut down');
    const ops = [...this.ops.values()];
    await Promise.all(ops.map((op) => op.chain));
    for (const op of ops) this.forget(op);
    await Promise.all(ops.map((op) => op.chain));
    if (this.ownsDir && this.dir !== null) {
      const dir = await this.dir.catch(() => null);
      if (dir !== null) await rm(dir, { recursive: true, force: true });
    }
  }

  private directory(): Promise<string> {
    this.dir ??= this.opts.dataDir === undefined
      ? mkdtemp(join(tmpdir(), 'nodeflight-recordings-'))
      : mkdir(join(this.opts.dataDir, 'recordings'), { recursive: true }).then(() => join(this.opts.dataDir!, 'recordings'));
    // A failure is not cached: the next request tries again.
    this.dir.catch(() => (this.dir = null));
    return this.dir;
  }

  /** (Re)starts the no-answer timer. */
  private arm(op: Operation): void {
    if (op.timer) clearTimeout(op.timer);
    op.timer = setTimeout(() => {
      const silent = [...op.pending.values()].map((p) => `${p.identity.agentId} (${p.identity.service})`);
      this.fail(op, `no answer from agent ${silent.join(', ')} within ${this.opts.timeoutMs} ms`);
    }, this.opts.timeoutMs);
    op.timer.unref();
  }

  private complete(op: Operation): void {
    if (op.timer) clearTimeout(op.timer);
    op.timer = null;
    if (op.deadline) clearTimeout(op.deadline);
    op.chain = op.chain.then(async () => {
      if (op.status !== 'IN_PROGRESS') return;
      const w = await op.writer!;
      await w.close();
      const location = op.partPath.slice(0, -'.part'.length);
      await rename(op.partPath, location);
      const { size } = await stat(location);
      // The collector may have shut down meanwhile; the file is whole all the same.
      if (op.status !== 'IN_PROGRESS') return;
      Object.assign(op, { status: 'COMPLETED', location, events: w.events, bytes: size, finishedAt: this.opts.clock() });
      this.finished(op);
    }).catch((err: Error) => this.fail(op, `could not finish the recording file: ${err.message}`));
  }

  private fail(op: Operation, cause: string): void {
    if (op.status !== 'IN_PROGRESS') return;
    if (op.timer) clearTimeout(op.timer);
    if (op.deadline) clearTimeout(op.deadline);
    Object.assign(op, { status: 'FAILED', failureCause: cause, finishedAt: this.opts.clock(), timer: null });
    op.pending.clear();
    op.chain = op.chain.then(async () => {
      const w = await op.writer;
      await w?.close();
    }).catch(() => undefined).then(() => (op.partPath ? rm(op.partPath, { force: true }) : undefined)).catch(() => undefined);
    this.finished(op);
  }

  /** Forgets `op` once its store time is over, even if nobody asks for any operation again. */
  private finished(op: Operation): void {
    this.trim();
    if (this.closed || !this.ops.has(op.id)) return;
    op.timer = setTimeout(() => this.ops.get(op.id) === op && this.forget(op), this.opts.storeMs).unref();
  }

  private expire(): void {
    const now = this.opts.clock();
    for (const op of this.ops.values()) {
      if (op.status !== 'IN_PROGRESS' && now - op.finishedAt >= this.opts.storeMs) this.forget(op);
    }
  }

  private trim(): void {
    let finished = 0;
    for (const op of this.ops.values()) if (op.status !== 'IN_PROGRESS') finished++;
    // Map order is insertion order: the first finished ones are the oldest requests.
    for (const op of this.ops.values()) {
      if (finished <= MAX_FINISHED) break;
      if (op.status !== 'IN_PROGRESS') {
        this.forget(op);
        finished--;
      }
    }
  }

  private forget(op: Operation): void {
    this.ops.delete(op.id);
    if (op.timer) clearTimeout(op.timer);
    if (op.location !== null) {
      const file = op.location;
      op.chain = op.chain.then(() => rm(file, { force: true })).catch(() => undefined);
    }
  }
}
