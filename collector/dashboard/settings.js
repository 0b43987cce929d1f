// Live settings: edit the path filter and threshold for every agent (PUT /v1/settings),
// one service (?service=) or one agent (PUT /v1/agents/:id/settings); show the
// collector's validation errors next to the form, and follow each agent until it
// acknowledges (or rejects) the version the change created.
import { agentLabel, fillScopes } from './agents.js';
import { api, ApiError } from './api.js';
import { find } from './dom.js';
import * as fmt from './format.js';
/** @import { AgentJson, AgentSettingsJson, LiveSettings, ScopeSettingsJson } from './api-types.js' */

/** @typedef {Partial<ScopeSettingsJson> & Partial<AgentSettingsJson>} SettingsAnswer A scope's or an agent's. */
/**
 * How far one agent is with the last change.
 * @typedef {object} AckState
 * @property {string} id
 * @property {boolean} connected
 * @property {number | null} requested The version asked of it; null: it runs its own settings.
 * @property {number} acknowledged
 * @property {{ version: number, error: string } | null} rejected
 */

/** @param {string} scope '', `service:NAME` or `agent:ID` (fillScopes). */
function path(scope) {
  if (scope.startsWith('agent:')) return `/v1/agents/${encodeURIComponent(scope.slice(6))}/settings`;
  if (scope.startsWith('service:')) return `/v1/settings?${new URLSearchParams({ service: scope.slice(8) })}`;
  return '/v1/settings';
}

/**
 * The settings in force for a scope, from a settings answer (scope or agent form).
 * @param {SettingsAnswer | undefined} body
 */
const settingsOf = (body) => body?.settings ?? body?.requested?.settings ?? body?.acknowledged?.settings;

/**
 * Each concerned agent's requested, acknowledged and rejected versions, from a settings answer.
 * @param {SettingsAnswer | undefined} body
 * @returns {AckState[]}
 */
function agentStates(body) {
  // An answer with an id is one agent's.
  const one = typeof body?.id === 'string' ? [/** @type {AgentSettingsJson} */ (body)] : [];
  const list = Array.isArray(body?.agents) ? body.agents : one;
  return list.map((a) => ({
    id: a.id,
    connected: a.connected !== false,
    requested: a.requested?.version ?? null,
    acknowledged: a.acknowledged?.version ?? 0,
    rejected: a.rejected ?? null,
  }));
}

/** @param {AckState} a */
function stateOf(a) {
  if (a.requested === null) return 'own';
  if (a.acknowledged >= a.requested) return 'acknowledged';
  if (a.rejected !== null && a.rejected.version >= a.requested) return 'rejected';
  return a.connected ? 'pending' : 'disconnected';
}

/** @type {Record<Exclude<ReturnType<typeof stateOf>, 'rejected'>, string>} */
const LABELS = {
  own: 'runs its own settings',
  acknowledged: '✓ applied',
  pending: 'waiting for the agent…',
  disconnected: 'disconnected: gets it when it reconnects',
};

export class SettingsPanel {
  /** @param {ParentNode} root */
  constructor(root) {
    this.form = find(root, '#settings-form', HTMLFormElement);
    this.scope = find(root, '#settings-scope', HTMLSelectElement);
    this.pathFilter = find(root, '#settings-path-filter', HTMLInputElement);
    this.threshold = find(root, '#settings-threshold', HTMLInputElement);
    this.errors = find(root, '#settings-errors', HTMLElement);
    this.apply = find(root, '#settings-apply', HTMLButtonElement);
    this.ackTable = find(root, '#ack-table', HTMLTableElement);
    /** @type {AgentJson[]} */
    this.agents = [];
    this.key = '';
    /** @type {{ scope: string, agents: AckState[] } | null} The last change sent: its scope and the state of each agent it concerns. */
    this.pending = null;
    this.polling = false;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    this.scope.addEventListener('change', () => void this.load());
    find(root, '#settings-reload', HTMLButtonElement).addEventListener('click', () => void this.load());
    /** Counts the user's edits, so that a load answered late does not overwrite them. */
    this.edits = 0;
    for (const input of [this.pathFilter, this.threshold]) {
      input.addEventListener('input', () => {
        this.edits++;
        input.removeAttribute('aria-invalid');
      });
    }
  }

