// The watchdog thread (started by stall-watchdog.ts). It watches a counter the main thread
// bumps from a timer; when the counter stands still for NODEFLIGHT_STALL_MS, the main
// thread is blocked, and the inspector is asked to pause it and report its stack, then
// to resume. The debugger is enabled only for that moment: an enabled debugger is told
// of every script the application compiles, which costs the main thread all the time.
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { StallFrame } from '../protocol/stalls.js';
import { MAX_STALL_FRAMES } from '../protocol/stalls.js';

export interface WatchdogData {
  beat: SharedArrayBuffer;
  stallMs: number;
  checkMs: number;
  /** The main thread's performance.timeOrigin: stacks are timed on its clock. */
  mainOrigin: number;
}

export interface WatchdogStack {
  /** When the stack was caught, on the main thread's performance.now() clock. */
  at: number;
  frames: StallFrame[];
}

interface CallFrame { functionName: string; location: { scriptId: string; lineNumber: number; columnNumber: number } }

const MAX_SCRIPTS = 10_000;
const MAX_TEXT = 512;
const data = workerData as WatchdogData;
const beat = new Int32Array(data.beat);
const session = new Session();
session.connectToMainThread();

const urls = new Map<string, string>();
let last = Atomics.load(beat, 0);
let changedAt = performance.now();
/** A pause asked for and not yet answered; only that pause is ours to resume. */
let pausing = false;
/** One stack per stall: nothing more until the counter moves again. */
let caught = false;

const mainNow = (): number => performance.timeOrigin + performance.now() - data.mainOrigin;

session.on('Debugger.scriptParsed', (m: { params: { scriptId: string; url: string } }) => {
  if (urls.size >= MAX_SCRIPTS) urls.clear();
  urls.set(m.params.scriptId, m.params.url);
});

session.on('Debugger.paused', (m: { params: { callFrames: CallFrame[] } }) => {
  if (!pausing) return;
  pausing = false;
  // Caught after the block had ended (the counter moved): the stack is of other code.
  const stillBlocked = Atomics.load(beat, 0) === last;
  const frames = m.params.callFrames.slice(0, MAX_STALL_FRAMES).map((f): StallFrame => ({
    fn: f.functionName.slice(0, MAX_TEXT),
    url: (urls.get(f.location.scriptId) ?? '').slice(0, MAX_TEXT),
    line: f.location.lineNumber + 1,
    col: f.location.columnNumber + 1,
  }));
  const at = mainNow();
  session.post('Debugger.resume', () => session.post('Debugger.disable'));
  if (stillBlocked) parentPort!.postMessage({ at, frames } satisfies WatchdogStack);
});

function check(): void {
  const b = Atomics.load(beat, 0);
  const now = performance.now();
  if (b !== last) {
    last = b;
    changedAt = now;
    caught = false;
    return;
  }
  if (caught || pausing || now - changedAt < data.stallMs) return;
  caught = pausing = true;
  // Both at once: the main thread takes them in one interrupt, without a round trip between.
  session.post('Debugger.enable', (err) => {
    if (err) pausing = false;
  });
  session.post('Debugger.pause');
}

setInterval(check, data.checkMs);
