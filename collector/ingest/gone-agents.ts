// Agents whose connection ended: when and how, so that their last minutes (runtime
// samples, pauses, in-flight requests) stay readable after the process is gone.
//
// How it ended, as the collector saw it:
//   closed    the agent sent a close frame (its process exited: "process exiting (code
//             1)", "killed by SIGTERM"); `code` is the WebSocket close code
//   reset     the connection ended without a close frame (process killed, crashed
//             without its exit handlers, network cut): code 1006, with the socket error
//   timeout   it stopped answering the collector's pings (a frozen process, a half-open link)
//   rejected  the collector closed it (a malformed frame, another protocol version ...)
//
// Bounded: a gone agent is kept for `retentionMs` after it ended and at most `max` are
// kept; past either, the one that ended first is forgotten everywhere (`forget`).
export type EndReason = 'closed' | 'reset' | 'timeout' | 'rejected';

export interface AgentEnd {
  /** Collector clock, ms since the epoch. */
  at: number;
  reason: EndReason;
  /** The WebSocket close code (1006: none was received). */
  code: number;
  message: string;
}

export interface GoneAgentsOptions {
  retentionMs: number;
  max: number;
  /** Drops everything kept about an agent. */
  forget(agentId: string): void;
}

export class GoneAgents {
  /** In the order they ended. */
  private readonly ends = new Map<string, AgentEnd>();

  constructor(private readonly opts: GoneAgentsOptions) {}

  get size(): number {
    return this.ends.size;
  }

  get(agentId: string): AgentEnd | undefined {
    return this.ends.get(agentId);
  }

  ended(agentId: string, end: AgentEnd): void {
    this.ends.delete(agentId);
    this.ends.set(agentId, end);
    this.expire(end.at);
    for (const id of this.ends.keys()) {
      if (this.ends.size <= this.opts.max) break;
      this.drop(id);
    }
  }

  /** The agent connected again. */
  back(agentId: string): void {
    this.ends.delete(agentId);
  }

  /** Forgets the agents gone for longer than the retention; reads call it, so does each end. */
  expire(now: number): void {
    for (const [id, e] of this.ends) {
      if (now - e.at < this.opts.retentionMs) break;
      this.drop(id);
    }
  }

  private drop(agentId: string): void {
    this.ends.delete(agentId);
    this.opts.forget(agentId);
  }
}
