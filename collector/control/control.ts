// Control of running agents: live settings pushed to them, and recordings dumped from
// them. The ingest calls in on each hello, settings-ack, dump-data and closed
// connection; the REST API (api/control-api.ts) calls in on PUTs and POSTs.
//
// Settings, per agent:
//   requested     what the collector asks it to run (resolved in settings-store.ts), with
//                 its version; sent in every welcome and pushed on every change
//   acknowledged  what it runs, as its hello or its last accepted settings-ack said
//   rejected      the version it refused and why (it keeps its last good settings)
import type { CollectorMessage, DumpDataMessage, HelloMessage, LiveSettings, SettingsAckMessage } from '../../protocol/messages.js';
import { copySettings, type AgentRegistry, type AgentState } from '../ingest/agents.js';
import type { IngestControl } from '../ingest/ingest.js';
import type { Recordings } from './recordings.js';
import type { Scope, SettingsStore } from './settings-store.js';

/** Sends to an agent's open connection; returns that connection, or null when there is none. */
export type Sender = (agent: AgentState, message: CollectorMessage) => object | null;

export function inScope(a: AgentState, scope: Scope): boolean {
  return scope.kind === 'defaults' || (scope.kind === 'service' ? a.service === scope.service : a.id === scope.agentId);
}

export class Control implements IngestControl {
  private sender: Sender = () => null;

  constructor(readonly agents: AgentRegistry, readonly store: SettingsStore, readonly recordings: Recordings) {}

  /** The ingest is made after the control; this closes the loop. */
  attach(sender: Sender): void {
    this.sender = sender;
  }

  send(agent: AgentState, message: CollectorMessage): object | null {
    return this.sender(agent, message);
  }

  onHello(agent: AgentState, hello: HelloMessage): void {
    // An agent without envSettings (an older one) is taken to have started with what it first said.
    if (hello.envSettings !== undefined) agent.ownSettings = copySettings(hello.envSettings);
    else agent.ownSettings ??= copySettings(hello.settings);
    this.store.noteVersion(hello.settingsVersion);
    agent.requested = this.resolve(agent);
  }

  onSettingsAck(agent: AgentState, m: SettingsAckMessage): void {
    if (!m.ok) {
      agent.settingsRejected = { version: m.version, error: String(m.error ?? 'no reason given').slice(0, 1024) };
      return;
    }
    agent.settingsVersion = m.version;
    if (agent.requested?.version === m.version) agent.settings = copySettings(agent.requested.settings);
    if (agent.settingsRejected !== null && agent.settingsRejected.version <= m.version) agent.settingsRejected = null;
  }

  onDumpData(agent: AgentState, link: object, m: DumpDataMessage, bytes: number): void {
    this.recordings.onDumpData(agent, link, m, bytes);
  }

  onClosed(agent: AgentState, link: object): void {
    this.recordings.onConnectionClosed(agent, link);
  }

  /**
   * Applies a validated change to a layer and pushes the result to every agent in its
   * scope that is connected (the others get it in their next welcome). Returns the new
   * version and the agents it was sent to.
   */
  async changeSettings(scope: Scope, patch: Record<string, unknown>): Promise<{ version: number; sentTo: string[] }> {
    const version = await this.store.update(scope, patch, (id) => this.agents.get(id) !== undefined);
    const sentTo: string[] = [];
    for (const a of this.agents.list()) {
      if (!inScope(a, scope)) continue;
      a.requested = this.resolve(a);
      if (a.requested === null || a.link === null) continue;
      if (this.send(a, { t: 'settings', version: a.requested.version, settings: a.requested.settings })) sentTo.push(a.id);
    }
    return { version, sentTo };
  }

  private resolve(a: AgentState): { settings: LiveSettings; version: number } | null {
    return this.store.resolve(a.id, a.service, a.ownSettings ?? a.settings);
  }
}
