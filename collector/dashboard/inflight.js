// Requests in flight now (GET /v1/inflight), oldest first, refreshed with each live
// snapshot; a request older than its route's p99 is highlighted: the stuck ones.
import { get } from './api.js';
import { agentLabel } from './agents.js';
import * as fmt from './format.js';
/** @import { AgentJson, Inflight } from './api-types.js' */

/**
 * Gone agents in the runtime panel show the requests open at their end, as one line.
 * @param {Inflight | null} inflight
 */
export function openRequestsLine(inflight, shown = 3) {
  const list = inflight?.requests ?? [];
  if (inflight === null || list.length === 0) return 'no request was open at its last snapshot';
  const head = list.slice(0, shown).map((r) => `${r.method} ${r.path} (${fmt.ms(r.ageMs)} ms)`).join(', ');
  return `${inflight.open} open at its last snapshot: ${head}${inflight.open > shown ? ', …' : ''}`;
}

export class InflightPanel {
  /** @param {{ table: HTMLTableElement, empty: HTMLElement, summary: HTMLElement }} elements */
  constructor({ table, empty, summary }) {
    this.table = table;
    this.empty = empty;
    this.summary = summary;
  }

  /**
   * @param {string} service '' for every service.
   * @param {AgentJson[]} agents To name each request's agent.
   */
  async refresh(service, agents) {
    const body = /** @type {Inflight} */ (await get(`/v1/inflight${service ? `?service=${encodeURIComponent(service)}` : ''}`));
    const byId = new Map(agents.map((a) => [a.id, a]));
    const rows = body.requests.map((r) => {
      const agent = byId.get(r.agentId);
      const tr = fmt.el('tr', {
        class: r.overP99 ? 'over-p99' : undefined,
        title: r.overP99 ? `open for longer than its route's p99 (${fmt.ms(r.routeP99Ms)} ms)` : undefined,
      });
      tr.append(
        fmt.el('td', { 'data-col': 'age', class: 'num', 'data-value': r.ageMs }, fmt.ms(r.ageMs)),
        fmt.el('td', { 'data-col': 'method' }, r.method),
        fmt.el('td', { 'data-col': 'path', class: 'path' }, r.path),
        fmt.el('td', { 'data-col': 'route', class: 'path' }, r.route),
        fmt.el('td', { 'data-col': 'p99', class: 'num' }, fmt.ms(r.routeP99Ms)),
        fmt.el('td', { 'data-col': 'agent' }, agent ? agentLabel(agent) : r.agentId),
      );
      return tr;
    });
    this.table.tBodies[0].replaceChildren(...rows);
    this.table.hidden = rows.length === 0;
    this.empty.hidden = rows.length > 0;
    const over = body.requests.filter((r) => r.overP99).length;
    this.summary.textContent = body.open === 0 ? ''
      : `${fmt.count(body.open)} open${body.open > rows.length ? `, the ${rows.length} oldest shown` : ''}; ${over} older than their route's p99`;
    this.summary.dataset.open = String(body.open);
  }
}
