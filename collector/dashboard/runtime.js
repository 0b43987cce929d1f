// The runtime panel: one agent's last five minutes (GET /v1/agents/:id/runtime?window=5m)
// as two charts, the event loop (delay p99 and max, ms; utilisation, %) and memory (heap
// used and total, RSS, MB), and a line with the latest figures. The agent is one of the
// selected route's service (a select when it has several). Agents that are gone stay
// selectable while the collector keeps them: their last five minutes, how and when they
// ended, and the requests they had open.
//
// It also hands its pauses to the latency chart, which marks them (pauseMarks): garbage
// collections as ticks along the bottom, event-loop stalls as lines across, so a p99
// spike can be read against what the runtime did at that moment.
import { get } from './api.js';
import { agentLabel } from './agents.js';
import { Chart, fromZero, msValue, timeAxis } from './charts.js';
import * as fmt from './format.js';
import { openRequestsLine } from './inflight.js';
/** @import uPlot from '/dashboard/vendor/uPlot.esm.js' */
/** @import { AgentCost, AgentJson, Inflight, PauseRow, Runtime } from './api-types.js' */

/**
 * The latency chart's marks of pauses: its plugin, and set() to give it new pauses.
 * @typedef {{ plugin: uPlot.Plugin, set(next: PauseRow[]): void }} PauseMarks
 */

const COLORS = { p99: '#d9822b', max: '#c62828', elu: '#1f4e79', heap: '#2f7d32', heapTotal: '#8fbf91', rss: '#6a4c93', gc: 'rgba(217, 130, 43, 0.8)', stall: 'rgba(198, 40, 40, 0.4)' };
const mb = (/** @type {number} */ bytes) => bytes / 1048576;

class LoopChart extends Chart {
  /** @param {HTMLElement} element */
  constructor(element) {
    super(element, {
      series: [
        { label: 'time', value: (_u, v) => (v == null ? '–' : fmt.clock(v * 1000).slice(0, 8)) },
        { label: 'delay p99', stroke: COLORS.p99, width: 2, scale: 'ms', value: msValue },
        { label: 'delay max', stroke: COLORS.max, width: 1, dash: [4, 3], scale: 'ms', value: msValue },
        { label: 'utilisation', stroke: COLORS.elu, width: 1, scale: '%', value: (_u, v) => (v == null ? '–' : `${v.toFixed(1)}%`) },
      ],
      scales: { ms: { range: fromZero }, '%': { range: [0, 100] } },
      axes: [{ values: timeAxis, space: 80 }, { scale: 'ms', label: 'delay ms', size: 56 }, { scale: '%', label: 'utilisation %', side: 1, size: 48, grid: { show: false } }],
      cursor: { drag: { x: false, y: false } },
    });
  }
}

class MemoryChart extends Chart {
  /** @param {HTMLElement} element */
  constructor(element) {
    super(element, {
      series: [
        { label: 'time', value: (_u, v) => (v == null ? '–' : fmt.clock(v * 1000).slice(0, 8)) },
        { label: 'heap used', stroke: COLORS.heap, width: 2, value: (_u, v) => (v == null ? '–' : `${v.toFixed(1)} MB`) },
        { label: 'heap total', stroke: COLORS.heapTotal, width: 1, value: (_u, v) => (v == null ? '–' : `${v.toFixed(1)} MB`) },
        { label: 'RSS', stroke: COLORS.rss, width: 1, dash: [4, 3], value: (_u, v) => (v == null ? '–' : `${v.toFixed(1)} MB`) },
      ],
      scales: { y: { range: fromZero } },
      axes: [{ values: timeAxis, space: 80 }, { label: 'MB', size: 56 }],
      cursor: { drag: { x: false, y: false } },
    });
  }
}

/**
 * A uPlot plugin for a chart whose x is in seconds: draws `pauses` ({ start, durationMs,
 * kind }), GC as ticks along the bottom, stalls as lines across. set() redraws.
 * @returns {PauseMarks}
 */
export function pauseMarks() {
  /** @type {PauseRow[]} */
  let pauses = [];
  /** @type {uPlot | null} */
  let chart = null;
  /** @type {uPlot.Plugin} */
  const plugin = {
    hooks: {
      init: [(u) => { chart = u; }],
      draw: [(u) => {
        const { ctx, bbox } = u;
        // Before its first data a scale has no bounds: every pause is drawn, off the plot.
        const [from, to] = [u.scales.x.min ?? -Infinity, u.scales.x.max ?? Infinity];
        ctx.save();
        for (const p of pauses) {
          const t = p.start / 1000;
          if (t < from || t > to) continue;
          const x = Math.round(u.valToPos(t, 'x', true));
          const stall = p.kind === 'stall';
          ctx.strokeStyle = stall ? COLORS.stall : COLORS.gc;
          ctx.lineWidth = 1;
          ctx.beginPath();
          ctx.moveTo(x, bbox.top + bbox.height);
          ctx.lineTo(x, stall ? bbox.top : bbox.top + bbox.height - Math.min(24, 6 + p.durationMs)); // longer pauses, taller ticks
          ctx.stroke();
        }
        ctx.restore();
      }],
    },
  };
  return {
    plugin,
    set(next) {
      pauses = next;
      chart?.redraw(false, false);
    },
  };
}

/**
 * The agent's own cost as it reports it (/v1/agents `cost`), after the process's CPU.
 * @param {AgentCost | null | undefined} cost
 */
function recorderCost(cost) {
  if (!cost || cost.shareOfProcess === null) return '';
  // Per request only once a request's hooks were timed (1 in 256).
  const perRequest = cost.hookSamples > 0 ? `, ${(cost.nsPerRequest / 1000).toFixed(1)} µs a request` : '';
  return ` (the recorder: ${(cost.shareOfProcess * 100).toFixed(1)}% of it${perRequest})`;
}

