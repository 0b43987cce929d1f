// The cost of the agent's streams (bench/micro-outbound.ts runs each case in a fresh
// process):
//   - outbound calls: one call published on the real channels, start then end, as
//     undici (`undici:request:create` + `undici:request:headers`, which the global fetch
//     publishes too) and as node:http (`http.client.request.start` +
//     `http.client.response.finish`), against the same publishes to a subscriber that
//     does nothing. Every call uses a fresh request object, as real calls do, so the
//     cost of tagging it (a symbol property: a hidden-class transition) is counted; the
//     correlation cases time that tagging alone against a WeakMap from request to slot.
//   - runtime: the CPU the sampler, the GC observer and the stall detector take in an
//     otherwise idle process, per second of wall time; and a sample() call.
// Every agent case checks that the calls were recorded: a hook that is not wired fails.
import dc from 'node:diagnostics_channel';
import { disable } from '../../agent/hooks/guard.js';
import { startWatchdog } from '../../agent/stall-watchdog.js';
import { startStreams, type Streams } from '../../agent/streams.js';
import { readConfig } from '../../agent/config.js';
import { floorCase, runCase, summarizeRounds, timeRounds, type CaseOptions, type Result } from './timing.js';

const undiciCreate = dc.channel('undici:request:create');
const undiciHeaders = dc.channel('undici:request:headers');
const httpStart = dc.channel('http.client.request.start');
const httpFinish = dc.channel('http.client.response.finish');

/** What undici's Request carries that the recorder reads (and a few fields it does not). */
class FakeUndiciRequest {
  completed = false;
  aborted = false;
  headersTimeout = 300_000;
  body = null;
  constructor(readonly origin: string, readonly method: string, readonly path: string) {}
}

/** What an http.ClientRequest carries that the recorder reads. */
class FakeClientRequest {
  destroyed = false;
  readonly protocol = 'http:';
  constructor(readonly host: string, private readonly hostHeader: string, readonly method: string, readonly path: string) {}
  getHeader(name: string): unknown {
    return name === 'host' ? this.hostHeader : undefined;
  }
}

const CONCURRENT = 16;
const OPS = 160_000;
const response = { statusCode: 200, statusText: 'OK', headers: [] };
const origins = ['http://inventory.internal:8080', 'https://payments.example.com', 'http://127.0.0.1:9200'];
const pathOf = (i: number): string => (i % 4 === 3 ? `/v1/items/${i & 1023}?expand=stock` : `/v1/search?q=${i & 255}`);

/** Publishes `ops` undici calls, CONCURRENT in flight, each with a fresh Request. */
function undiciPublisher(): (ops: number) => void {
  const open: FakeUndiciRequest[] = new Array<FakeUndiciRequest>(CONCURRENT);
  let n = 0;
  return (ops) => {
    for (let done = 0; done < ops; done += CONCURRENT) {
      for (let j = 0; j < CONCURRENT; j++, n++) {
        const req = (open[j] = new FakeUndiciRequest(origins[n % 3]!, n % 8 === 0 ? 'POST' : 'GET', pathOf(n)));
        undiciCreate.publish({ request: req });
      }
      for (let j = 0; j < CONCURRENT; j++) undiciHeaders.publish({ request: open[j], response });
    }
  };
}

function httpPublisher(): (ops: number) => void {
  const open: FakeClientRequest[] = new Array<FakeClientRequest>(CONCURRENT);
  const res = { statusCode: 200 };
  let n = 0;
  return (ops) => {
    for (let done = 0; done < ops; done += CONCURRENT) {
      for (let j = 0; j < CONCURRENT; j++, n++) {
        const req = (open[j] = new FakeClientRequest('inventory.internal', 'inventory.internal:8080', 'GET', pathOf(n)));
        httpStart.publish({ request: req });
      }
      for (let j = 0; j < CONCURRENT; j++) httpFinish.publish({ request: open[j], response: res });
    }
  };
}

const opsOf = (o: CaseOptions): number => Math.max(CONCURRENT, Math.round((OPS * o.scale) / CONCURRENT) * CONCURRENT);

/**
 * Streams with outbound calls only (a ring of 262,144: a quarter of the buffer asked
 * for), emptied between rounds, outside the timing, as the flush timer would.
 */
