// With NODEFLIGHT_DUMP set, SIGTERM and SIGINT (how orchestrators and Ctrl-C stop a
// process) write the dump too, and the process still ends as it would have:
//   - the app has no listener of its own: ours is removed and the signal raised again,
//     so the process dies by it (the parent sees SIGTERM/SIGINT, not an exit code);
//   - the app has one: it decides (graceful shutdown, exit, or carry on); if the process
//     then exits, the exit dump replaces this one with the final state.
// A listener changes Node's default (the signal no longer kills), hence the re-raise.
// The decision is made when the signal arrives, so a listener the app adds later counts.
import { errorText, warnOnce } from './log.js';

export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Installs the listeners; `write` writes the dump, `beforeDeath` runs when the signal is
 * about to end the process. Returns the uninstaller.
 */
export function installStopSignals(write: () => void, beforeDeath: (signal: StopSignal) => void): () => void {
  const listeners = new Map<StopSignal, () => void>();
  for (const signal of STOP_SIGNALS) {
    const onSignal = (): void => {
      write();
      if (process.listenerCount(signal) > 1) return;
      try {
        beforeDeath(signal);
      } catch (err) {
        warnOnce('stop-signal', `could not say goodbye to the collector: ${errorText(err)}`);
      }
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    try {
      process.on(signal, onSignal);
      listeners.set(signal, onSignal);
    } catch (err) {
      const why = `cannot write NODEFLIGHT_DUMP on ${signal} on this platform: ${errorText(err)}`;
      warnOnce(`stop-signal:${signal}`, why);
    }
  }
  return () => {
    for (const [signal, l] of listeners) process.removeListener(signal, l);
  };
}
