// Stall details: what a batch says about each event-loop stall beyond its `stall` pause row.
// Rare (one per stall of at least NODEFLIGHT_STALL_MS), so sent as a short list of maps.
// The collector checks every field before it keeps one.

/** One frame of the main thread's JavaScript stack, as the inspector reported it. */
export interface StallFrame {
  /** Function name; '' for an anonymous function. */
  fn: string;
  /** Script URL or path; '' when the script has none (eval). */
  url: string;
  /** 1-based. */
  line: number;
  col: number;
}

/** A request in flight when the stall was detected. */
export interface StallRequest {
  method: string;
  path: string;
  /** Its age when the stall ended, ms. */
  ageMs: number;
}

export interface StallRecord {
  /** Wall-clock start, ms since the epoch: the same as the stall's pause row. */
  start: number;
  durationMs: number;
  /** The main thread's stack while it was blocked, innermost first; absent without NODEFLIGHT_STALL_STACKS or when none was caught. */
  stack?: StallFrame[];
  /** Requests in flight when the stall was detected (their code could not run during it). */
  inflight: number;
  /** The oldest MAX_STALL_REQUESTS of them. */
  requests: StallRequest[];
  /** Requests that arrived during the stall: they started in the loop turn right after it (flagged `queued`). */
  queued: number;
}

export const MAX_STALLS_PER_BATCH = 64;
export const MAX_STALL_FRAMES = 32;
export const MAX_STALL_REQUESTS = 20;
const MAX_TEXT = 512;

type Obj = Record<string, unknown>;
const isMap = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isMs = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v < 1e12;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_TEXT;

function validateFrame(f: unknown, at: string): string | null {
  if (!isMap(f)) return `${at} must be a map`;
  if (!isText(f.fn) || !isText(f.url)) return `${at}.fn and .url must be strings of at most ${MAX_TEXT} characters`;
  if (!isCount(f.line) || !isCount(f.col)) return `${at}.line and .col must be non-negative integers`;
  return null;
}

function validateRequest(r: unknown, at: string): string | null {
  if (!isMap(r)) return `${at} must be a map`;
  if (typeof r.method !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(r.method)) return `${at}.method must be a method token`;
  if (!isText(r.path)) return `${at}.path must be a string of at most ${MAX_TEXT} characters`;
  return isMs(r.ageMs) ? null : `${at}.ageMs must be a non-negative number of milliseconds`;
}

export function validateStalls(v: unknown): string | null {
  if (!Array.isArray(v) || v.length > MAX_STALLS_PER_BATCH) return `stalls must be a list of at most ${MAX_STALLS_PER_BATCH}`;
  for (let i = 0; i < v.length; i++) {
    const s = v[i] as unknown;
    const at = `stalls[${i}]`;
    if (!isMap(s)) return `${at} must be a map`;
    if (!(typeof s.start === 'number' && s.start > 0 && s.start < 1e14)) return `${at}.start must be a wall-clock time in ms`;
    if (!isMs(s.durationMs)) return `${at}.durationMs must be a non-negative number of milliseconds`;
    if (!isCount(s.inflight) || !isCount(s.queued)) return `${at}.inflight and .queued must be non-negative integers`;
    if (!Array.isArray(s.requests) || s.requests.length > MAX_STALL_REQUESTS) return `${at}.requests must be a list of at most ${MAX_STALL_REQUESTS}`;
    for (let k = 0; k < s.requests.length; k++) {
      const e = validateRequest(s.requests[k], `${at}.requests[${k}]`);
      if (e) return e;
    }
    if (s.stack === undefined) continue;
    if (!Array.isArray(s.stack) || s.stack.length > MAX_STALL_FRAMES) return `${at}.stack must be a list of at most ${MAX_STALL_FRAMES} frames`;
    for (let k = 0; k < s.stack.length; k++) {
      const e = validateFrame(s.stack[k], `${at}.stack[${k}]`);
      if (e) return e;
    }
  }
  return null;
}
