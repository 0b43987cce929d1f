// Runtime events, as JFR's periodic and pause events: a sample every period, and pauses
// (garbage collections, event-loop stalls) with their start and duration, all on the
// performance.now() clock that request events use, so that they line up.
//
//   sample, every NODEFLIGHT_RUNTIME_PERIOD_MS: event-loop delay p50 / p99 / max
//     (monitorEventLoopDelay, reset each period, its 10 ms timer subtracted), event-loop
//     utilisation (delta of performance.eventLoopUtilization), heap used / total and RSS
//     (memoryUsage), process CPU user / system (delta of cpuUsage);
//   gc pause: one per `gc` performance entry, with its kind;
//   stall: an unref'd 20 ms interval measures its own lateness; a lateness of at least
//     NODEFLIGHT_STALL_MS is a stall from the time it should have fired, as long as the
//     lateness. The loop was busy for at least that long (it would have run the timer
//     otherwise), so the stall is a lower bound, short of the truth by under 20 ms.
//
// Each of the three is guarded as a hook family: a failure counts, is said once, and
// switches that one off. Timers are unref'd; the event-loop delay timer is libuv's own
// (unref'd by Node) and the observer holds no handle, so nothing keeps the process up.
import { monitorEventLoopDelay, performance, PerformanceObserver, constants, type EventLoopUtilization, type IntervalHistogram, type PerformanceEntry } from 'node:perf_hooks';
import { PauseKind } from '../protocol/streams.js';
import { createFamily, disable, enable, guarded, type HookFamily } from './hooks/guard.js';
import { SeriesRing } from './series-ring.js';

/** How often the stall detector's timer asks to run. */
export const STALL_TICK_MS = 20;
/** Fields of a sample row, in order (see RuntimeColumns). */
export const SAMPLE_FIELDS = ['time', 'intervalMs', 'loopDelayP50', 'loopDelayP99', 'loopDelayMax', 'elu', 'heapUsed', 'heapTotal', 'rss', 'cpuUser', 'cpuSystem'] as const;
/** Fields of a pause row: start, duration (ms, monotonic clock) and the index of its kind in PAUSE_KINDS. */
export const PAUSE_WIDTH = 3;
export const PAUSE_KINDS: readonly string[] = [PauseKind.gcMinor, PauseKind.gcMajor, PauseKind.gcIncremental, PauseKind.gcWeakCallbacks, PauseKind.stall, 'gc'];
const STALL = 4;
const GC_OTHER = 5;

/** The resolution of monitorEventLoopDelay's timer, ms. */
const DELAY_RESOLUTION_MS = 10;

// Node's histogram (ns) records each interval of its timer, the resolution included: an
// idle loop reads ~10 ms. The delay is the lateness beyond it, so an idle loop reads ~0.
function lateness(ns: number): number {
  return Math.max(0, ns / 1e6 - DELAY_RESOLUTION_MS);
}

/** A gc entry's kind (perf_hooks constants) as an index in PAUSE_KINDS. */
function gcKind(kind: number | undefined): number {
  switch (kind) {
    case constants.NODE_PERFORMANCE_GC_MINOR: return 0;
    case constants.NODE_PERFORMANCE_GC_MAJOR: return 1;
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL: return 2;
    case constants.NODE_PERFORMANCE_GC_WEAKCB: return 3;
    default: return GC_OTHER;
  }
}

export interface RuntimeOptions {
  /** 0: no samples. */
  periodMs: number;
  gc: boolean;
  /** 0: no stall detection. */
  stallMs: number;
  /** Counts a hook failure (the agent's hookErrors). */
  onError(): void;
}

export class RuntimeRecorder {
  readonly samples = new SeriesRing(256, SAMPLE_FIELDS.length);
  readonly pauses = new SeriesRing(4096, PAUSE_WIDTH);
  readonly families: HookFamily[] = [];

  private readonly stops: Array<() => void> = [];
  // Sampler state: the previous reading of each cumulative source.
  private delay: IntervalHistogram | null = null;
  private lastTime = 0;
  private lastElu: EventLoopUtilization | null = null;
  private lastCpu: NodeJS.CpuUsage | null = null;
  // Stall detector state: when its timer last ran.
  private lastTick = 0;

