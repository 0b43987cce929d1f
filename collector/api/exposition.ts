// The three exposition formats /metrics speaks, over one model of families and samples:
//   - text 0.0.4: classic buckets and summaries, what every Prometheus reads;
//   - OpenMetrics 1.0 text: the same plus an exemplar on each classic bucket;
//   - protobuf (delimited io.prometheus.client.MetricFamily, metrics.proto): the classic
//     buckets with their exemplars plus the native buckets, the only format of the three
//     that carries native histograms.
// Each metric is serialized on its own ("pieces"), so a scrape can be built a slice at a
// time and a route's pieces cached until its counts change (metrics.ts).
import protobuf from 'protobufjs';
import { METRICS_PROTO } from './metrics-proto.js';
import { SCHEMA, ZERO_THRESHOLD, type NativeBuckets } from '../stats/native-histogram.js';

export type Labels = ReadonlyArray<readonly [name: string, value: string]>;
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface FamilyHead {
  /** As in text 0.0.4: a counter's name ends in _total. */
  name: string;
  type: MetricType;
  help: string;
}

export interface ExemplarSample {
  labels: Labels;
  value: number;
  timestampMs: number;
}

export interface BucketSample {
  /** Upper bound, seconds; the last bucket is +Inf. */
  le: number;
  cumulative: number;
  exemplar: ExemplarSample | null;
}

export interface HistogramSample {
  count: number;
  sum: number;
  buckets: BucketSample[];
  native: NativeBuckets | null;
  zeroCount: number;
}

export interface SummarySample {
  count: number;
  sum: number;
  quantiles: ReadonlyArray<readonly [q: number, value: number]>;
}

export interface Format<P> {
  readonly name: 'text' | 'openmetrics' | 'protobuf';
  readonly contentType: string;
  head(f: FamilyHead): P;
  scalar(f: FamilyHead, labels: Labels, value: number): P;
  histogram(f: FamilyHead, labels: Labels, h: HistogramSample): P;
  summary(f: FamilyHead, labels: Labels, s: SummarySample): P;
  /** A whole family from its head and its metrics' pieces. */
  family(head: P, metrics: P[]): P[];
  body(families: P[][]): Buffer;
}

/** Prometheus' limit on an exemplar's label names and values together, in characters. */
export const EXEMPLAR_LABEL_BUDGET = 128;

