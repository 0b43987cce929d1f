// How numbers and times are shown. Latency is in milliseconds with microsecond
// resolution, so small values keep three decimals and large ones none.

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** @param {number | null | undefined} v */
export function ms(v) {
  if (v === null || v === undefined) return '–';
  if (v < 1) return v.toFixed(3);
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return grouped.format(v);
}

/** @param {number} n */
export function count(n) {
  return grouped.format(n);
}

/** @param {number} r */
export function rate(r) {
  if (r === 0) return '0';
  if (r < 10) return r.toFixed(2);
  if (r < 100) return r.toFixed(1);
  return grouped.format(r);
}

/** @param {number} s A fraction, 0..1. */
export function share(s) {
  if (s === 0) return '0%';
  if (s < 0.001) return '<0.1%';
  return `${(s * 100).toFixed(1)}%`;
}

const pad = (/** @type {number} */ n, w = 2) => String(n).padStart(w, '0');

/**
 * Local wall-clock time with milliseconds.
 * @param {number} epochMs
 */
export function clock(epochMs) {
  const d = new Date(epochMs);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** @param {number} msUp */
export function uptime(msUp) {
  const s = Math.floor(msUp / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/**
 * `1/(1-p)` back to a percentile label: 10 → 90%, 1000 → 99.9%.
 * @param {number} x
 */
export function percentileOfX(x) {
  const p = 100 - 100 / x;
  const digits = Math.max(0, Math.min(6, Math.ceil(Math.log10(x)) - 2));
  return `${Number(p.toFixed(digits))}%`;
}

/**
 * Creates an element with text and attributes; null, undefined and false leave an attribute out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | null | undefined>} [attrs]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  if (text !== undefined) e.textContent = text;
  return e;
}
