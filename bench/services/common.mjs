// Shared by every benchmark service: serve a handler on 127.0.0.1:0 and answer the
// harness over the IPC channel, so that measuring never goes through HTTP (no
// measurement request is timed, recorded, traced or counted by any variant).
//
//   harness -> { type: 'stats', id }   service -> { type: 'stats', id, cpu, rss, ... }
//
// `cpu` is process.cpuUsage() in µs, read inside the service: the harness takes one
// reading before and one after the timed window and divides by the requests served.
// The prom-client variant (BENCH_PROM=1) wraps the handler here because that is how it
// is used: a histogram timed in the handler, observed when the response finishes.
import http from 'node:http';
import v8 from 'node:v8';

const agentKey = Symbol.for('nodeflight.agent');
/** Preloads that count what they saw register a reader under one of these (see their files). */
const peerKeys = {
  otel: Symbol.for('nodeflight.bench.otel'),
  naive: Symbol.for('nodeflight.bench.naive'),
  empty: Symbol.for('nodeflight.bench.empty'),
};

/** What each variant's instrumentation has counted so far; the harness checks it is live. */
async function instrumentation(prom) {
  const agent = globalThis[agentKey];
  const out = {};
  if (agent !== undefined) out.nodeflight = typeof agent === 'object' ? agent.counters() : { off: true };
  for (const [name, key] of Object.entries(peerKeys)) if (globalThis[key] !== undefined) out[name] = globalThis[key]();
  if (prom !== null) out.prom = { observed: await prom.observed() };
  return out;
}

export async function serve(handler) {
  if (typeof process.send !== 'function') throw new Error('benchmark services run under the harness (an IPC channel is needed)');
  let prom = null;
  if (process.env.BENCH_PROM === '1') {
    const { withHistogram } = await import('./prom.mjs');
    prom = withHistogram(handler, process.env.BENCH_ROUTE ?? '/');
    handler = prom.handler;
  }
  const server = http.createServer(handler);
  process.on('message', (m) => {
    if (m?.type !== 'stats') return;
    const cpu = process.cpuUsage();
    const wallUs = Number(process.hrtime.bigint() / 1000n);
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    // V8 grows the young generation with the bytes that ever survived a scavenge, so a
    // bare service doubles it too, only later (see BENCHMARKS.md): reported apart.
    const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
    instrumentation(prom).then(
      (inst) => process.send({ type: 'stats', id: m.id, cpuUs: cpu.user + cpu.system, wallUs, rss, newSpace, heapUsed, external, arrayBuffers, inst }),
      (err) => process.send({ type: 'stats', id: m.id, error: String(err?.stack ?? err) }),
    );
  });
  // The harness going away (even killed) closes the channel: never outlive it.
  process.on('disconnect', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port, pid: process.pid }));
}

/** ~1 KB of JSON, built per request as a real handler would. */
export function product(id, fields, limit) {
  const items = [];
  for (let i = 0; i < limit; i++) items.push({ sku: `${id}-${i}`, name: `item ${i} of product ${id}`, price: 10 + i * 1.25, inStock: i % 3 !== 0 });
  return { id, fields, count: items.length, items, generatedAt: Date.now() };
}
