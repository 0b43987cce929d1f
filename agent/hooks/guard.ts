// A diagnostics_channel subscriber that throws does not fail the publisher: Node
// rethrows the error on the next tick as an uncaughtException, which kills the host.
// So every subscriber runs inside this guard: the first failure is counted, said once
// on stderr, and switches off the whole hook family it belongs to.
import type dc from 'dc-polyfill';
import { errorText, warnOnce } from '../log.js';

export interface HookFamily {
  name: string;
  subscriptions: Array<[dc.Channel, (message: unknown, name: string | symbol) => void]>;
  active: boolean;
}

export function createFamily(name: string): HookFamily {
  return { name, subscriptions: [], active: false };
}

/** Wraps `body` so that it can never throw into the application. */
export function guarded<M>(family: HookFamily, onError: () => void, body: (message: M) => void): (message: unknown) => void {
  return function nodeflightSubscriber(message: unknown): void {
    try {
      body(message as M);
    } catch (err) {
      onError();
      disable(family);
      warnOnce(`hook:${family.name}`, `the ${family.name} hook failed and is now off: ${errorText(err)}`);
    }
  };
}

export function enable(family: HookFamily): void {
  if (family.active) return;
  for (const [channel, fn] of family.subscriptions) channel.subscribe(fn);
  family.active = true;
}

export function disable(family: HookFamily): void {
  if (!family.active) return;
  family.active = false;
  for (const [channel, fn] of family.subscriptions) {
    try {
      channel.unsubscribe(fn);
    } catch {
      // Unsubscribing inside a publish is allowed; a failure here leaves nothing to undo.
    }
  }
}
