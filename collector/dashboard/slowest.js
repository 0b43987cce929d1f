// The slowest of the collector's most recent raw events (GET /v1/events, newest first,
// sorted here by duration).
import { get } from './api.js';
import { agentLabel } from './agents.js';
import * as fmt from './format.js';
/** @import { AgentJson, EventsJson } from './api-types.js' */

const FETCH = 1000;
const SHOWN = 25;

/** @typedef {{ service: string, routeId: string | null }} SlowestFilter '' and null: every service, every route. */

export class Slowest {
  /**
   * @param {HTMLTableElement} table
   * @param {HTMLElement} empty
   * @param {HTMLInputElement} minInput
   * @param {HTMLInputElement} routeOnly
   */
  constructor(table, empty, minInput, routeOnly) {
    this.table = table;
    this.empty = empty;
    this.minInput = minInput;
    this.routeOnly = routeOnly;
  }

  /** @param {SlowestFilter} filter */
  query({ service, routeId }) {
    const q = new URLSearchParams({ limit: String(FETCH) });
    const min = Number(this.minInput.value);
    if (this.minInput.value !== '' && Number.isFinite(min) && min > 0) q.set('minMs', String(min));
    if (service) q.set('service', service);
    if (this.routeOnly.checked && routeId) q.set('route', routeId);
    return `/v1/events?${q}`;
  }

  /**
   * @param {SlowestFilter} filter
   * @param {AgentJson[]} agents To name each event's agent.
   */
  async refresh(filter, agents) {
    const { events } = /** @type {EventsJson} */ (await get(this.query(filter)));
    const byId = new Map(agents.map((a) => [a.id, a]));
    const top = events.sort((a, b) => b.durationMs - a.durationMs).slice(0, SHOWN);
    this.table.tBodies[0].replaceChildren(...top.map((e) => {
      const agent = byId.get(e.agentId);
      const tr = fmt.el('tr', { class: e.status >= 500 || e.aborted ? 'error-row' : undefined });
      tr.append(
        fmt.el('td', { 'data-col': 'time' }, fmt.clock(e.start)),
        fmt.el('td', { 'data-col': 'method' }, e.method),
        fmt.el('td', { 'data-col': 'path', class: 'path', title: e.route ? `route ${e.route}` : undefined }, e.path),
        fmt.el('td', { 'data-col': 'status', class: 'num' }, e.aborted ? `${e.status} aborted` : String(e.status)),
        fmt.el('td', { 'data-col': 'duration', class: 'num', 'data-value': e.durationMs }, fmt.ms(e.durationMs)),
        fmt.el('td', { 'data-col': 'agent' }, agent ? agentLabel(agent) : e.agentId),
      );
      return tr;
    }));
    this.table.hidden = top.length === 0;
    this.empty.hidden = top.length > 0;
  }
}
