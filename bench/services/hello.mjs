// node:http hello world: the smallest handler, so the instrumentation's cost shows most.
import { serve } from './common.mjs';

await serve((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('hello world');
});
