// Live settings: edit the path filter and threshold for every agent (PUT /v1/settings),
// one service (?service=) or one agent (PUT /v1/agents/:id/settings); show the
// collector's validation errors next to the form, and follow each agent until it
// acknowledges (or rejects) the version the change created.
import { agentLabel, fillScopes } from './agents.js';
import { api, ApiError } from './api.js';
import * as fmt from './format.js';

function path(scope) {
  if (scope.startsWith('agent:')) return `/v1/agents/${encodeURIComponent(scope.slice(6))}/settings`;
  if (scope.startsWith('service:')) return `/v1/settings?${new URLSearchParams({ service: scope.slice(8) })}`;
  return '/v1/settings';
}

/** The settings in force for a scope, from a settings answer (scope or agent form). */
const settingsOf = (body) => body?.settings ?? body?.requested?.settings ?? body?.acknowledged?.settings;

/** Each concerned agent's requested, acknowledged and rejected versions, from a settings answer. */
function agentStates(body) {
  const list = Array.isArray(body?.agents) ? body.agents : typeof body?.id === 'string' ? [body] : [];
  return list.map((a) => ({
    id: a.id,
    connected: a.connected !== false,
    requested: a.requested?.version ?? null,
    acknowledged: a.acknowledged?.version ?? 0,
    rejected: a.rejected ?? null,
  }));
}

function stateOf(a) {
  if (a.requested === null) return 'own';
  if (a.acknowledged >= a.requested) return 'acknowledged';
  if (a.rejected !== null && a.rejected.version >= a.requested) return 'rejected';
  return a.connected ? 'pending' : 'disconnected';
}

const LABELS = {
  own: 'runs its own settings',
  acknowledged: '✓ applied',
  pending: 'waiting for the agent…',
  disconnected: 'disconnected: gets it when it reconnects',
};

export class SettingsPanel {
  constructor(root) {
    this.form = root.querySelector('#settings-form');
    this.scope = root.querySelector('#settings-scope');
    this.pathFilter = root.querySelector('#settings-path-filter');
    this.threshold = root.querySelector('#settings-threshold');
    this.errors = root.querySelector('#settings-errors');
    this.apply = root.querySelector('#settings-apply');
    this.ackTable = root.querySelector('#ack-table');
    this.agents = [];
    this.key = '';
    /** The last change sent: its scope and the state of each agent it concerns. */
    this.pending = null;
    this.polling = false;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    this.scope.addEventListener('change', () => void this.load());
    root.querySelector('#settings-reload').addEventListener('click', () => void this.load());
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
      const settings = settingsOf(await api('GET', path(scope)));
      if (edits === this.edits && scope === this.scope.value) this.fill(settings);
    } catch (err) {
      this.showErrors(err instanceof ApiError ? err.errors : [String(err)]);
    }
  }

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
    const body = { pathFilter: this.pathFilter.value, thresholdMs: threshold === '' ? 0 : Number(threshold) };
    // Sent as typed when it is no number, so the collector's message names the problem.
    if (!Number.isFinite(body.thresholdMs)) body.thresholdMs = threshold;
    this.apply.disabled = true;
    try {
      const answer = await api('PUT', path(scope), body);
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
    if (this.polling) return;
    this.polling = true;
    const pending = this.pending;
    try {
      const answer = await api('GET', path(pending.scope));
      if (this.pending === pending) pending.agents = agentStates(answer);
      this.renderAcks();
    } catch {
      // The next snapshot asks again.
    } finally {
      this.polling = false;
    }
  }

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
        fmt.el('td', { class: state === 'acknowledged' ? 'ok' : state === 'rejected' ? 'bad' : undefined }, state === 'rejected' ? `rejected: ${a.rejected.error}` : LABELS[state]),
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
