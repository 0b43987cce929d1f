// `node --import nodeflight/agent app.js` (and, through require.cjs, --require).
// Loading the agent must never change the application: any failure here is one line
// on stderr and the agent stays off. It runs once per process (a second preload is a
// no-op) and only on the main thread: workers inherit the preload flags, not the need
// for a second agent. No top-level await, so that CommonJS can require() this module
// synchronously on the Node lines that allow it.
import { isMainThread } from 'node:worker_threads';
import { startAgent, type Agent } from './agent.js';
import { readConfig } from './config.js';
import { errorText, warnOnce } from './log.js';

const key = Symbol.for('nodeflight.agent');
const registry = globalThis as unknown as Record<symbol, Agent | 'off' | undefined>;

if (isMainThread && registry[key] === undefined) {
  registry[key] = 'off';
  try {
    const config = readConfig();
    if (!config.disabled) registry[key] = startAgent(config);
  } catch (err) {
    warnOnce('start', `the agent could not start and is off; the application is unaffected: ${errorText(err)}`);
  }
}

/** The running agent of this process, if any (for tests, benchmarks and embedding). */
export function currentAgent(): Agent | undefined {
  const a = registry[key];
  return typeof a === 'object' ? a : undefined;
}
