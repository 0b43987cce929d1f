// The live dashboard's files: GET / (the page) and /dashboard/* (its ES modules and
// styles from collector/dashboard/, and uPlot from node_modules). No build step: the
// browser loads the modules as they are in the repo.
//
// Only names in the asset table are served, and the table is made from a listing of
// one folder, so no part of a request path ever reaches the file system: `..`,
// encoded slashes or absolute paths name no asset and get a 404 JSON like any other
// unknown path. Files are read once and kept (about 200 KB with uPlot).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorReply, send } from '../http/respond.js';

/** The source folder, also shipped in the package (package.json "files"); this module runs from dist/collector/api/. */
const FOLDER = fileURLToPath(new URL('../../../collector/dashboard/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The page loads nothing but its own origin: scripts and styles from these files, data
 * from the REST API and the live stream. uPlot styles its elements through the CSSOM
 * (element.style), which style-src does not govern, so no 'unsafe-inline' is needed.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  headers: Record<string, string>;
}

let table: Map<string, Asset> | undefined;

function asset(file: string, extra: Record<string, string> = {}): Asset | undefined {
  const ext = /\.[a-z]+$/.exec(file)?.[0] ?? '';
  const type = TYPES[ext];
  if (type === undefined) return undefined;
  const body = readFileSync(file);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, type, etag, headers: extra };
}

function buildTable(): Map<string, Asset> {
  const t = new Map<string, Asset>();
  for (const name of readdirSync(FOLDER)) {
    const a = asset(join(FOLDER, name), name === 'index.html' ? PAGE_HEADERS : {});
    if (a !== undefined) t.set(`/dashboard/${name}`, a);
  }
  const index = t.get('/dashboard/index.html');
  if (index !== undefined) {
    t.set('/', index);
    t.set('/dashboard', index);
    t.set('/dashboard/', index);
  }
  // Resolved as Node resolves the package, so a hoisted or nested install both work.
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'));
  for (const name of ['uPlot.esm.js', 'uPlot.min.css']) t.set(`/dashboard/vendor/${name}`, asset(join(uplot, name))!);
  return t;
}

/** Answers every GET or HEAD for `/`, `/dashboard` and `/dashboard/*`: the file, a 304, or a 404 JSON. */
export function serveDashboard(req: IncomingMessage, res: ServerResponse): boolean {
  table ??= buildTable();
  // The API parsed this target already; WHATWG parsing also resolves `..` and `%2e%2e`.
  const { pathname } = new URL(req.url ?? '/', 'http://collector');
  const a = table.get(pathname);
  if (a === undefined) {
    send(res, errorReply(404, [`no dashboard file ${JSON.stringify(pathname)}`]));
    return true;
  }
  // The names carry no content hash, so browsers revalidate every load (no-cache) and
  // get a 304 without a body while the file is unchanged.
  const headers = { ...a.headers, etag: a.etag, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
  const known = req.headers['if-none-match'];
  if (known?.split(/\s*,\s*/).includes(a.etag)) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  res.writeHead(200, { ...headers, 'content-type': a.type, 'content-length': a.body.length });
  res.end(a.body);
  return true;
}
