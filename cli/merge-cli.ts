// `nodeflight merge [--json] [--service S] [--window 5m] URL [URL ...]`: per-route counts
// and exact percentiles over several collectors, from their HDR histograms (merge.ts).
// A bad URL or an unreachable collector is one line on stderr and exit 1.
import { parseArgs } from 'node:util';
import { Output, showField } from './cli-support.js';
import { textTable } from './text-table.js';
import { collectorBase, fetchRoutes, MergeError, mergeRoutes, type MergedRoute } from './merge.js';

const USAGE = 'usage: nodeflight merge [--json] [--service S] [--window 5m] URL [URL ...]';

const PERCENTILES = [['p50', 'p50'], ['p90', 'p90'], ['p99', 'p99'], ['p99.9', 'p999']] as const;

function table(routes: MergedRoute[], collectors: number): string {
  if (routes.length === 0) return `No route has events on the ${collectors} collector(s).\n`;
  const head = ['service', 'method', 'route', 'count', '5xx', 'collectors', ...PERCENTILES.map(([label]) => label), 'max'];
  const body = routes.map((r) => [
    showField(r.service), showField(r.method), showField(r.route), String(r.count), String(r.status['5xx'] ?? 0), String(r.collectors),
    ...PERCENTILES.map(([, key]) => r.latencyMs[key].toFixed(3)),
    r.latencyMs.max.toFixed(3),
  ]);
  const title = `Routes over ${collectors} collector(s) (latency in ms, exact HDR merge)`;
  return [title, ...textTable(head, body, { names: 3 }), ''].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, service: { type: 'string' }, window: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`nodeflight merge: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) {
    process.stderr.write(`nodeflight merge: expected at least one collector URL\n${USAGE}\n`);
    return 2;
  }
  let bases: string[];
  try {
    bases = positionals.map(collectorBase);
    const twice = bases.find((b, i) => bases.indexOf(b) !== i);
    // The same collector twice would count its events twice.
    if (twice !== undefined) throw new MergeError(`${twice} is given twice`);
  } catch (err) {
    if (!(err instanceof MergeError)) throw err;
    process.stderr.write(`nodeflight merge: ${err.message}\n${USAGE}\n`);
    return 2;
  }

  let routes: MergedRoute[];
  try {
    const opts = { service: values.service, window: values.window };
    routes = mergeRoutes(await Promise.all(bases.map((b) => fetchRoutes(b, opts))));
  } catch (err) {
    if (!(err instanceof MergeError)) throw err;
    process.stderr.write(`nodeflight merge: ${err.message}\n`);
    return 1;
  }
  const out = new Output(process.stdout);
  await out.write(values.json ? `${JSON.stringify({ collectors: bases, routes }, null, 2)}\n` : table(routes, bases.length));
  return out.failure ? 1 : 0;
}
