// The routes table: one row per (service, method, route), sortable by any column
// (header buttons, so the keyboard works), filtered by service, updated in place every
// second. Rows are kept by route id and only moved when the order changes, so focus
// and the selection survive the updates.
import { find } from './dom.js';
import * as fmt from './format.js';
/** @import { RouteJson } from './api-types.js' */

/**
 * What a row shows; null: the route had no events in the window.
 * @typedef {object} RouteValues
 * @property {string} service
 * @property {string} method
 * @property {string} route
 * @property {number} rate
 * @property {number} count
 * @property {number} errors
 * @property {number | null} p50
 * @property {number | null} p90
 * @property {number | null} p99
 * @property {number | null} p999
 * @property {number | null} max
 */
/** @typedef {keyof RouteValues} ColumnKey */
/** @typedef {[ColumnKey, (row: RouteValues) => string]} Column A column's key and how it shows a row. */
/** @typedef {{ tr: HTMLTableRowElement, cells: Record<string, HTMLTableCellElement>, button: HTMLButtonElement }} Row */

/**
 * Numbers of a row, from the route as GET /v1/routes gives it.
 * @param {RouteJson} r
 * @returns {RouteValues}
 */
export function routeValues(r) {
  const l = r.latencyMs;
  const bad = (r.status?.['5xx'] ?? 0) + (r.aborted ?? 0);
  return {
    service: r.service,
    method: r.method,
    route: r.route,
    rate: r.rate.m1,
    count: r.count,
    errors: r.count > 0 ? Math.min(1, bad / r.count) : 0,
    p50: l?.p50 ?? null,
    p90: l?.p90 ?? null,
    p99: l?.p99 ?? null,
    p999: l?.p999 ?? null,
    max: l?.max ?? null,
  };
}

/**
 * @template {ColumnKey} K
 * @param {K} key
 * @param {(v: RouteValues[K]) => string} show
 * @returns {Column}
 */
const column = (key, show) => [key, (row) => show(row[key])];
/** @param {string} v */
const text = (v) => v;

/** @type {Column[]} */
const COLUMNS = [
  column('service', text),
  column('method', text),
  column('route', text),
  column('rate', fmt.rate),
  column('count', fmt.count),
  column('errors', fmt.share),
  column('p50', fmt.ms),
  column('p90', fmt.ms),
  column('p99', fmt.ms),
  column('p999', fmt.ms),
  column('max', fmt.ms),
];
const TEXT_KEYS = new Set(['service', 'method', 'route']);

/**
 * A header's data-key, checked against the columns.
 * @param {string | undefined} key
 * @returns {ColumnKey}
 */
function columnKey(key) {
  const found = COLUMNS.find(([k]) => k === key);
  if (found === undefined) throw new Error(`nodeflight dashboard: the routes table has no column ${JSON.stringify(key)}`);
  return found[0];
}

/**
 * Sorts strings as text and numbers as numbers (a column holds one or the other).
 * @param {string | number} x
 * @param {string | number} y
 */
const compare = (x, y) => (typeof x === 'string' ? x.localeCompare(String(y)) : x - Number(y));

export class RoutesTable {
  /**
   * @param {HTMLTableElement} table
   * @param {HTMLElement} empty
   * @param {{ onSelect: (id: string) => void }} handlers
   */
  constructor(table, empty, { onSelect }) {
    this.table = table;
    this.tbody = table.tBodies[0];
    if (table.tHead === null) throw new Error('nodeflight dashboard: the routes table has no <thead>');
    this.headers = table.tHead.rows[0].cells;
    this.empty = empty;
    this.onSelect = onSelect;
    /** @type {{ key: ColumnKey, dir: 'asc' | 'desc' }} */
    this.sort = { key: 'count', dir: 'desc' };
    /** @type {Map<string, Row>} By route id. */
    this.rows = new Map();
    /** @type {string | null} */
    this.selected = null;
    /** @type {RouteJson[]} */
    this.last = [];
    for (const th of this.headers) {
      const key = columnKey(th.dataset.key);
      const button = fmt.el('button', { type: 'button', class: 'sort' });
      button.append(...th.childNodes, fmt.el('span', { class: 'arrow', 'aria-hidden': 'true' }));
      th.append(button);
      button.addEventListener('click', () => this.sortBy(key));
    }
    this.showSort();
  }