  constructor(private readonly options: RuntimeOptions) {
    if (options.periodMs > 0) this.startSampler(options.periodMs);
    if (options.gc) this.startGc();
    if (options.stallMs > 0) this.startStallDetector(options.stallMs);
  }

  /** A family whose failure runs `teardown` (and is counted); enabled at once. */
  private family(name: string, teardown: () => void): { family: HookFamily; guard: <M>(body: (m: M) => void) => (m: unknown) => void } {
    const family = createFamily(name);
    enable(family);
    this.families.push(family);
    this.stops.push(teardown);
    const onError = (): void => {
      this.options.onError();
      teardown();
    };
    return { family, guard: (body) => guarded(family, onError, body) };
  }

  private startSampler(periodMs: number): void {
    let timer: NodeJS.Timeout | undefined;
    const { guard } = this.family('runtime-sampler', () => {
      clearInterval(timer);
      this.delay?.disable();
    });
    this.delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
    this.delay.enable();
    this.lastTime = performance.now();
    this.lastElu = performance.eventLoopUtilization();
    this.lastCpu = process.cpuUsage();
    // The sample is taken in the check phase, after every due timer of this turn has run:
    // resetting the histogram forgets its timer's previous tick (Node sets it to 0), so a
    // reset before a late tick was recorded would lose the very delay that made it late.
    const sample = guard(() => this.sample());
    timer = setInterval(() => setImmediate(sample).unref(), periodMs);
    timer.unref();
  }

  /** Takes one sample now; runs on the sampler's timer. */
  sample(): void {
    const delay = this.delay!;
    const now = performance.now();
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const { data } = this.samples;
    const o = this.samples.push();
    data[o] = now;
    data[o + 1] = now - this.lastTime;
    data[o + 2] = lateness(delay.count > 0 ? delay.percentile(50) : 0);
    data[o + 3] = lateness(delay.count > 0 ? delay.percentile(99) : 0);
    data[o + 4] = lateness(delay.count > 0 ? delay.max : 0);
    data[o + 5] = Math.min(1, Math.max(0, performance.eventLoopUtilization(elu, this.lastElu!).utilization || 0));
    data[o + 6] = mem.heapUsed;
    data[o + 7] = mem.heapTotal;
    data[o + 8] = mem.rss;
    data[o + 9] = Math.max(0, cpu.user - this.lastCpu!.user);
    data[o + 10] = Math.max(0, cpu.system - this.lastCpu!.system);
    delay.reset();
    this.lastTime = now;
    this.lastElu = elu;
    this.lastCpu = cpu;
  }

  private startGc(): void {
    let observer: PerformanceObserver | undefined;
    const { guard } = this.family('gc', () => observer?.disconnect());
    observer = new PerformanceObserver(guard<{ getEntries(): PerformanceEntry[] }>((list) => {
      for (const entry of list.getEntries()) {
        const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
        this.pause(entry.startTime, entry.duration, gcKind(detail?.kind));
      }
    }));
    observer.observe({ entryTypes: ['gc'] });
  }

  private startStallDetector(stallMs: number): void {
    let timer: NodeJS.Timeout | undefined;
    this.lastTick = performance.now();
    const { guard } = this.family('stall-detector', () => clearInterval(timer));
    timer = setInterval(guard(() => {
      const now = performance.now();
      const expected = this.lastTick + STALL_TICK_MS;
      const late = now - expected;
      if (late >= stallMs) this.pause(expected, late, STALL);
      this.lastTick = now;
    }), STALL_TICK_MS);
    timer.unref();
  }

  private pause(start: number, duration: number, kind: number): void {
    const { data } = this.pauses;
    const o = this.pauses.push();
    data[o] = start;
    data[o + 1] = duration;
    data[o + 2] = kind;
  }

  stop(): void {
    for (const f of this.families) disable(f);
    for (const s of this.stops) s();
  }
}
