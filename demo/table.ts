// The per-route table the demo prints, from the collector's /v1/routes answer.
import { textTable } from '../cli/text-table.js';
import type { RouteJson } from '../collector/stats/route-json.js';

const ms = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(2));
const columns: Array<[string, number, (r: RouteJson) => string]> = [
  ['METHOD', 7, (r) => r.method],
  ['ROUTE', 24, (r) => r.route],
  ['COUNT', 7, (r) => String(r.count)],
  ['RATE/s', 7, (r) => r.rate.m1.toFixed(1)],
  ['ERR%', 6, (r) => (r.count ? (100 * (r.status['5xx'] ?? 0)) / r.count : 0).toFixed(1)],
  ['P50ms', 8, (r) => ms(r.latencyMs?.p50)],
  ['P90ms', 8, (r) => ms(r.latencyMs?.p90)],
  ['P99ms', 8, (r) => ms(r.latencyMs?.p99)],
  ['P999ms', 8, (r) => ms(r.latencyMs?.p999)],
  ['MAXms', 8, (r) => ms(r.latencyMs?.max)],
];

export function formatRoutes(rows: RouteJson[]): string {
  const body = rows.map((r) => columns.map(([, , cell]) => cell(r)));
  return textTable(columns.map(([h]) => h), body, { names: 2, minWidths: columns.map(([, w]) => w) }).join('\n');
}