async function outboundCase(name: string, o: CaseOptions, publish: (ops: number) => void): Promise<Result> {
  const streams: Streams = startStreams(readConfig({ NODEFLIGHT_BUFFER_EVENTS: String(1 << 20), NODEFLIGHT_RUNTIME_PERIOD_MS: '0', NODEFLIGHT_GC: '0', NODEFLIGHT_STALL_MS: '0' }), () => {})!;
  try {
    const ops = opsOf(o);
    let taken = 0;
    const drain = (): void => {
      while (streams.pending) taken += streams.take().outbound?.count ?? 0;
    };
    const rounds = await timeRounds((n) => {
      publish(n);
      // Runs in the turn timeRounds yields between rounds.
      setImmediate(drain);
    }, ops, o);
    drain();
    const c = streams.counters().outbound;
    if (c.recorded !== ops * (o.warmup + o.rounds) || c.dropped !== 0 || taken === 0) {
      throw new Error(`${name}: the agent recorded ${c.recorded} of ${ops * (o.warmup + o.rounds)} calls (dropped ${c.dropped}): it is not wired to the channels`);
    }
    return summarizeRounds(name, 'call', rounds, ops, { recorded: c.recorded });
  } finally {
    streams.stop();
    for (const f of streams.hooks) disable(f);
  }
}


const kSlot = Symbol('slot');
type Tagged = { [kSlot]?: number };

/**
 * Correlating a call's start and end alone: the symbol property the recorder uses
 * (`symbol`), or a WeakMap from request to slot (`weakmap`), the floor's publishes included.
 */