  /** @param {ColumnKey} key */
  sortBy(key) {
    const dir = this.sort.key === key ? (this.sort.dir === 'asc' ? 'desc' : 'asc') : TEXT_KEYS.has(key) ? 'asc' : 'desc';
    this.sort = { key, dir };
    this.showSort();
    this.render(this.last);
  }

  showSort() {
    for (const th of this.headers) {
      const on = th.dataset.key === this.sort.key;
      if (on) th.setAttribute('aria-sort', this.sort.dir === 'asc' ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
      find(th, '.arrow', HTMLElement).textContent = on ? (this.sort.dir === 'asc' ? ' ▲' : ' ▼') : '';
    }
  }

  /**
   * The ids in the order shown.
   * @returns {string[]}
   */
  order() {
    return [...this.tbody.rows].map((tr) => tr.dataset.routeId ?? '');
  }

  /** @param {string} id */
  select(id) {
    this.selected = id;
    for (const [rid, row] of this.rows) {
      const on = rid === id;
      row.tr.classList.toggle('selected', on);
      if (on) row.tr.setAttribute('aria-current', 'true');
      else row.tr.removeAttribute('aria-current');
      row.button.setAttribute('aria-pressed', String(on));
    }
    this.onSelect(id);
  }

  /** @param {RouteJson[]} routes The visible routes as /v1/routes gives them. */
  render(routes) {
    this.last = routes;
    const { key, dir } = this.sort;
    const sign = dir === 'asc' ? 1 : -1;
    const items = routes.map((r) => ({ r, v: routeValues(r) }));
    items.sort((a, b) => {
      const x = a.v[key];
      const y = b.v[key];
      // Empty values last in either direction; ties keep a stable, readable order.
      if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
      const c = compare(x, y);
      return c !== 0 ? sign * c : `${a.v.service} ${a.v.route} ${a.v.method}`.localeCompare(`${b.v.service} ${b.v.route} ${b.v.method}`);
    });

    const seen = new Set();
    for (const { r, v } of items) {
      seen.add(r.id);
      let row = this.rows.get(r.id);
      if (row === undefined) row = this.createRow(r);
      for (const [k, show] of COLUMNS) {
        if (k === 'route') continue;
        const td = row.cells[k];
        const text = show(v);
        if (td.textContent !== text) td.textContent = text;
        td.dataset.value = v[k] === null ? '' : String(v[k]);
      }
      row.tr.classList.toggle('has-errors', v.errors > 0);
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
    const wanted = items.map((i) => i.r.id);
    if (wanted.join('\n') !== this.order().join('\n')) {
      // Moving a focused row would blur it: give focus back after the move.
      const focused = this.tbody.contains(document.activeElement) ? document.activeElement : null;
      for (const id of wanted) {
        const row = this.rows.get(id);
        if (row !== undefined) this.tbody.append(row.tr);
      }
      if (focused instanceof HTMLElement) focused.focus({ preventScroll: true });
    }
    this.empty.hidden = items.length > 0;
    this.table.hidden = items.length === 0;
  }

  /**
   * @param {RouteJson} r
   * @returns {Row}
   */
  createRow(r) {
    const tr = fmt.el('tr', { 'data-route-id': r.id });
    /** @type {Record<string, HTMLTableCellElement>} */
    const cells = {};
    const button = fmt.el('button', { type: 'button', class: 'link', 'aria-pressed': 'false', title: 'Show this route\'s charts' }, r.route);
    for (const [k] of COLUMNS) {
      const td = fmt.el(k === 'service' ? 'th' : 'td', { 'data-col': k, class: TEXT_KEYS.has(k) ? undefined : 'num', scope: k === 'service' ? 'row' : undefined });
      if (k === 'route') {
        button.addEventListener('click', () => this.select(r.id));
        td.dataset.value = r.route;
        td.append(button);
      }
      cells[k] = td;
      tr.append(td);
    }
    // A click anywhere on the row selects it; the button is the keyboard's way in.
    tr.addEventListener('click', (event) => {
      if (event.target !== button) this.select(r.id);
    });
    const row = { tr, cells, button };
    this.rows.set(r.id, row);
    if (r.id === this.selected) {
      tr.classList.add('selected');
      tr.setAttribute('aria-current', 'true');
      button.setAttribute('aria-pressed', 'true');
    }
    return row;
  }
}
