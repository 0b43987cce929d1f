// Live settings: edit the path filter and threshold for every agent (PUT /v1/settings)
// or one (PUT /v1/agents/:id/settings), show the collector's validation errors next to
// the form, and follow each agent's acknowledgement of the version the PUT created.
import { agentLabel } from './agents.js';
import { api, ApiError } from './api.js';
import * as fmt from './format.js';

const path = (scope) => (scope ? `/v1/agents/${encodeURIComponent(scope)}/settings` : '/v1/settings');

/** Settings and version from a settings answer, whichever of the documented forms it has. */
function readSettings(body) {
  const settings = body?.settings ?? body?.requested?.settings ?? body;
  const version = body?.version ?? body?.requested?.version ?? body?.settingsVersion;
  return { settings, version: typeof version === 'number' ? version : undefined };
}

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
    this.agentKey = '';
    /** The last change sent: which agents it concerns and the version they must acknowledge. */
    this.pending = null;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit();
    });
    this.scope.addEventListener('change', () => void this.load());
    root.querySelector('#settings-reload').addEventListener('click', () => void this.load());
    for (const input of [this.pathFilter, this.threshold]) input.addEventListener('input', () => input.removeAttribute('aria-invalid'));
  }

  /** The agents of the latest snapshot: refreshes the scope list and the acknowledgements. */
  update(agents) {
    this.agents = agents;
    const key = agents.map((a) => `${a.id}\t${agentLabel(a)}`).join('\n');
    if (key !== this.agentKey) {
      this.agentKey = key;
      const chosen = this.scope.value;
      this.scope.replaceChildren(fmt.el('option', { value: '' }, 'all agents (defaults)'), ...agents.map((a) => fmt.el('option', { value: a.id }, agentLabel(a))));
      this.scope.value = agents.some((a) => a.id === chosen) ? chosen : '';
    }
    this.renderAcks();
  }

  async load() {
    this.showErrors([]);
    const scope = this.scope.value;
    try {
      const { settings } = readSettings(await api('GET', path(scope)));
      this.fill(settings);
    } catch (err) {
      // Before the per-agent endpoint answers, show what the agent last reported.
      const agent = this.agents.find((a) => a.id === scope);
      if (agent) this.fill(agent.settings);
      else this.showErrors(err instanceof ApiError ? err.errors : [String(err)]);
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
    if (!Number.isFinite(body.thresholdMs)) body.thresholdMs = threshold;
    this.apply.disabled = true;
    try {
      const { version } = readSettings(await api('PUT', path(scope), body));
      const targets = scope ? this.agents.filter((a) => a.id === scope) : this.agents.filter((a) => a.connected);
      this.pending = { scope, version, agents: targets.map((a) => a.id), sentAt: Date.now() };
      this.renderAcks();
    } catch (err) {
      this.showErrors(err instanceof ApiError ? err.errors : [String(err)]);
    } finally {
      this.apply.disabled = false;
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
    const rows = p.agents.map((id) => {
      const a = this.agents.find((x) => x.id === id);
      const acked = a?.settingsVersion ?? 0;
      const done = p.version === undefined ? a !== undefined : acked >= p.version;
      const state = a === undefined ? 'gone' : done ? 'acknowledged' : a.connected ? 'pending' : 'disconnected';
      const label = { gone: 'agent gone', acknowledged: '✓ applied', pending: 'waiting…', disconnected: 'disconnected: gets it on reconnect' }[state];
      const tr = fmt.el('tr', { 'data-agent-id': id, 'data-state': state });
      tr.append(
        fmt.el('th', { scope: 'row' }, a ? agentLabel(a) : id),
        fmt.el('td', { class: 'num' }, p.version === undefined ? '–' : `v${p.version}`),
        fmt.el('td', { class: 'num' }, `v${acked}`),
        fmt.el('td', { class: state === 'acknowledged' ? 'ok' : undefined }, label),
      );
      return tr;
    });
    this.ackTable.tBodies[0].replaceChildren(...rows);
  }
}