async function correlationCase(o: CaseOptions, weak: boolean): Promise<Result> {
  const slots = new WeakMap<object, number>();
  let sum = 0;
  const onStart = weak
    ? (m: unknown): void => { slots.set((m as { request: object }).request, sum & 1023); }
    : (m: unknown): void => { (m as { request: Tagged }).request[kSlot] = sum & 1023; };
  const onEnd = weak
    ? (m: unknown): void => {
      const req = (m as { request: object }).request;
      sum += slots.get(req) ?? 0;
      slots.delete(req);
    }
    : (m: unknown): void => { sum += (m as { request: Tagged }).request[kSlot] ?? 0; };
  undiciCreate.subscribe(onStart);
  undiciHeaders.subscribe(onEnd);
  try {
    const ops = opsOf(o);
    const rounds = await timeRounds(undiciPublisher(), ops, o);
    return summarizeRounds(`outbound-${weak ? 'weakmap' : 'symbol'}-correlation`, 'call', rounds, ops, { sum });
  } finally {
    undiciCreate.unsubscribe(onStart);
    undiciHeaders.unsubscribe(onEnd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * CPU per second of an idle process (the event loop kept alive by a timer that does
 * nothing every second), with the given streams settings; `rounds` windows of 2 s
 * (scaled), after one warm-up window. Reported in ns of CPU per second of wall time.
 */
/** CPU per second of an idle process (all its threads); `watchdog`: with the stall watchdog thread too, and its RSS. */
async function idleCpuCase(name: string, o: CaseOptions, env: Record<string, string>, watchdog = false): Promise<Result> {
  const streams = Object.keys(env).length === 0 ? null : startStreams(readConfig({ NODEFLIGHT_HTTP_CLIENT: '0', ...env }), () => {});
  const rss0 = process.memoryUsage.rss();
  const dog = watchdog ? startWatchdog(Number(env.NODEFLIGHT_STALL_MS), () => {}) : null;
  const keep = setInterval(() => {}, 1000);
  const windowMs = Math.max(200, 2000 * o.scale);
  try {
    await sleep(windowMs);
    const perSecond: number[] = [];
    for (let r = 0; r < Math.max(3, Math.min(o.rounds, 10)); r++) {
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      await sleep(windowMs);
      const used = process.cpuUsage(cpu);
      perSecond.push(((used.user + used.system) * 1000) / ((performance.now() - t0) / 1000));
    }
    const rssMB = dog === null ? undefined : Math.round((process.memoryUsage.rss() - rss0) / 1e5) / 10;
    return summarizeRounds(name, 'second', perSecond, 1, { windowMs, samples: streams?.counters().runtime.recorded ?? 0, rssMB });
  } finally {
    dog?.stop();
    clearInterval(keep);
    streams?.stop();
  }
}

/**
 * An allocation-heavy workload (young-generation garbage collections in every round),
 * with and without the GC observer: the difference over the GC entries counted is the
 * observer's cost per collection. ns per round of 200,000 short-lived objects.
 */
async function allocCase(name: string, o: CaseOptions, observe: boolean): Promise<Result> {
  const streams = observe ? startStreams(readConfig({ NODEFLIGHT_HTTP_CLIENT: '0', NODEFLIGHT_RUNTIME_PERIOD_MS: '0', NODEFLIGHT_GC: '1', NODEFLIGHT_STALL_MS: '0' }), () => {}) : null;
  let sink = 0;
  try {
    const ops = Math.max(10_000, Math.round(200_000 * o.scale));
    const rounds = await timeRounds((n) => {
      let keep: Array<{ i: number; a: number[] }> = [];
      for (let i = 0; i < n; i++) {
        keep.push({ i, a: [i] });
        if (keep.length === 1000) keep = [];
      }
      sink += keep.length;
    }, ops, o);
    // GC entries are delivered asynchronously; let the last ones arrive.
    await sleep(50);
    const gcs = streams?.counters().pauses.recorded ?? 0;
    return summarizeRounds(name, 'object', rounds, ops, { sink, gcEntries: gcs, gcPerRound: gcs / (o.warmup + o.rounds) });
  } finally {
    streams?.stop();
  }
}

const cases = {
  'outbound-undici-floor': (o: CaseOptions) => floorCase('outbound-undici-floor', 'call', o, opsOf(o), undiciCreate, undiciHeaders, undiciPublisher()),
  'outbound-undici': (o: CaseOptions) => outboundCase('outbound-undici', o, undiciPublisher()),
  'outbound-http-floor': (o: CaseOptions) => floorCase('outbound-http-floor', 'call', o, opsOf(o), httpStart, httpFinish, httpPublisher()),
  'outbound-http': (o: CaseOptions) => outboundCase('outbound-http', o, httpPublisher()),
  'outbound-symbol-correlation': (o: CaseOptions) => correlationCase(o, false),
  'outbound-weakmap-correlation': (o: CaseOptions) => correlationCase(o, true),
  'runtime-idle-off': (o: CaseOptions) => idleCpuCase('runtime-idle-off', o, {}),
  'runtime-idle-default': (o: CaseOptions) => idleCpuCase('runtime-idle-default', o, { NODEFLIGHT_RUNTIME_PERIOD_MS: '1000', NODEFLIGHT_GC: '1', NODEFLIGHT_STALL_MS: '50' }),
  'runtime-idle-sampler': (o: CaseOptions) => idleCpuCase('runtime-idle-sampler', o, { NODEFLIGHT_RUNTIME_PERIOD_MS: '1000', NODEFLIGHT_GC: '0', NODEFLIGHT_STALL_MS: '0' }),
  'runtime-idle-stall': (o: CaseOptions) => idleCpuCase('runtime-idle-stall', o, { NODEFLIGHT_RUNTIME_PERIOD_MS: '0', NODEFLIGHT_GC: '0', NODEFLIGHT_STALL_MS: '50' }),
  'runtime-idle-watchdog': (o: CaseOptions) => idleCpuCase('runtime-idle-watchdog', o, { NODEFLIGHT_RUNTIME_PERIOD_MS: '0', NODEFLIGHT_GC: '0', NODEFLIGHT_STALL_MS: '50' }, true),
  'gc-alloc-off': (o: CaseOptions) => allocCase('gc-alloc-off', o, false),
  'gc-alloc-on': (o: CaseOptions) => allocCase('gc-alloc-on', o, true),
  /** One sample: loop-delay percentiles, ELU, cpuUsage and memoryUsage. */
  async 'runtime-sample'(o: CaseOptions): Promise<Result> {
    const streams = startStreams(readConfig({ NODEFLIGHT_HTTP_CLIENT: '0', NODEFLIGHT_RUNTIME_PERIOD_MS: '3600000', NODEFLIGHT_GC: '0', NODEFLIGHT_STALL_MS: '0' }), () => {})!;
    try {
      const ops = Math.max(10, Math.round(2000 * o.scale));
      const rounds = await timeRounds((n) => {
        for (let i = 0; i < n; i++) streams.runtime!.sample();
        streams.take();
      }, ops, o);
      return summarizeRounds('runtime-sample', 'sample', rounds, ops);
    } finally {
      streams.stop();
    }
  },
};

await runCase(cases);
