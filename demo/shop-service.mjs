// The demo's example service: a small shop API whose routes have different latency
// profiles, so that the per-route table has something to show. Plain node:http.
import http from 'node:http';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Log-normal-ish latency: mostly near `median`, with a tail.
const jitter = (median) => median * Math.exp(0.5 * (Math.random() + Math.random() + Math.random() - 1.5) * 2);

const routes = [
  [/^\/api\/products\/\d+$/, async () => { await sleep(jitter(3)); return [200, { name: 'widget', price: 12.5 }]; }],
  [/^\/api\/products$/, async () => { await sleep(jitter(12)); return [200, Array.from({ length: 20 }, (_, i) => ({ id: i }))]; }],
  [/^\/api\/search$/, async () => { await sleep(jitter(60) + (Math.random() < 0.02 ? 300 : 0)); return [200, { hits: 3 }]; }],
  [/^\/api\/orders\/\d+$/, async () => { await sleep(jitter(8)); return Math.random() < 0.05 ? [503, { error: 'inventory unavailable' }] : [200, { status: 'shipped' }]; }],
  [/^\/health$/, async () => [200, { ok: true }]],
];

const server = http.createServer(async (req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  const route = routes.find(([re]) => re.test(path));
  const [status, body] = route ? await route[1]() : [404, { error: 'not found' }];
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
});

server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
