// The dashboard: wires the live feed to the panels. Every second a snapshot arrives
// (routes, agents, overview); the selected route's detail and the slowest events are
// then fetched once, never more than one request of each kind in flight.
import { renderAgents } from './agents.js';
import { askToken, get, getToken } from './api.js';
import { LatencyChart, PercentileChart } from './charts.js';
import { $ } from './dom.js';
import * as fmt from './format.js';
import { InflightPanel } from './inflight.js';
import { connectLive } from './live.js';
import { RecordingsPanel } from './recordings.js';
import { RoutesTable } from './routes.js';
import { pauseMarks, RuntimePanel } from './runtime.js';
import { SettingsPanel } from './settings.js';
import { Slowest } from './slowest.js';
/** @import { Overview, RouteDetailJson, RouteJson, Snapshot } from './api-types.js' */
/** @import { LiveState } from './live.js' */

/** The selected route is kept in the address (#route=<id>), so a link shows the same charts. */
const fromHash = () => new URLSearchParams(location.hash.slice(1)).get('route');
/** @type {{ snapshot: Snapshot | null, service: string, selected: string | null }} */
const state = { snapshot: null, service: '', selected: fromHash() };

const serviceFilter = $('service-filter', HTMLSelectElement);
const slowestRouteOnly = $('slowest-route-only', HTMLInputElement);
const routesTable = new RoutesTable($('routes-table', HTMLTableElement), $('routes-empty', HTMLElement), { onSelect: (id) => selectRoute(id) });
const marks = pauseMarks();
const latency = new LatencyChart($('latency-chart', HTMLElement), [marks.plugin]);
const percentiles = new PercentileChart($('hdr-chart', HTMLElement));
const slowest = new Slowest($('slowest-table', HTMLTableElement), $('slowest-empty', HTMLElement), $('slowest-min', HTMLInputElement), slowestRouteOnly);
const settings = new SettingsPanel($('settings', HTMLElement));
const recordings = new RecordingsPanel($('recordings', HTMLElement));
const runtime = new RuntimePanel({
  select: $('runtime-agent', HTMLSelectElement), loop: $('runtime-loop-chart', HTMLElement), memory: $('runtime-memory-chart', HTMLElement),
  summary: $('runtime-summary', HTMLElement), empty: $('runtime-empty', HTMLElement), gone: $('runtime-gone', HTMLElement),
}, marks);
const inflight = new InflightPanel({
  table: $('inflight-table', HTMLTableElement), empty: $('inflight-empty', HTMLElement), summary: $('inflight-summary', HTMLElement),
});

/** @param {Overview} o */
function renderOverview(o) {
  const items = [
    ['agents', `${o.connectedAgents} / ${o.agents} connected`],
    ['events', fmt.count(o.events.received)],
    ['dropped', fmt.count(o.events.dropped)],
    ['routes', fmt.count(o.routes ?? 0)],
    ['up', fmt.uptime(o.uptimeMs)],
    ['version', o.version],
  ];
  $('overview', HTMLElement).replaceChildren(...items.flatMap(([k, v]) => {
    const dd = fmt.el('dd', { 'data-key': k, class: k === 'dropped' && o.events.dropped > 0 ? 'bad' : undefined }, v);
    return [fmt.el('dt', {}, k), dd];
  }));
}

/** @param {RouteJson[]} routes */
function renderServices(routes) {
  const select = serviceFilter;
  const services = [...new Set(routes.map((r) => r.service))].sort();
  const have = [...select.options].slice(1).map((o) => o.value);
  if (have.join('\n') === services.join('\n')) return;
  const chosen = select.value;
  select.replaceChildren(fmt.el('option', { value: '' }, 'all services'), ...services.map((s) => fmt.el('option', { value: s }, s)));
  select.value = services.includes(chosen) ? chosen : '';
  state.service = select.value;
}

function visibleRoutes() {
  const routes = state.snapshot?.routes.routes ?? [];
  return state.service ? routes.filter((r) => r.service === state.service) : routes;
}

