// Waits on the collector's view of its agents.
import { waitFor } from './service-process.js';
import { getJson } from './http.js';

export interface AgentView {
  id: string;
  service: string;
  pid: number;
  connected: boolean;
  settings: Record<string, unknown>;
  counters: { recorded: number; filtered: number; dropped: number; sent: number; buffered: number; hookErrors: number };
  received: number;
}

/** Resolves with the agent of `pid` once `done(agent)` holds, polling /v1/agents. */
export async function waitForAgent(collectorUrl: string, pid: number, done: (a: AgentView) => boolean, timeoutMs = 10_000): Promise<AgentView> {
  let last: AgentView | undefined;
  return waitFor(async () => {
    const { body } = await getJson<{ agents: AgentView[] }>(`${collectorUrl}/v1/agents`);
    last = body.agents.find((a) => a.pid === pid);
    return last && done(last) ? last : undefined;
  }, timeoutMs, () => `agent ${pid} did not reach the expected state; last seen: ${JSON.stringify(last)}`);
}

/** Every event the agent recorded has reached the collector. */
export const drained = (n: number) => (a: AgentView): boolean =>
  a.counters.recorded >= n && a.counters.buffered === 0 && a.received === a.counters.sent && a.counters.sent + a.counters.dropped === a.counters.recorded;
