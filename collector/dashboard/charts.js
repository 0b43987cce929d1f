// The two charts of the selected route, drawn by uPlot:
// - latency over time: p50, p99 and max of each 5-second interval the collector keeps
//   (GET /v1/routes/:id `intervals`, the last one still in progress);
// - the HDR percentile distribution (`histogram`), with the percentile on a log-scaled
//   1/(1-p) axis as HdrHistogram's plotter draws it, so 90%, 99%, 99.9% ... are evenly
//   spaced and the tail gets as much room as the body.
// Each chart element carries data-points (and data-events) so tests can see updates.
import uPlot from '/dashboard/vendor/uPlot.esm.js';
import * as fmt from './format.js';
/** @import { IntervalPoint, PercentilePoint } from './api-types.js' */

const HEIGHT = 240;
const COLORS = { p50: '#2f7d32', p99: '#d9822b', max: '#c62828', hdr: '#1f4e79' };

/** A series' legend value: milliseconds. @type {(u: uPlot, v: number | null) => string} */
export const msValue = (_u, v) => (v === null || v === undefined ? '–' : `${fmt.ms(v)} ms`);
/** @type {(u: uPlot, splits: number[]) => string[]} */
const msAxis = (_u, splits) => splits.map((v) => (v === 0 ? '0' : fmt.ms(v)));
/** An x axis in seconds, labelled hh:mm:ss. @type {(u: uPlot, splits: number[]) => string[]} */
export const timeAxis = (_u, splits) => splits.map((s) => fmt.clock(s * 1000).slice(0, 8));
/** A y range from 0 to a tenth over the largest value (1 when there is none). @type {uPlot.Range.Function} */
export const fromZero = (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1];

/**
 * Resizes a chart with its container's width, once a frame at most.
 * @param {HTMLElement} element
 * @param {uPlot} chart
 */
function fitWidth(element, chart) {
  let frame = 0;
  const observer = new ResizeObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      const width = Math.floor(element.clientWidth);
      if (width > 0 && width !== chart.width) chart.setSize({ width, height: HEIGHT });
    });
  });
  observer.observe(element);
  return observer;
}

export class Chart {
  /**
   * @param {HTMLElement} element
   * @param {Omit<uPlot.Options, 'width' | 'height'>} options
   */
  constructor(element, options) {
    this.element = element;
    this.options = options;
    /** @type {uPlot | null} Made with the first data, when the element has its width. */
    this.chart = null;
    /** @type {ResizeObserver | null} */
    this.observer = null;
  }

  /** @param {uPlot.AlignedData} data */
  setData(data) {
    if (this.chart === null) {
      const width = Math.max(200, Math.floor(this.element.clientWidth));
      this.chart = new uPlot({ ...this.options, width, height: HEIGHT }, data, this.element);
      this.observer = fitWidth(this.element, this.chart);
    } else {
      this.chart.setData(data);
    }
    this.element.dataset.points = String(data[0].length);
  }
}

export class LatencyChart extends Chart {
  /**
   * @param {HTMLElement} element
   * @param {uPlot.Plugin[]} plugins uPlot plugins drawn over it (runtime.js marks pauses).
   */
  constructor(element, plugins = []) {
    super(element, {
      plugins,
      series: [
        { label: 'interval', value: (_u, v) => (v === null || v === undefined ? '–' : fmt.clock(v * 1000).slice(0, 8)) },
        { label: 'p50', stroke: COLORS.p50, width: 2, value: msValue, spanGaps: false },
        { label: 'p99', stroke: COLORS.p99, width: 2, value: msValue, spanGaps: false },
        { label: 'max', stroke: COLORS.max, width: 1, dash: [4, 3], value: msValue, spanGaps: false },
      ],
      scales: { y: { range: fromZero } },
      // hh:mm:ss labels need about 70 px each.
      axes: [{ values: timeAxis, space: 80 }, { label: 'ms', values: msAxis, size: 56 }],
      cursor: { drag: { x: false, y: false } },
    });
  }

  /** @param {IntervalPoint[]} intervals Oldest first. */
  update(intervals) {
    const x = intervals.map((p) => p.start / 1000);
    this.setData([x, intervals.map((p) => p.p50), intervals.map((p) => p.p99), intervals.map((p) => p.max)]);
    this.element.dataset.events = String(intervals.reduce((n, p) => n + p.count, 0));
  }
}

/**
 * Powers of ten from 1 to past `max`: 0%, 90%, 99%, 99.9% ...
 * @param {number} max
 */
function decades(max) {
  const top = Math.max(1, Math.ceil(Math.log10(max)));
  return Array.from({ length: top + 1 }, (_, i) => 10 ** i);
}

export class PercentileChart extends Chart {
  /** @param {HTMLElement} element */
  constructor(element) {
    super(element, {
      series: [
        { label: 'percentile', value: (_u, v) => (v === null || v === undefined ? '–' : fmt.percentileOfX(v)) },
        { label: 'latency', stroke: COLORS.hdr, width: 2, fill: 'rgba(31, 78, 121, 0.08)', value: msValue, paths: uPlot.paths.stepped?.({ align: 1 }) },
      ],
      scales: {
        x: { time: false, distr: 3, log: 10, range: (_u, _min, max) => [1, decades(max).at(-1) ?? null] },
        y: { range: fromZero },
      },
      axes: [
        { splits: (u) => decades(u.scales.x.max ?? 10), values: (_u, splits) => splits.map(fmt.percentileOfX), label: 'percentile' },
        { label: 'ms', values: msAxis, size: 56 },
      ],
      cursor: { drag: { x: false, y: false } },
    });
  }

  /** @param {PercentilePoint[]} histogram Percentile ascending, ending at 100. */
  update(histogram) {
    /** @type {number[]} */
    const x = [];
    /** @type {number[]} */
    const y = [];
    for (const point of histogram) {
      let at;
      if (point.percentile < 100) at = 1 / (1 - point.percentile / 100);
      // 100% is infinitely far on this axis: put the maximum where its rank puts it
      // (1/(1-p) of the last value is the count), past the point before it.
      else at = Math.max(point.count, (x.at(-1) ?? 1) * 1.05);
      const last = x.at(-1);
      if (last !== undefined && at <= last) continue;
      x.push(at);
      y.push(point.valueMs);
    }
    this.setData([x, y]);
  }
}