function renderRoutes() {
  const routes = visibleRoutes();
  routesTable.render(routes);
  // Keep a route selected while there is one to show: the one in the address, else the
  // first in the table's order.
  if (routes.length === 0) return;
  const { selected } = state;
  const wanted = selected !== null && routes.some((r) => r.id === selected) ? selected : routesTable.order()[0];
  if (routesTable.selected !== wanted) routesTable.select(wanted);
}

/** @param {Snapshot} snapshot */
function onSnapshot(snapshot) {
  state.snapshot = snapshot;
  renderOverview(snapshot.overview);
  renderServices(snapshot.routes.routes);
  renderRoutes();
  renderAgents($('agents-table', HTMLTableElement), $('agents-empty', HTMLElement), $('agents-warning', HTMLElement), snapshot.agents.agents);
  settings.update(snapshot.agents.agents);
  recordings.update(snapshot.agents.agents);
  refreshDetail();
  refreshSlowest();
  refreshInflight();
  chooseRuntimeAgent();
  refreshRuntime();
}

/** The runtime panel follows the selected route's service. */
function chooseRuntimeAgent() {
  const r = state.snapshot?.routes.routes.find((x) => x.id === state.selected);
  runtime.choose(r?.service ?? state.service, state.snapshot?.agents.agents ?? []);
}

/** @param {string} id */
function selectRoute(id) {
  const changed = state.selected !== id;
  state.selected = id;
  if (fromHash() !== id) history.replaceState(null, '', `#${new URLSearchParams({ route: id })}`);
  const r = state.snapshot?.routes.routes.find((x) => x.id === id);
  const name = r ? `${r.service} · ${r.method} ${r.route}` : 'no route selected';
  $('latency-route', HTMLElement).textContent = name;
  $('hdr-route', HTMLElement).textContent = name;
  if (changed) {
    chooseRuntimeAgent();
    refreshRuntime();
    refreshDetail();
    if (slowestRouteOnly.checked) refreshSlowest();
  }
}

/**
 * Runs `task` with at most one run in flight; a call during a run asks for one more after it.
 * @param {() => Promise<void>} task
 * @returns {() => void}
 */
function single(task) {
  let running = false;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await task();
    } catch (err) {
      console.warn('nodeflight dashboard:', err instanceof Error ? err.message : err);
    } finally {
      running = false;
      if (again) {
        again = false;
        void run();
      }
    }
  };
  return () => void run();
}

const refreshDetail = single(async () => {
  const id = state.selected;
  if (id === null) return;
  const detail = /** @type {RouteDetailJson} */ (await get(`/v1/routes/${encodeURIComponent(id)}`));
  if (id !== state.selected) return;
  latency.update(detail.intervals);
  percentiles.update(detail.histogram);
});

const refreshRuntime = single(() => runtime.refresh());
runtime.onChange = refreshRuntime;

const refreshInflight = single(() => inflight.refresh(state.service, state.snapshot?.agents.agents ?? []));

const refreshSlowest = single(async () => {
  await slowest.refresh({ service: state.service, routeId: state.selected }, state.snapshot?.agents.agents ?? []);
});

/** @param {LiveState} s */
function showLiveState(s) {
  const pill = $('live-status', HTMLElement);
  if (pill.dataset.state === s) return;
  pill.dataset.state = s;
  pill.textContent = { live: 'live', reconnecting: 'reconnecting…', polling: 'live (polling)', offline: 'collector unreachable', paused: 'paused (tab hidden)' }[s] ?? s;
}

function showToken() {
  $('token-button', HTMLButtonElement).textContent = getToken() ? 'Token ✓' : 'Token';
}

serviceFilter.addEventListener('change', () => {
  state.service = serviceFilter.value;
  renderRoutes();
  refreshSlowest();
  refreshInflight();
});
$('slowest-min', HTMLInputElement).addEventListener('change', () => refreshSlowest());
slowestRouteOnly.addEventListener('change', () => refreshSlowest());
$('token-button', HTMLButtonElement).addEventListener('click', () => void askToken('The token is sent with changes as Authorization: Bearer.'));
document.addEventListener('nodeflight:token', showToken);
showToken();

connectLive(onSnapshot, showLiveState);
void settings.load();
