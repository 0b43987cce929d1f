// The per-route table the demo prints, from the collector's /v1/routes answer.
export interface RouteRow {
  service: string;
  method: string;
  route: string;
  count: number;
  rate: { m1: number };
  status: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
}

const columns: Array<[string, number, (r: RouteRow) => string]> = [
  ['METHOD', 7, (r) => r.method],
  ['ROUTE', 24, (r) => r.route],
  ['COUNT', 7, (r) => String(r.count)],
  ['RATE/s', 7, (r) => r.rate.m1.toFixed(1)],
  ['ERR%', 6, (r) => (r.count ? (100 * (r.status['5xx'] ?? 0)) / r.count : 0).toFixed(1)],
  ['P50ms', 8, (r) => r.latencyMs.p50.toFixed(2)],
  ['P90ms', 8, (r) => r.latencyMs.p90.toFixed(2)],
  ['P99ms', 8, (r) => r.latencyMs.p99.toFixed(2)],
  ['P999ms', 8, (r) => r.latencyMs.p999.toFixed(2)],
  ['MAXms', 8, (r) => r.latencyMs.max.toFixed(2)],
];

export function formatRoutes(rows: RouteRow[]): string {
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(columns[i]![1]) : c.padStart(columns[i]![1]))).join(' ');
  const out = [line(columns.map(([h]) => h))];
  for (const r of rows) out.push(line(columns.map(([, , f]) => f(r))));
  return out.join('\n');
}
