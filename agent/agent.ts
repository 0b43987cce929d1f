// Wires the parts of a running agent: hooks -> recorder (ring) -> encoder -> transport.
// The flush timer is the agent's only clock: it sweeps aborted requests, encodes what
// the ring holds into batches and hands them to the transport.
import { randomBytes } from 'node:crypto';
import type { Packr } from 'msgpackr';
import { writeRecordingSync } from '../recording/writer.js';
import { createEncoder } from '../protocol/codec.js';
import { MAX_BLOCK_EVENTS } from '../protocol/validate.js';
import { PROTOCOL_VERSION, type AgentIdentity, type CollectorMessage, type Counters, type EventColumns, type LiveSettings } from '../protocol/messages.js';
import type { ResolvedConfig } from './config.js';
import { answerDump, dumpWindow, installDumpSignal, RingCursor } from './dump.js';
import { BlockEncoder } from './encode.js';
import { disable, type HookFamily } from './hooks/guard.js';
import { hookHttpServer } from './hooks/http-server.js';
import { CostMeter } from './cost.js';
import { InflightReporter, safeSnapshot } from './inflight-snapshot.js';
import { createIdentity } from './identity.js';
import { errorText, warnOnce } from './log.js';
import { Recorder } from './recorder.js';
import { startWatchdog } from './stall-watchdog.js';
import { StallLog } from './stalls.js';
import { installStopSignals } from './stop-signals.js';
import { startStreams, type Streams } from './streams.js';
import { Transport } from './transport.js';

export interface Agent {
  readonly identity: AgentIdentity;
  readonly recorder: Recorder;
  readonly transport: Transport | null;
  /** Outbound calls, runtime samples and pauses; null when all are off. */
  readonly streams: Streams | null;
  counters(): Counters;
  /** Encodes and queues what the ring holds, SLICE_EVENTS per turn of the event loop; runs on the flush timer. */
  flush(): void;
  /** Every event still held in the ring (sent or not) that ended within `lastMs` and NODEFLIGHT_MAX_AGE_MS (0: no bound), as blocks. */
  snapshot(lastMs: number): EventColumns[];
  stop(): void;
}

const EMPTY_BLOCK: EventColumns = {
  count: 0, strings: [], start: new Float64Array(0), duration: new Float64Array(0), method: new Uint32Array(0),
  path: new Uint32Array(0), route: new Uint32Array(0), status: new Uint16Array(0), size: new Float64Array(0), flags: new Uint8Array(0),
};

/**
 * Events encoded per turn of the event loop: one full block, under 1 ms of work. Smaller
 * slices cost more than they save, as every batch is its own socket write (~50 µs on
 * loopback): the flush measured 72-94 ns/event with 8,192, 81-119 with 4,096, 123 with 2,048.
 */
const SLICE_EVENTS = MAX_BLOCK_EVENTS;

function sameSettings(a: LiveSettings, b: LiveSettings): boolean {
  return a.pathFilter === b.pathFilter && a.thresholdMs === b.thresholdMs && a.sampleRate === b.sampleRate && a.httpServer === b.httpServer;
}

