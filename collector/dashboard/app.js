// The dashboard: wires the live feed to the panels. Every second a snapshot arrives
// (routes, agents, overview); the selected route's detail and the slowest events are
// then fetched once, never more than one request of each kind in flight.
import { renderAgents } from './agents.js';
import { askToken, get, getToken } from './api.js';
import { LatencyChart, PercentileChart } from './charts.js';
import * as fmt from './format.js';
import { InflightPanel } from './inflight.js';
import { connectLive } from './live.js';
import { RecordingsPanel } from './recordings.js';
import { RoutesTable } from './routes.js';
import { pauseMarks, RuntimePanel } from './runtime.js';
import { SettingsPanel } from './settings.js';
import { Slowest } from './slowest.js';

const $ = (id) => document.getElementById(id);

/** The selected route is kept in the address (#route=<id>), so a link shows the same charts. */
const fromHash = () => new URLSearchParams(location.hash.slice(1)).get('route');
const state = { snapshot: null, service: '', selected: fromHash() };

const routesTable = new RoutesTable($('routes-table'), $('routes-empty'), { onSelect: (id) => selectRoute(id) });
const marks = pauseMarks();
const latency = new LatencyChart($('latency-chart'), [marks.plugin]);
const percentiles = new PercentileChart($('hdr-chart'));
const slowest = new Slowest($('slowest-table'), $('slowest-empty'), $('slowest-min'), $('slowest-route-only'));
const settings = new SettingsPanel($('settings'));
const recordings = new RecordingsPanel($('recordings'));
const runtime = new RuntimePanel({
  select: $('runtime-agent'), loop: $('runtime-loop-chart'), memory: $('runtime-memory-chart'), summary: $('runtime-summary'), empty: $('runtime-empty'),
  gone: $('runtime-gone'),
}, marks);
const inflight = new InflightPanel({ table: $('inflight-table'), empty: $('inflight-empty'), summary: $('inflight-summary') });

function renderOverview(o) {
  const items = [
    ['agents', `${o.connectedAgents} / ${o.agents} connected`],
    ['events', fmt.count(o.events.received)],
    ['dropped', fmt.count(o.events.dropped)],
    ['routes', fmt.count(o.routes ?? 0)],
    ['up', fmt.uptime(o.uptimeMs)],
    ['version', o.version],
  ];
  $('overview').replaceChildren(...items.flatMap(([k, v]) => {
    const dd = fmt.el('dd', { 'data-key': k, class: k === 'dropped' && o.events.dropped > 0 ? 'bad' : undefined }, v);
    return [fmt.el('dt', {}, k), dd];
  }));
}

function renderServices(routes) {
  const select = /** @type {HTMLSelectElement} */ ($('service-filter'));
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
  const wanted = routes.some((r) => r.id === state.selected) ? state.selected : routesTable.order()[0];
  if (routesTable.selected !== wanted) routesTable.select(wanted);
}

function onSnapshot(snapshot) {
  state.snapshot = snapshot;
  renderOverview(snapshot.overview);
  renderServices(snapshot.routes.routes);
  renderRoutes();
  renderAgents($('agents-table'), $('agents-empty'), $('agents-warning'), snapshot.agents.agents);
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

function selectRoute(id) {
  const changed = state.selected !== id;
  state.selected = id;
  if (fromHash() !== id) history.replaceState(null, '', `#${new URLSearchParams({ route: id })}`);
  const r = state.snapshot?.routes.routes.find((x) => x.id === id);
  const name = r ? `${r.service} · ${r.method} ${r.route}` : 'no route selected';
  $('latency-route').textContent = name;
  $('hdr-route').textContent = name;
  if (changed) {
    chooseRuntimeAgent();
    refreshRuntime();
    refreshDetail();
    if (/** @type {HTMLInputElement} */ ($('slowest-route-only')).checked) refreshSlowest();
  }
}

/** Runs `task` with at most one run in flight; a call during a run asks for one more after it. */
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
      console.warn('nodeflight dashboard:', err.message ?? err);
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
  const detail = await get(`/v1/routes/${encodeURIComponent(id)}`);
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

function showLiveState(s) {
  const pill = $('live-status');
  if (pill.dataset.state === s) return;
  pill.dataset.state = s;
  pill.textContent = { live: 'live', reconnecting: 'reconnecting…', polling: 'live (polling)', offline: 'collector unreachable', paused: 'paused (tab hidden)' }[s] ?? s;
}

function showToken() {
  $('token-button').textContent = getToken() ? 'Token ✓' : 'Token';
}

$('service-filter').addEventListener('change', (event) => {
  state.service = /** @type {HTMLSelectElement} */ (event.target).value;
  renderRoutes();
  refreshSlowest();
  refreshInflight();
});
$('slowest-min').addEventListener('change', () => refreshSlowest());
$('slowest-route-only').addEventListener('change', () => refreshSlowest());
$('token-button').addEventListener('click', () => void askToken('The token is sent with changes as Authorization: Bearer.'));
document.addEventListener('nodeflight:token', showToken);
showToken();

connectLive(onSnapshot, showLiveState);
void settings.load();
