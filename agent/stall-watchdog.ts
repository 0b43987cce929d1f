// Opt-in (NODEFLIGHT_STALL_STACKS=1): a watchdog thread that catches the main thread's
// stack while a stall holds it (stall-watchdog-worker.ts). The main thread's share is a
// timer that bumps a shared counter; the stack comes back as a message once the loop
// runs again, and goes to whoever listens (stalls.ts attaches it to its stall).
//
// Host safety: the worker starts without the preload (execArgv: []), with its own stdio
// kept from the app's, unref'd (after its listeners are added: adding a 'message'
// listener refs the port again); an error in it switches it off, said once.
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { errorText, warnOnce } from './log.js';
import type { WatchdogData, WatchdogStack } from './stall-watchdog-worker.js';

export interface Watchdog {
  stop(): void;
}

/** How often the counter is bumped and checked, for a stall threshold. */
export function checkPeriod(stallMs: number): number {
  return Math.max(5, Math.min(50, Math.floor(stallMs / 2)));
}

export function startWatchdog(stallMs: number, onStack: (s: WatchdogStack) => void): Watchdog | null {
  const beat = new Int32Array(new SharedArrayBuffer(4));
  const checkMs = checkPeriod(stallMs);
  let worker: Worker;
  try {
    const data: WatchdogData = { beat: beat.buffer as SharedArrayBuffer, stallMs, checkMs, mainOrigin: performance.timeOrigin };
    worker = new Worker(new URL('./stall-watchdog-worker.js', import.meta.url), {
      execArgv: [], workerData: data, stdout: true, stderr: true, name: 'nodeflight-stall-watchdog',
    });
  } catch (err) {
    warnOnce('watchdog', `NODEFLIGHT_STALL_STACKS: could not start the watchdog thread, stalls are sent without stacks: ${errorText(err)}`);
    return null;
  }
  const timer = setInterval(() => Atomics.add(beat, 0, 1), checkMs);
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    void worker.terminate();
  };
  worker.on('message', (m: WatchdogStack) => {
    try {
      onStack(m);
    } catch (err) {
      warnOnce('watchdog', `the stall watchdog failed and is now off: ${errorText(err)}`);
      stop();
    }
  });
  worker.on('error', (err) => {
    warnOnce('watchdog', `the stall watchdog failed and is now off: ${errorText(err)}`);
    clearInterval(timer);
  });
  worker.unref();
  return { stop };
}
