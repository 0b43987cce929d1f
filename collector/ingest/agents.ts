// What the collector knows about each agent, keyed by agent id. An agent that reconnects
// (same id, same hello `instance`) finds its state again: counters, events received and
// the last batch sequence number, which is how resent batches are recognised. The id
// belongs to its instance: another process's hello with it is refused, not let in.
//
// Bounded: at `maxAgents`, a new agent evicts the one disconnected longest ago; if all
// are connected it is refused. Collector-wide totals survive eviction.
import type { AgentIdentity, Counters, HelloMessage, LiveSettings } from '../../protocol/messages.js';
import { defaultLiveSettings } from '../../protocol/settings.js';
import { CostHistory } from './agent-cost.js';

export interface AgentState extends Omit<AgentIdentity, 'agentId'> {
  id: string;
  /** The open connection, or null. Compared by identity when a connection closes. */
  link: object | null;
  connectedAt: number;
  lastSeenAt: number;
  /** What the agent runs with, as its hello or its last settings-ack said. */
  settings: LiveSettings;
  settingsVersion: number;
  /** What the collector asks it to run (control/): sent in the welcome and pushed; null keeps the agent's own. */
  requested: { settings: LiveSettings; version: number } | null;
  /** The settings its environment gave it: the fallback for each setting the API never set. */
  ownSettings: LiveSettings | null;
  /** The last settings version it refused, and why; it kept running `settings`. */
  settingsRejected: { version: number; error: string } | null;
  counters: Counters;
  /** Events accepted from this agent (resent batches not counted twice). */
  received: number;
  /** Highest batch sequence number accepted. */
  lastSeq: number;
  /** What the agent reports it spends (agent-cost.ts). */
  cost: CostHistory;
  /** Rows of its streams lost before they were sent, as its last batch said. */
  streamsDropped: { outbound: number; runtime: number; pauses: number };
  /** The agent process the id belongs to (hello `instance`), never shown: lastSeq counts its batches. */
  instance: string;
}

const zeroCounters = (): Counters => ({ recorded: 0, filtered: 0, dropped: 0, sent: 0, buffered: 0, hookErrors: 0 });

/** Copies only the known fields: decoded maps may carry anything else. */
export function copyCounters(c: Counters): Counters {
  return { recorded: c.recorded, filtered: c.filtered, dropped: c.dropped, sent: c.sent, buffered: c.buffered, hookErrors: c.hookErrors };
}

export function copySettings(s: LiveSettings): LiveSettings {
  return { pathFilter: s.pathFilter, thresholdMs: s.thresholdMs, sampleRate: s.sampleRate, httpServer: s.httpServer };
}

export class AgentRegistry {
  /** Events accepted from every agent, evicted ones included. */
  received = 0;
  private droppedByEvicted = 0;
  private readonly byId = new Map<string, AgentState>();
  /** Told of each agent evicted or forgotten, so that what is kept beside the registry goes with it. */
  onForget: (id: string) => void = () => undefined;

  constructor(private readonly maxAgents: number) {}

  get(id: string): AgentState | undefined {
    return this.byId.get(id);
  }

  /**
   * Registers a hello on `link`; 'full' when the registry is full of connected agents,
   * 'taken' when the id belongs to another agent process while the registry knows it.
   */
  connect(hello: HelloMessage, link: object, now: number): AgentState | 'full' | 'taken' {
    const instance = hello.instance ?? `${hello.pid}@${hello.startTime}`;
    let a = this.byId.get(hello.agentId);
    if (a !== undefined && a.instance !== instance) return 'taken';
    if (a === undefined) {
      if (this.byId.size >= this.maxAgents && !this.evictOne()) return 'full';
      a = {
        id: hello.agentId, service: '', host: '', pid: 0, nodeVersion: '', agentVersion: '', startTime: 0,
        link: null, connectedAt: now, lastSeenAt: now, settings: defaultLiveSettings, settingsVersion: 0,
        requested: null, ownSettings: null, settingsRejected: null, counters: zeroCounters(), received: 0, lastSeq: 0,
        cost: new CostHistory(), streamsDropped: { outbound: 0, runtime: 0, pauses: 0 },
        instance,
      };
      this.byId.set(a.id, a);
    }
    a.service = hello.service;
    a.host = hello.host;
    a.pid = hello.pid;
    a.nodeVersion = hello.nodeVersion;
    a.agentVersion = hello.agentVersion;
    a.startTime = hello.startTime;
    a.settings = copySettings(hello.settings);
    a.settingsVersion = hello.settingsVersion;
    a.link = link;
    a.connectedAt = a.lastSeenAt = now;
    return a;
  }

  disconnect(a: AgentState, link: object, now: number): void {
    // A replaced connection closes after its successor connected: leave the successor be.
    if (a.link !== link) return;
    a.link = null;
    a.lastSeenAt = now;
  }

  private evictOne(): boolean {
    let oldest: AgentState | undefined;
    for (const a of this.byId.values()) {
      if (a.link === null && (oldest === undefined || a.lastSeenAt < oldest.lastSeenAt)) oldest = a;
    }
    if (oldest === undefined) return false;
    this.forget(oldest.id);
    return true;
  }

  /** Forgets a disconnected agent (its totals stay counted); a connected one stays. */
  forget(id: string): void {
    const a = this.byId.get(id);
    if (a === undefined || a.link !== null) return;
    this.droppedByEvicted += a.counters.dropped;
    this.byId.delete(id);
    this.onForget(id);
  }

  list(): AgentState[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }

  connectedCount(): number {
    let n = 0;
    for (const a of this.byId.values()) if (a.link !== null) n++;
    return n;
  }

  /** Events the agents report lost before the collector acknowledged them. */
  droppedTotal(): number {
    let n = this.droppedByEvicted;
    for (const a of this.byId.values()) n += a.counters.dropped;
    return n;
  }
}
