// Runtime events, as JFR's periodic and pause events: a sample every period, and pauses
// (garbage collections, event-loop stalls) with their start and duration, all on the
// performance.now() clock that request events use, so that they line up.
//
// One unref'd 20 ms interval timer measures its own lateness at every tick:
//   - a lateness of at least NODEFLIGHT_STALL_MS is a stall, from the time the timer
//     should have fired, as long as the lateness. The loop was busy for at least that
//     long (it would have run the timer otherwise): a lower bound, short by < 20 ms;
//   - the latenesses of a period give its event-loop delay p50 / p99 / max. This is what
//     perf_hooks.monitorEventLoopDelay measures with a 10 ms native timer; one timer for
//     both takes 50 wake-ups a second instead of 150, which in an idle process is most of
//     the cost (bench/micro-outbound.ts), and leaves no histogram whose reset could drop
//     the late tick that was being measured (Node's reset forgets the previous tick).
// Every NODEFLIGHT_RUNTIME_PERIOD_MS, on that timer, a sample: the loop delay, event-loop
// utilisation (delta of performance.eventLoopUtilization), heap used / total and RSS
// (memoryUsage), process CPU user / system (delta of cpuUsage). GC pauses come from a
// PerformanceObserver on `gc` entries, with their kind.
//
// The timer and the observer are guarded as hook families: a failure counts, is said
// once, and switches that one off. The timer is unref'd and the observer holds no
// handle, so nothing keeps the process up.
import { performance, PerformanceObserver, constants, type EventLoopUtilization, type PerformanceEntry } from 'node:perf_hooks';
import { PauseKind } from '../protocol/streams.js';
import { createFamily, disable, enable, guarded, type HookFamily } from './hooks/guard.js';
import { SeriesRing } from './series-ring.js';

/** How often the loop timer asks to run. */
export const LOOP_TICK_MS = 20;
/** Latenesses kept per sample period for its percentiles (82 s of ticks); the maximum covers the whole period. */
const LATE_CAPACITY = 4096;
/** Fields of a sample row, in order (see RuntimeColumns). */
export const SAMPLE_FIELDS = ['time', 'intervalMs', 'loopDelayP50', 'loopDelayP99', 'loopDelayMax', 'elu', 'heapUsed', 'heapTotal', 'rss', 'cpuUser', 'cpuSystem'] as const;
/** Fields of a pause row: start, duration (ms, monotonic clock) and the index of its kind in PAUSE_KINDS. */
export const PAUSE_WIDTH = 3;
export const PAUSE_KINDS: readonly string[] = [PauseKind.gcMinor, PauseKind.gcMajor, PauseKind.gcIncremental, PauseKind.gcWeakCallbacks, PauseKind.stall, 'gc'];
const STALL = 4;
const GC_OTHER = 5;

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
  /** Told of each stall as it is detected: start (performance.now() clock) and duration, ms. */
  onStall?(start: number, durationMs: number): void;
  /** Wraps each timer and observer body, to time the agent's own work (cost.ts). */
  timed?<M>(body: (m: M) => void): (m: M) => void;
}

export class RuntimeRecorder {
  readonly samples = new SeriesRing(256, SAMPLE_FIELDS.length);
  readonly pauses = new SeriesRing(4096, PAUSE_WIDTH);
  readonly families: HookFamily[] = [];

  private readonly stops: Array<() => void> = [];
  // The loop timer's state: when it last ran, and its lateness at each tick of the
  // sample period (the newest LATE_CAPACITY of them; the maximum over all).
  private lastTick = 0;
  private readonly late = new Float64Array(LATE_CAPACITY);
  private lateCount = 0;
  private lateMax = 0;
  // The sampler's previous reading of each cumulative source.
  private lastSample = 0;
  private lastElu: EventLoopUtilization | null = null;
  private lastCpu: NodeJS.CpuUsage | null = null;

  constructor(private readonly options: RuntimeOptions) {
    if (options.periodMs > 0 || options.stallMs > 0) this.startLoopTimer();
    if (options.gc) this.startGc();
  }

  /** A family whose failure runs `teardown` (and is counted); enabled at once. */
  private family(name: string, teardown: () => void): <M>(body: (m: M) => void) => (m: unknown) => void {
    const family = createFamily(name);
    enable(family);
    this.families.push(family);
    this.stops.push(teardown);
    const onError = (): void => {
      this.options.onError();
      teardown();
    };
    const timed = this.options.timed;
    return (body) => guarded(family, onError, timed === undefined ? body : timed(body));
  }

  private startLoopTimer(): void {
    const { periodMs, stallMs } = this.options;
    let timer: NodeJS.Timeout | undefined;
    const guard = this.family('runtime', () => clearInterval(timer));
    // Taken in the check phase, after every timer due in this turn has run (and measured
    // its lateness), so a sample sees the delay of the turn that ended its period.
    const sample = guard(() => this.sample());
    this.lastTick = this.lastSample = performance.now();
    this.lastElu = performance.eventLoopUtilization();
    this.lastCpu = process.cpuUsage();
    timer = setInterval(guard(() => {
      const now = performance.now();
      const expected = this.lastTick + LOOP_TICK_MS;
      const late = now > expected ? now - expected : 0;
      this.lastTick = now;
      if (stallMs > 0 && late >= stallMs) {
        this.pause(expected, late, STALL);
        this.options.onStall?.(expected, late);
      }
      if (periodMs === 0) return;
      this.late[this.lateCount++ % LATE_CAPACITY] = late;
      if (late > this.lateMax) this.lateMax = late;
      if (now - this.lastSample >= periodMs - LOOP_TICK_MS / 2) setImmediate(sample).unref();
    }), LOOP_TICK_MS);
    timer.unref();
  }

  /** Takes one sample now, of the time since the last; runs after the loop timer's tick that ends a period. */
  sample(): void {
    const now = performance.now();
    const elu = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const n = Math.min(this.lateCount, LATE_CAPACITY);
    const late = this.late.subarray(0, n).sort();
    const { data } = this.samples;
    const o = this.samples.push();
    data[o] = now;
    data[o + 1] = now - this.lastSample;
    data[o + 2] = n === 0 ? 0 : late[Math.ceil(0.5 * n) - 1]!;
    data[o + 3] = n === 0 ? 0 : late[Math.ceil(0.99 * n) - 1]!;
    data[o + 4] = this.lateMax;
    data[o + 5] = Math.min(1, Math.max(0, performance.eventLoopUtilization(elu, this.lastElu!).utilization || 0));
    data[o + 6] = mem.heapUsed;
    data[o + 7] = mem.heapTotal;
    data[o + 8] = mem.rss;
    data[o + 9] = Math.max(0, cpu.user - this.lastCpu!.user);
    data[o + 10] = Math.max(0, cpu.system - this.lastCpu!.system);
    this.lateCount = 0;
    this.lateMax = 0;
    this.lastSample = now;
    this.lastElu = elu;
    this.lastCpu = cpu;
  }

  private startGc(): void {
    let observer: PerformanceObserver | undefined;
    const guard = this.family('gc', () => observer?.disconnect());
    observer = new PerformanceObserver(guard<{ getEntries(): PerformanceEntry[] }>((list) => {
      for (const entry of list.getEntries()) {
        const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
        this.pause(entry.startTime, entry.duration, gcKind(detail?.kind));
      }
    }));
    observer.observe({ entryTypes: ['gc'] });
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