export class RuntimePanel {
  /**
   * @param {{ select: HTMLSelectElement, loop: HTMLElement, memory: HTMLElement, summary: HTMLElement,
   *   empty: HTMLElement, gone: HTMLElement }} elements
   * @param {PauseMarks} marks
   */
  constructor({ select, loop, memory, summary, empty, gone }, marks) {
    this.select = select;
    this.gone = gone;
    this.summary = summary;
    this.empty = empty;
    this.loop = new LoopChart(loop);
    this.memory = new MemoryChart(memory);
    this.marks = marks;
    /** @type {string | null} */
    this.agentId = null;
    /** @type {Map<string, AgentJson>} The choices of the last choose(), by id. */
    this.agents = new Map();
    /** @type {(() => void) | null} Set by the page: the chosen agent changed. */
    this.onChange = null;
    select.addEventListener('change', () => {
      this.agentId = select.value || null;
      this.onChange?.();
    });
  }

  /**
   * Keeps the agent choice among the agents of `service` (all, when none is given): connected ones first, then gone ones.
   * @param {string} service
   * @param {AgentJson[]} agents
   */
  choose(service, agents) {
    // A disconnected agent is listed only with its end (`ended`), so the `?.` below never miss.
    const mine = agents.filter((a) => (a.connected || a.ended) && (!service || a.service === service));
    const gone = mine.filter((a) => !a.connected).sort((a, b) => (b.ended?.at ?? 0) - (a.ended?.at ?? 0));
    const candidates = [...mine.filter((a) => a.connected), ...gone];
    const ids = candidates.map((a) => a.id);
    this.agents = new Map(candidates.map((a) => [a.id, a]));
    // The same agents in the same order still need new options when one of them has gone.
    const key = candidates.map((a) => `${a.id}${a.connected ? '' : `:${a.ended?.reason}`}`).join(',');
    if (this.select.dataset.key !== key) {
      this.select.replaceChildren(...candidates.map((a) => fmt.el('option', { value: a.id, 'data-gone': a.connected ? undefined : a.ended?.reason },
        `${a.service} · ${agentLabel(a)}${a.connected || !a.ended ? '' : ` · gone (${a.ended.reason}, ${fmt.clock(a.ended.at).slice(0, 8)})`}`)));
      this.select.dataset.key = key;
    }
    if (this.agentId === null || !ids.includes(this.agentId)) this.agentId = ids[0] ?? null;
    this.select.value = this.agentId ?? '';
    this.select.disabled = ids.length < 2;
  }

  async refresh() {
    const id = this.agentId;
    if (id === null) {
      this.show(null, null);
      return;
    }
    const path = `/v1/agents/${encodeURIComponent(id)}`;
    const gone = this.agents.get(id)?.connected === false;
    const reads = await Promise.all([get(`${path}/runtime?window=5m`), gone ? get(`${path}/inflight`) : null]);
    const [rt, inflight] = /** @type {[Runtime, Inflight | null]} */ (reads);
    if (id === this.agentId) this.show(rt, inflight);
  }

  /**
   * For a gone agent: when and how it ended, and what it had open.
   * @param {Runtime | null} rt
   * @param {Inflight | null} inflight
   */
  showEnd(rt, inflight) {
    const end = rt?.ended;
    this.gone.hidden = !end;
    if (!end) return;
    this.gone.textContent = `Disconnected at ${fmt.clock(end.at)}: ${end.reason}${end.message ? ` (${end.message})` : ''}; ${openRequestsLine(inflight)}. Its last 5 minutes before that:`;
    this.gone.dataset.reason = end.reason;
  }

  /**
   * @param {Runtime | null} rt null: no agent to show.
   * @param {Inflight | null} inflight A gone agent's requests open at its end.
   */
  show(rt, inflight) {
    this.showEnd(rt, inflight);
    const samples = rt?.samples ?? [];
    this.empty.hidden = samples.length > 0;
    const x = samples.map((s) => s.time / 1000);
    this.loop.setData([x, samples.map((s) => s.loopDelayMs.p99), samples.map((s) => s.loopDelayMs.max), samples.map((s) => s.elu * 100)]);
    this.memory.setData([x, samples.map((s) => mb(s.heapUsedBytes)), samples.map((s) => mb(s.heapTotalBytes)), samples.map((s) => mb(s.rssBytes))]);
    const pauses = rt?.pauses ?? [];
    this.marks.set(pauses);
    const s = rt?.latest;
    if (!rt || !s) {
      this.summary.textContent = '';
      return;
    }
    const gc = pauses.filter((p) => p.kind.startsWith('gc'));
    const stalls = pauses.filter((p) => p.kind === 'stall');
    const cpu = ((s.cpuUserUs + s.cpuSystemUs) / 1000 / s.intervalMs) * 100;
    this.summary.textContent = `${rt.ended ? 'at its end' : 'now'}: heap ${mb(s.heapUsedBytes).toFixed(1)} of ${mb(s.heapTotalBytes).toFixed(1)} MB, RSS ${mb(s.rssBytes).toFixed(1)} MB, CPU ${cpu.toFixed(1)}%${recorderCost(this.agents?.get(rt.agentId)?.cost)}, loop delay p99 ${fmt.ms(s.loopDelayMs.p99)} ms · last 5 min: ${gc.length} GC pauses (${fmt.ms(gc.reduce((n, p) => n + p.durationMs, 0))} ms), ${stalls.length} stalls`;
    this.summary.dataset.samples = String(samples.length);
  }
}
