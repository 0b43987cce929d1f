// The requests open now, per agent: the latest in-flight snapshot each agent sent
// (protocol/inflight.ts, every flush while anything is open). Rows are copied out
// of the batch as plain values. Bounded: one snapshot of at most INFLIGHT_LIMIT rows per
// agent the registry knows (the registry, gone-agents.ts and the agent cap forget them).
import type { InflightSnapshot } from '../../protocol/messages.js';

export interface OpenRequest {
  /** Wall-clock start, ms since the epoch. */
  start: number;
  method: string;
  path: string;
  route: string;
  /** Age when the snapshot was taken, ms. */
  ageMs: number;
}

export interface AgentInflight {
  agentId: string;
  service: string;
  /** When the agent read its table (its wall clock). */
  time: number;
  /** Requests open then, listed or not. */
  open: number;
  /** The oldest of them, oldest first. */
  requests: OpenRequest[];
}

export class InflightStore {
  private readonly byAgent = new Map<string, AgentInflight>();

  /** Keeps the snapshot unless a newer one is held (a batch resent after a reconnect carries an old one). */
  record(agentId: string, service: string, s: InflightSnapshot): void {
    const held = this.byAgent.get(agentId);
    if (held !== undefined && held.time > s.time) return;
    const e = s.events;
    const requests: OpenRequest[] = [];
    for (let i = 0; i < e.count; i++) {
      requests.push({
        start: e.start[i]!, method: e.strings[e.method[i]!]!, path: e.strings[e.path[i]!]!, route: e.strings[e.route[i]!]!,
        ageMs: e.duration[i]!,
      });
    }
    requests.sort((a, b) => a.start - b.start);
    this.byAgent.set(agentId, { agentId, service, time: s.time, open: s.open, requests });
  }

  get(agentId: string): AgentInflight | undefined {
    return this.byAgent.get(agentId);
  }

  forget(agentId: string): void {
    this.byAgent.delete(agentId);
  }
}