/** Text HELP: backslash and line feed escaped. */
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
/** Label values (and OpenMetrics HELP): the double quote too. */
const escapeLabel = (v: string): string => escapeHelp(v).replace(/"/g, '\\"');
const num = (v: number): string => (v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

function labelText(labels: Labels, extra?: readonly [string, string]): string {
  let s = '';
  for (const [k, v] of labels) s += `${s === '' ? '' : ','}${k}="${escapeLabel(v)}"`;
  if (extra !== undefined) s += `${s === '' ? '' : ','}${extra[0]}="${escapeLabel(extra[1])}"`;
  return s === '' ? '' : `{${s}}`;
}

const EOF = Buffer.from('# EOF\n');

// Pieces are bytes, made within the slice that renders them: one string joined from a
// scrape's pieces would be flattened all at once when written (measured: 60-110 ms for
// 1,000 routes, BENCHMARKS.md).
function textFormat(openMetrics: boolean): Format<Buffer> {
  const exemplar = (e: ExemplarSample | null): string =>
    openMetrics && e !== null ? ` # ${labelText(e.labels) || '{}'} ${num(e.value)} ${e.timestampMs / 1000}` : '';
  return {
    name: openMetrics ? 'openmetrics' : 'text',
    contentType: openMetrics ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain; version=0.0.4; charset=utf-8',
    head({ name, type, help }) {
      // OpenMetrics names a counter family without the _total of its sample, and escapes quotes in HELP.
      const family = openMetrics && type === 'counter' ? name.replace(/_total$/, '') : name;
      const text = openMetrics ? escapeLabel(help) : escapeHelp(help);
      return Buffer.from(`# HELP ${family} ${text}\n# TYPE ${family} ${type}\n`);
    },
    scalar: (f, labels, value) => Buffer.from(`${f.name}${labelText(labels)} ${num(value)}\n`),
    histogram(f, labels, h) {
      let s = '';
      for (const b of h.buckets) s += `${f.name}_bucket${labelText(labels, ['le', num(b.le)])} ${b.cumulative}${exemplar(b.exemplar)}\n`;
      return Buffer.from(`${s}${f.name}_sum${labelText(labels)} ${num(h.sum)}\n${f.name}_count${labelText(labels)} ${h.count}\n`);
    },
    summary(f, labels, s) {
      let out = '';
      for (const [q, v] of s.quantiles) out += `${f.name}${labelText(labels, ['quantile', String(q)])} ${num(v)}\n`;
      return Buffer.from(`${out}${f.name}_sum${labelText(labels)} ${num(s.sum)}\n${f.name}_count${labelText(labels)} ${s.count}\n`);
    },
    family: (head, metrics) => [head, ...metrics],
    body: (families) => Buffer.concat(openMetrics ? [...families.flat(), EOF] : families.flat()),
  };
}

export const TEXT = textFormat(false);
export const OPENMETRICS = textFormat(true);

// metrics.proto imports google/protobuf/timestamp.proto, which protobufjs ships.
const root = new protobuf.Root().addJSON(protobuf.common.get('google/protobuf/timestamp.proto')!.nested!).addJSON(METRICS_PROTO.nested);
const MetricFamily = root.lookupType('io.prometheus.client.MetricFamily');
const TYPES: Record<MetricType, number> = { counter: 0, gauge: 1, summary: 2, histogram: 4 };

const labelPairs = (labels: Labels) => labels.map(([name, value]) => ({ name, value }));

function exemplarMessage(e: ExemplarSample) {
  const seconds = Math.floor(e.timestampMs / 1000);
  return { label: labelPairs(e.labels), value: e.value, timestamp: { seconds, nanos: Math.round((e.timestampMs - seconds * 1000) * 1e6) } };
}

// A metric is encoded as a MetricFamily holding only it: concatenated encodings of one
// message merge (repeated fields append), so head + metrics is the family.
const metricPiece = (metric: object): Uint8Array => MetricFamily.encode({ metric: [metric] }).finish();

export const PROTOBUF: Format<Uint8Array> = {
  name: 'protobuf',
  contentType: 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
  head: ({ name, type, help }) => MetricFamily.encode({ name, help, type: TYPES[type] }).finish(),
  scalar: (f, labels, value) => metricPiece({ label: labelPairs(labels), [f.type === 'counter' ? 'counter' : 'gauge']: { value } }),
  histogram(_f, labels, h) {
    const histogram: Record<string, unknown> = {
      sampleCount: h.count,
      sampleSum: h.sum,
      bucket: h.buckets.map((b) => ({ cumulativeCount: b.cumulative, upperBound: b.le, ...(b.exemplar ? { exemplar: exemplarMessage(b.exemplar) } : {}) })),
    };
    if (h.native !== null) {
      // A histogram with no bucket yet still reads as native thanks to the threshold.
      Object.assign(histogram, { schema: SCHEMA, zeroThreshold: ZERO_THRESHOLD, zeroCount: h.zeroCount, positiveSpan: h.native.spans, positiveDelta: h.native.deltas });
    }
    return metricPiece({ label: labelPairs(labels), histogram });
  },
  summary: (_f, labels, s) =>
    metricPiece({ label: labelPairs(labels), summary: { sampleCount: s.count, sampleSum: s.sum, quantile: s.quantiles.map(([quantile, value]) => ({ quantile, value })) } }),
  family(head, metrics) {
    let length = head.length;
    for (const m of metrics) length += m.length;
    return [protobuf.Writer.create().uint32(length).finish(), head, ...metrics];
  },
  body: (families) => Buffer.concat(families.flat()),
};

interface MediaRange { type: string; params: Map<string, string>; q: number }

function parseAccept(header: string): MediaRange[] {
  return header.split(',').map((part) => {
    const [type = '', ...rest] = part.split(';').map((s) => s.trim());
    const params = new Map<string, string>();
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
    }
    const q = Number(params.get('q') ?? 1);
    return { type: type.toLowerCase(), params, q: Number.isFinite(q) ? q : 0 };
  });
}

function formatOf(r: MediaRange): Format<unknown> | null {
  if (r.type === 'application/vnd.google.protobuf') {
    return r.params.get('proto') === 'io.prometheus.client.MetricFamily' && r.params.get('encoding') === 'delimited' ? PROTOBUF : null;
  }
  if (r.type === 'application/openmetrics-text') {
    const v = r.params.get('version');
    return v === undefined || v === '1.0.0' || v === '0.0.1' ? OPENMETRICS : null;
  }
  return r.type === 'text/plain' || r.type === 'text/*' || r.type === '*/*' ? TEXT : null;
}

/**
 * The format a scraper's Accept header asks for: the acceptable range with the highest
 * q, the first listed on a tie. Text 0.0.4 without a header or when nothing listed is
 * spoken here, as Prometheus' own client libraries do.
 */
export function negotiate(accept: string | undefined): Format<unknown> {
  let best: { f: Format<unknown>; q: number } | null = null;
  for (const r of parseAccept(accept ?? '')) {
    const f = formatOf(r);
    if (f === null || r.q <= 0) continue;
    if (best === null || r.q > best.q) best = { f, q: r.q };
  }
  return best?.f ?? TEXT;
}

/** `labels` cut to fit EXEMPLAR_LABEL_BUDGET, values shortened from the end, whole code points. */
export function fitExemplarLabels(labels: Array<[string, string]>): Labels {
  let used = 0;
  for (const [k, v] of labels) used += [...k].length + [...v].length;
  for (let i = labels.length - 1; i >= 0 && used > EXEMPLAR_LABEL_BUDGET; i--) {
    const chars = [...labels[i]![1]];
    const cut = Math.min(chars.length, used - EXEMPLAR_LABEL_BUDGET);
    labels[i]![1] = chars.slice(0, chars.length - cut).join('');
    used -= cut;
  }
  return labels;
}