  /** The agents of the latest snapshot: refreshes the scope list and follows pending acknowledgements. */
  /** @param {AgentJson[]} agents */
  update(agents) {
    this.agents = agents;
    this.key = fillScopes(this.scope, agents, 'all agents (defaults)', this.key);
    if (this.pending?.agents.some((a) => stateOf(a) === 'pending')) void this.follow();
    this.renderAcks();
  }

  async load() {
    this.showErrors([]);
    const scope = this.scope.value;
    const edits = this.edits;
    try {
      const settings = settingsOf(/** @type {SettingsAnswer} */ (await api('GET', path(scope))));
      if (edits === this.edits && scope === this.scope.value) this.fill(settings);
    } catch (err) {
      this.showErrors(err instanceof ApiError ? err.errors : [String(err)]);
    }
  }

  /** @param {LiveSettings | undefined} settings */
  fill(settings) {
    this.pathFilter.value = settings?.pathFilter ?? '.*';
    this.threshold.value = String(settings?.thresholdMs ?? 0);
    this.pathFilter.removeAttribute('aria-invalid');
    this.threshold.removeAttribute('aria-invalid');
  }

  async submit() {
    this.showErrors([]);
    const scope = this.scope.value;
    const threshold = this.threshold.value.trim();
    /** @type {{ pathFilter: string, thresholdMs: number | string }} */
    const body = { pathFilter: this.pathFilter.value, thresholdMs: threshold === '' ? 0 : Number(threshold) };
    // Sent as typed when it is no number, so the collector's message names the problem.
    if (!Number.isFinite(body.thresholdMs)) body.thresholdMs = threshold;
    this.apply.disabled = true;
    try {
      const answer = /** @type {SettingsAnswer} */ (await api('PUT', path(scope), body));
      this.pending = { scope, agents: agentStates(answer) };
      this.renderAcks();
    } catch (err) {
      this.showErrors(err instanceof ApiError ? err.errors : [String(err)]);
    } finally {
      this.apply.disabled = false;
    }
  }

  /** Reads the scope's settings again for the agents' acknowledgements; one read at a time. */
  async follow() {
    const pending = this.pending;
    if (this.polling || pending === null) return;
    this.polling = true;
    try {
      const answer = /** @type {SettingsAnswer} */ (await api('GET', path(pending.scope)));
      if (this.pending === pending) pending.agents = agentStates(answer);
      this.renderAcks();
    } catch {
      // The next snapshot asks again.
    } finally {
      this.polling = false;
    }
  }

  /** @param {string[]} messages */
  showErrors(messages) {
    this.errors.replaceChildren();
    this.errors.hidden = messages.length === 0;
    if (messages.length === 0) return;
    const list = fmt.el('ul');
    for (const m of messages) list.append(fmt.el('li', {}, m));
    this.errors.append(fmt.el('strong', {}, 'Not applied:'), list);
    const text = messages.join(' ').toLowerCase();
    if (/path ?filter|regular expression|pattern/.test(text)) this.pathFilter.setAttribute('aria-invalid', 'true');
    if (/threshold/.test(text)) this.threshold.setAttribute('aria-invalid', 'true');
  }

  renderAcks() {
    const p = this.pending;
    this.ackTable.hidden = p === null;
    if (p === null) return;
    const byId = new Map(this.agents.map((a) => [a.id, a]));
    const rows = p.agents.map((a) => {
      const state = stateOf(a);
      const tr = fmt.el('tr', { 'data-agent-id': a.id, 'data-state': state });
      const agent = byId.get(a.id);
      tr.append(
        fmt.el('th', { scope: 'row' }, agent ? agentLabel(agent) : a.id),
        fmt.el('td', { class: 'num' }, a.requested === null ? '–' : `v${a.requested}`),
        fmt.el('td', { class: 'num' }, `v${a.acknowledged}`),
        fmt.el('td', { class: state === 'acknowledged' ? 'ok' : state === 'rejected' ? 'bad' : undefined }, state === 'rejected' ? `rejected: ${a.rejected?.error}` : LABELS[state]),
      );
      return tr;
    });
    if (rows.length === 0) {
      const tr = fmt.el('tr');
      tr.append(fmt.el('td', { colspan: 4 }, 'No agent is in this scope yet; agents get these settings when they connect.'));
      rows.push(tr);
    }
    this.ackTable.tBodies[0].replaceChildren(...rows);
  }
}
