// Each Node internal the agent relies on (agent/node-internals.ts), exercised for real on
// the Node line running the suite: a rename or a change of meaning fails here first.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { responseBodySize, SOCKET_REQUESTS, STDIO_HANDLES } from '../agent/node-internals.js';
import { repoRoot } from './helpers/service-process.js';

test('responseBodySize: the length of a body sent in one piece, -1 for a streamed one', async (t) => {
  const sizes: Record<string, number> = {};
  const server = createServer((req, res) => {
    res.on('finish', () => { sizes[req.url!] = responseBodySize(res as ServerResponse); });
    if (req.url === '/whole') res.end('hello, world');
    else if (req.url === '/empty') res.end();
    else { res.write('a'); res.end('b'); }
  }).listen(0, '127.0.0.1');
  t.after(() => server.close());
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const path of ['/whole', '/empty', '/streamed']) await (await request(base + path)).body.text();
  assert.deepEqual(sizes, { '/whole': 12, '/empty': 0, '/streamed': -1 });
});

function node(args: string[], stdin: 'pipe' | 'ignore' = 'ignore'): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(args[0]!, args.slice(1), { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    if (stdin === 'ignore') child.stdin!.end();
  });
}

test('the resource names of a client socket\'s requests are the ones the transport counts as its own', async (t) => {
  // A server that reads slowly, so that the client's writes stay pending for a while.
  const server = createTcpServer((s) => { s.pause(); setTimeout(() => s.resume(), 50); }).listen(0, '127.0.0.1');
  t.after(() => server.close());
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  const seen = JSON.parse(await node([process.execPath, join(repoRoot, 'test/fixtures/socket-requests.mjs'), String(port)])) as string[];
  const unknown = seen.filter((n) => !SOCKET_REQUESTS.has(n) && !STDIO_HANDLES.has(n));
  assert.deepEqual(unknown, [], `Node ${process.version} names a client socket's resources ${JSON.stringify(seen)}`);
  // Node 20 lists the socket's close as CloseReq; later lines list nothing for it.
  const expected = [...SOCKET_REQUESTS].filter((n) => n !== 'CloseReq' || process.versions.node.startsWith('20.'));
  assert.deepEqual(expected.filter((n) => !seen.includes(n)), [], `every name counted as the socket's occurs: ${JSON.stringify(seen)}`);
});

test('stdin read from a pipe and from a terminal is listed under the stdio handle names', async () => {
  const script = 'process.stdin.on("data", () => {}); process.stdout.write(JSON.stringify(process.getActiveResourcesInfo())); process.exit(0)';
  const piped = JSON.parse(await node([process.execPath, '-e', script], 'pipe')) as string[];
  assert.ok(piped.includes('PipeWrap'), JSON.stringify(piped));
  // script(1) runs the command on a pseudo-terminal.
  const out = await node(['script', '-qec', `${JSON.stringify(process.execPath)} -e '${script}'`, '/dev/null']);
  const tty = JSON.parse(out.slice(out.indexOf('['))) as string[];
  assert.ok(tty.includes('TTYWrap'), JSON.stringify(tty));
  assert.deepEqual([...STDIO_HANDLES].sort(), ['PipeWrap', 'TTYWrap']);
});
