// A realistic node:http route: parse the URL and its query, route by path, and answer
// with ~1 KB of JSON built per request.
import { product, serve } from './common.mjs';

const prefix = '/api/products/';

await serve((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (!url.pathname.startsWith(prefix)) {
    res.writeHead(404, { 'content-type': 'application/json' });
    return void res.end('{"error":"not found"}');
  }
  const id = url.pathname.slice(prefix.length);
  const limit = Math.min(Number(url.searchParams.get('limit') ?? 12), 50);
  const body = JSON.stringify(product(id, url.searchParams.get('fields') ?? 'all', limit));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