export function startAgent(config: ResolvedConfig): Agent {
  const identity = createIdentity(config.service);
  // Secret to this process (the agent id is shown by the collector's API): the collector ties the id to it.
  const instance = randomBytes(16).toString('hex');
  const recorder = new Recorder(config.bufferEvents, config.routes, config.live);
  const stalls = config.stallMs > 0 ? new StallLog(recorder.inflight, recorder.ring, config.stallStacks) : null;
  const watchdog = stalls !== null && config.stallStacks ? startWatchdog(config.stallMs, (s) => stalls.onStack(s)) : null;
  const encoder = new BlockEncoder(recorder.ring, recorder.routes, stalls);
  const packr: Packr = createEncoder();
  const cost = new CostMeter();
  const hooks: HookFamily[] = [hookHttpServer(recorder, cost)];
  const streams = startStreams(config, () => { recorder.hookErrors++; }, stalls, cost);
  if (streams !== null) hooks.push(...streams.hooks);
  let lastCounters = '';
  const inflight = new InflightReporter(recorder);

  const hello = (): Uint8Array => packr.pack({
    t: 'hello', protocol: PROTOCOL_VERSION, ...identity, instance,
    settings: recorder.settings, settingsVersion: recorder.settingsVersion, envSettings: config.live,
  });
  const transport = config.collector === undefined ? null
    : new Transport({ base: config.collector, token: config.token, ca: config.ca, pingTimeoutMs: config.pingTimeoutMs }, hello(), (message) => onCollectorMessage(message));

  function counters(): Counters {
    return recorder.counters(transport?.sent ?? 0, transport?.inFlight ?? 0);
  }

  function applySettings(settings: LiveSettings, version: number): void {
    const error = recorder.apply(settings, version);
    if (error) warnOnce(`settings:${version}`, `rejected settings version ${version} from the collector: ${error}`);
    else transport?.setHello(hello());
    transport?.sendNow(packr.pack({ t: 'settings-ack', version, ok: error === null, error }));
  }

  function onCollectorMessage(message: CollectorMessage): void {
    if (message.t === 'welcome') {
      // The version alone could repeat across collectors that kept no data directory.
      if (message.settings !== null && (message.settingsVersion !== recorder.settingsVersion || !sameSettings(message.settings, recorder.settings))) {
        applySettings(message.settings, message.settingsVersion);
      }
    } else if (message.t === 'settings') {
      applySettings(message.settings, message.version);
    } else if (message.t === 'dump') {
      recorder.sweepAborted();
      const open = safeSnapshot(recorder);
      answerDump(message.requestId, {
        cursor: new RingCursor(recorder.ring, encoder, dumpWindow(message.lastMs, config.maxAgeMs)),
        counters,
        send: (m) => transport?.sendNow(packr.pack(m.last && open !== null ? { ...m, inflight: open } : m)),
      });
    }
  }

  // The flush timer's work is cut into slices of at most SLICE_EVENTS, one per turn of
  // the event loop: encoding 15k events at once (60k req/s, 250 ms) held the loop for
  // about 2 ms, which shows in the app's p99.
  let slice: NodeJS.Immediate | null = null;

  /** Sweeps, then sends up to `max` events now and the rest in later slices. */
  function flush(max = SLICE_EVENTS): void {
    recorder.sweepAborted();
    streams?.sweep();
    if (transport !== null) sendSlice(max);
  }

  function sendSlice(max: number): void {
    if (slice !== null) clearImmediate(slice);
    slice = null;
    const t = transport!;
    const { ring } = recorder;
    let budget = max;
    while (ring.unsent > 0 && t.hasRoom && budget > 0) {
      const events = encoder.encode(ring.sendTail, Math.min(ring.unsent, budget), true);
      ring.take(events.count);
      budget -= events.count;
      sendBatch(events);
    }
    if (ring.unsent > 0 && t.hasRoom) {
      slice = setImmediate(nextSlice);
      slice.unref();
      return;
    }
    // Outbound calls, samples and pauses go on when no server event carries them.
    while (streams?.pending && t.hasRoom) sendBatch(EMPTY_BLOCK);
    // Counters travel in batches; when nothing was recorded they still need to reach
    // the collector (filtered requests, drops), so an empty batch carries them.
    if (t.connected && t.idle) {
      const c = counters();
      const key = `${c.recorded} ${c.filtered} ${c.dropped} ${c.sent} ${c.hookErrors}`;
      if (key !== lastCounters) sendBatch(EMPTY_BLOCK);
    }
    if (t.connected && t.hasRoom && inflight.due()) sendBatch(EMPTY_BLOCK);
  }

  const nextSlice = cost.timed('flush', (): void => safely(sendSlice, SLICE_EVENTS));

  /** Queues a batch; it carries the requests open now when they are due, or when `withInflight` says so. */
  function sendBatch(events: EventColumns, withInflight = false): void {
    const t = transport!;
    const seq = t.takeSeq();
    const c = recorder.counters(t.sent, t.inFlight + events.count);
    lastCounters = `${c.recorded} ${c.filtered} ${c.dropped} ${c.sent} ${c.hookErrors}`;
    // Only on a live connection: a snapshot resent after a reconnect would be stale.
    const open = t.connected && (withInflight || inflight.due()) ? inflight.take() : null;
    t.push(seq, events.count, packr.pack({
      t: 'batch', seq, counters: c, events, ...streams?.take(), cost: cost.report(t.bytesSent),
      ...(open === null ? {} : { inflight: open }),
    }));
  }

  function safely(work: (max: number) => void, max: number): void {
    try {
      work(max);
    } catch (err) {
      warnOnce('flush', `could not flush recorded events: ${errorText(err)}`);
    }
  }

  const safeFlush = cost.timed('flush', (): void => safely(flush, SLICE_EVENTS));

  function snapshot(lastMs: number): EventColumns[] {
    const cursor = new RingCursor(recorder.ring, encoder, dumpWindow(lastMs, config.maxAgeMs));
    const blocks: EventColumns[] = [];
    while (!cursor.done) blocks.push(cursor.next());
    return blocks;
  }

  function writeDump(path: string): void {
    recorder.sweepAborted();
    const open = safeSnapshot(recorder);
    writeRecordingSync(path, { source: 'agent', agents: [{ identity, counters: counters(), blocks: snapshot(0), inflight: open ?? undefined }] });
  }

  function dumpOnExit(): void {
    try {
      writeDump(config.dump!);
    } catch (err) {
      warnOnce('dump', `could not write NODEFLIGHT_DUMP ${config.dump}: ${errorText(err)}`);
    }
  }

  /**
   * The process is ending: the collector gets the requests open now and a close frame
   * saying why (it tells a clean end from a crash by it). Both are written at once;
   * the socket takes them before the process is gone.
   */
  function farewell(reason: string): void {
    const t = transport;
    if (t === null || !t.connected) return;
    try {
      if (t.hasRoom) sendBatch(EMPTY_BLOCK, true);
      t.closeAtExit(reason);
    } catch (err) {
      warnOnce('farewell', `could not tell the collector that the process ends: ${errorText(err)}`);
    }
  }

  const farewellAtExit = (code: number): void => farewell(`process exiting (code ${code})`);

  // When the loop empties: one last flush, all of it at once, and a bounded wait for
  // its acknowledgement.
  function flushBeforeExit(): void {
    safely(flush, Infinity);
    transport?.drainBeforeExit();
  }

  const timer = setInterval(safeFlush, config.flushMs);
  timer.unref();
  process.once('beforeExit', flushBeforeExit);
  if (config.dump !== undefined) process.once('exit', dumpOnExit);
  if (transport !== null) process.once('exit', farewellAtExit);
  const removeStopSignals = config.dump === undefined ? null : installStopSignals(dumpOnExit, (signal) => farewell(`killed by ${signal}`));
  const removeDumpSignal = config.dumpSignal === undefined ? null : installDumpSignal(config.dumpSignal, config.dump, writeDump);

  return {
    identity,
    recorder,
    transport,
    streams,
    counters,
    flush: safeFlush,
    snapshot,
    stop() {
      clearInterval(timer);
      if (slice !== null) clearImmediate(slice);
      slice = null;
      process.removeListener('beforeExit', flushBeforeExit);
      process.removeListener('exit', dumpOnExit);
      process.removeListener('exit', farewellAtExit);
      removeStopSignals?.();
      removeDumpSignal?.();
      for (const h of hooks) disable(h);
      streams?.stop();
      watchdog?.stop();
      transport?.close();
    },
  };
}
