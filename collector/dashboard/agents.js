// The agents table and the warning shown when any agent lost events.
import * as fmt from './format.js';
/** @import { AgentJson } from './api-types.js' */

/** @param {Pick<AgentJson, 'service' | 'host' | 'pid'>} a */
export function agentLabel(a) {
  return `${a.service} · ${a.host}:${a.pid}`;
}

/**
 * Fills a scope <select>: '' (everything), then `service:NAME` and `agent:ID` options.
 * Rebuilt only when the agents change, so an open list is not disturbed; `key` is the
 * select's last build, returned anew.
 * @param {HTMLSelectElement} select
 * @param {AgentJson[]} agents
 * @param {string} allLabel
 * @param {string} key
 * @returns {string}
 */
export function fillScopes(select, agents, allLabel, key) {
  const services = [...new Set(agents.map((a) => a.service))].sort();
  const next = `${services.join('\n')}\n\n${agents.map((a) => `${a.id}\t${agentLabel(a)}`).join('\n')}`;
  if (next === key) return key;
  const chosen = select.value;
  /** @type {HTMLElement[]} */
  const options = [fmt.el('option', { value: '' }, allLabel)];
  if (services.length > 0) {
    const bySvc = fmt.el('optgroup', { label: 'service' });
    for (const s of services) bySvc.append(fmt.el('option', { value: `service:${s}` }, s));
    const byAgent = fmt.el('optgroup', { label: 'agent' });
    for (const a of agents) byAgent.append(fmt.el('option', { value: `agent:${a.id}` }, agentLabel(a)));
    options.push(bySvc, byAgent);
  }
  select.replaceChildren(...options);
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : '';
  return next;
}

/** @param {AgentJson} a */
function settingsText(a) {
  /** @type {Partial<AgentJson['settings']>} */
  const s = a.settings ?? {};
  const parts = [`filter ${s.pathFilter ?? '.*'}`, `≥ ${s.thresholdMs ?? 0} ms`];
  if (s.sampleRate !== undefined && s.sampleRate !== 1) parts.push(`sample ${s.sampleRate}`);
  if (s.httpServer === false) parts.push('http off');
  return `${parts.join(', ')} (v${a.settingsVersion ?? 0})`;
}

/**
 * @param {HTMLTableElement} table
 * @param {HTMLElement} empty
 * @param {HTMLElement} warning
 * @param {AgentJson[]} agents
 */
export function renderAgents(table, empty, warning, agents) {
  const rows = agents.map((a) => {
    const c = a.counters;
    const tr = fmt.el('tr', { 'data-agent-id': a.id, class: c.dropped > 0 ? 'lossy' : undefined });
    const state = fmt.el('td', { 'data-col': 'state' });
    state.append(fmt.el('span', { class: `dot ${a.connected ? 'on' : 'off'}`, 'aria-hidden': 'true' }), a.connected ? 'connected' : 'disconnected');
    tr.append(
      state,
      fmt.el('th', { scope: 'row', 'data-col': 'service' }, a.service),
      fmt.el('td', { 'data-col': 'host' }, a.host),
      fmt.el('td', { class: 'num', 'data-col': 'pid' }, String(a.pid)),
      fmt.el('td', { 'data-col': 'node' }, a.nodeVersion),
      fmt.el('td', { class: 'num', 'data-col': 'recorded', 'data-value': c.recorded }, fmt.count(c.recorded)),
      fmt.el('td', { class: 'num', 'data-col': 'filtered', 'data-value': c.filtered }, fmt.count(c.filtered)),
      fmt.el('td', { class: `num${c.dropped > 0 ? ' bad' : ''}`, 'data-col': 'dropped', 'data-value': c.dropped }, fmt.count(c.dropped)),
      fmt.el('td', { class: 'num', 'data-col': 'sent', 'data-value': c.sent }, fmt.count(c.sent)),
      fmt.el('td', { 'data-col': 'settings', 'data-version': a.settingsVersion ?? 0 }, settingsText(a)),
    );
    return tr;
  });
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = agents.length === 0;
  empty.hidden = agents.length > 0;

  const lossy = agents.filter((a) => a.counters.dropped > 0);
  const dropped = lossy.reduce((n, a) => n + a.counters.dropped, 0);
  warning.hidden = lossy.length === 0;
  if (lossy.length > 0) {
    warning.textContent = `⚠ ${fmt.count(dropped)} recorded event${dropped === 1 ? ' was' : 's were'} dropped by ${lossy.length === 1 ? agentLabel(lossy[0]) : `${lossy.length} agents`}: `
      + 'the ring buffer filled before the events could be sent, or the connection to the collector was lost. '
      + 'The percentiles leave these requests out. Raise NODEFLIGHT_BUFFER_EVENTS, lower NODEFLIGHT_FLUSH_MS or check the link to the collector.';
  }
}
