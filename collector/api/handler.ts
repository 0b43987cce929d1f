// The REST API, modeled on Apache Flink's monitoring API: JSON in and out, every path
// under /v1/ (unversioned paths answer as v1), errors as {"errors": [...]} with a
// fitting status. Bad input is never a 500: each check throws an HttpError that says
// what was expected.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentRegistry, AgentState } from '../ingest/agents.js';
import type { Aggregator } from '../stats/aggregator.js';
import { authMessage, type TokenCheck } from '../http/auth.js';
import { MAX_BODY_BYTES } from '../http/body.js';
import type { ControlApi } from './control-api.js';
import { serveDashboard } from './dashboard.js';
import type { HostCheck } from '../http/host-check.js';
import type { Ingest } from '../ingest/ingest.js';
import { LiveFeed } from './live.js';
import { negotiate } from './exposition.js';
import { renderMetrics } from './metrics.js';
import { parseInteger, parseMilliseconds, parseText, parseWindow, readQuery } from '../http/query.js';
import { errorReply, HttpError, json, send, type Reply } from '../http/respond.js';
import { PACKAGE_VERSION } from '../../protocol/version.js';
import { MAX_WINDOW_MS } from '../stats/route-stats.js';
import { routeDetailJson, routeJson } from './route-view.js';
import { Router, stripVersion, type Params } from '../http/router.js';
import { addSeriesRoutes } from './series-api.js';
import type { SeriesStore } from '../stats/series-store.js';
import type { GoneAgents } from '../ingest/gone-agents.js';
import { addInflightRoutes } from './inflight-api.js';
import type { InflightStore } from '../stats/inflight-store.js';

const EVENTS_LIMIT = { default: 100, max: 1000 };
/** Methods that change nothing; any other needs the token when the collector has one. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface ApiDeps {
  agents: AgentRegistry;
  aggregator: Aggregator;
  ingest: Ingest;
  checkToken: TokenCheck;
  checkHost: HostCheck;
  clock: () => number;
  startedAt: number;
  /** Settings and recordings (control-api.ts). */
  control: ControlApi;
  /** Outbound calls, runtime samples and pauses (series-api.ts). */
  series?: SeriesStore;
  /** Requests open now (inflight-api.ts) and how gone agents ended. */
  inflight?: InflightStore;
  gone?: GoneAgents;
}

type Handler = (params: Params, query: URLSearchParams) => Reply;

function agentJson(a: AgentState, gone: GoneAgents | undefined) {
  return {
    id: a.id,
    service: a.service,
    host: a.host,
    pid: a.pid,
    nodeVersion: a.nodeVersion,
    agentVersion: a.agentVersion,
    startTime: a.startTime,
    connected: a.link !== null,
    connectedAt: a.connectedAt,
    lastSeenAt: a.lastSeenAt,
    settings: a.settings,
    settingsVersion: a.settingsVersion,
    counters: a.counters,
    received: a.received,
    lastSeq: a.lastSeq,
    cost: a.cost.json(),
    /** Like JFR's jdk.DataLoss: what the agent recorded and could not deliver, by stream. */
    dataLoss: { events: a.counters.dropped, ...a.streamsDropped, hookErrors: a.counters.hookErrors },
    /** When and how its connection ended (gone-agents.ts); null while connected. */
    ended: a.link === null ? gone?.get(a.id) ?? null : null,
  };
}

export function createApi(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { agents, aggregator: agg, clock } = deps;

  const router = new Router<Handler>()
    .get('/overview', (_p, q) => {
      readQuery(q, []);
      return json({
        agents: agents.size,
        connectedAgents: agents.connectedCount(),
        events: { received: agents.received, dropped: agents.droppedTotal() },
        uptimeMs: clock() - deps.startedAt,
        version: PACKAGE_VERSION,
        rejectedFrames: deps.ingest.rejectedFrames,
        routes: agg.routeCount,
        routesOverflowed: agg.overflowedEvents(),
        servicesOverflowed: agg.foldedServiceEvents(),
      });
    })
    .get('/agents', (_p, q) => {
      readQuery(q, []);
      deps.gone?.expire(clock());
      const list = agents.list().sort((a, b) => (a.service === b.service ? (a.id < b.id ? -1 : 1) : a.service < b.service ? -1 : 1));
      return json({ agents: list.map((a) => agentJson(a, deps.gone)) });
    })
    .get('/routes', (_p, q) => {
      const { service, window } = readQuery(q, ['service', 'window']);
      const windowMs = parseWindow(window, MAX_WINDOW_MS);
      const now = clock();
      const routes = agg.list(parseText('service', service)).map((r) => routeJson(agg, r, now, windowMs));
      return json({ routes: routes.filter((r) => r.count > 0) });
    })
    .get('/routes/:id', (p, q) => {
      const { window } = readQuery(q, ['window']);
      const windowMs = parseWindow(window, MAX_WINDOW_MS);
      const r = agg.get(p.id!);
      if (r === undefined) throw new HttpError(404, `no route with id ${JSON.stringify(p.id)}`);
      return json(routeDetailJson(agg, r, clock(), windowMs));
    })
    .get('/events', (_p, q) => {
      const f = readQuery(q, ['service', 'route', 'minMs', 'limit']);
      return json({
        events: agg.recent.query({
          service: parseText('service', f.service),
          route: parseText('route', f.route),
          minMs: parseMilliseconds('minMs', f.minMs),
          limit: parseInteger('limit', f.limit, 1, EVENTS_LIMIT.max) ?? EVENTS_LIMIT.default,
        }),
      });
    })
    .get('/ingest', () => {
      throw new HttpError(426, 'this is the agents\' WebSocket endpoint; connect with a WebSocket upgrade', { upgrade: 'websocket' });
    });
  if (deps.series !== undefined) addSeriesRoutes(router, { agg, agents, series: deps.series, clock, gone: deps.gone });
  if (deps.inflight !== undefined && deps.gone !== undefined) {
    addInflightRoutes(router, { agg, agents, inflight: deps.inflight, gone: deps.gone, clock });
  }

  // The dashboard's feed: the bodies of these three reads, as they would answer now.
  const read = (path: string): string => router.match('GET', path)!.handler({}, new URLSearchParams()).body;
  const live = new LiveFeed({ snapshot: () => `{"time":${clock()},"overview":${read('/overview')},"routes":${read('/routes')},"agents":${read('/agents')}}` });

  /** Rendered over several event-loop turns (metrics.ts), so it answers by itself. */
  function serveMetrics(req: IncomingMessage, res: ServerResponse): void {
    const format = negotiate(req.headers.accept);
    renderMetrics(format, { agg, agents, rejectedFrames: deps.ingest.rejectedFrames, now: clock(), series: deps.series, inflight: deps.inflight }).then(
      (body) => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': format.contentType, 'content-length': body.length, 'cache-control': 'no-store', vary: 'Accept' });
        res.end(body);
      },
      (err: unknown) => {
        process.stderr.write(`[nodeflight] collector: ${(err as Error).stack ?? String(err)}\n`);
        if (!res.headersSent && !res.destroyed) send(res, errorReply(500, ['internal error; the collector logged it']));
      },
    );
  }

  /** Returns null when the dashboard, the live feed or /metrics answered itself. */
  function handle(req: IncomingMessage, res: ServerResponse): Reply | null {
    const refused = deps.checkHost(req.headers.host);
    if (refused !== null) throw new HttpError(403, refused);
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://collector');
    } catch {
      throw new HttpError(400, `malformed request target ${JSON.stringify(req.url)}`);
    }
    const { pathname } = url;
    if ((method === 'GET' || method === 'HEAD') && (pathname === '/' || pathname === '/dashboard' || pathname.startsWith('/dashboard/'))) {
      if (serveDashboard(req, res)) return null;
      throw new HttpError(404, 'dashboard not built yet');
    }
    if (method === 'GET' && stripVersion(pathname) === '/live') {
      readQuery(url.searchParams, []);
      live.serve(req, res);
      return null;
    }
    if ((method === 'GET' || method === 'HEAD') && stripVersion(pathname) === '/metrics') {
      readQuery(url.searchParams, []);
      serveMetrics(req, res);
      return null;
    }
    // Refused before anything is read; closing the connection spares reading the body.
    if (Number(req.headers['content-length']) > MAX_BODY_BYTES) {
      throw new HttpError(413, `request body is larger than ${MAX_BODY_BYTES} bytes`, { connection: 'close' });
    }
    if (!SAFE_METHODS.has(method)) {
      const auth = deps.checkToken(req.headers.authorization);
      if (auth !== 'ok') throw new HttpError(401, authMessage(auth), { 'www-authenticate': 'Bearer' });
    }
    // Settings and recordings read bodies and answer by themselves, asynchronously.
    if (deps.control.serve(method, stripVersion(pathname), url.searchParams, req, res)) return null;
    const match = router.match(method, stripVersion(pathname));
    if (match === null) throw new HttpError(404, `no such endpoint: ${pathname}`);
    return match.handler(match.params, url.searchParams);
  }

  return (req, res) => {
    let reply: Reply | null;
    try {
      reply = handle(req, res);
    } catch (err) {
      if (err instanceof HttpError) {
        reply = errorReply(err.status, [err.message], err.headers);
      } else {
        process.stderr.write(`[nodeflight] collector: ${(err as Error).stack ?? String(err)}\n`);
        reply = errorReply(500, ['internal error; the collector logged it']);
      }
    }
    if (reply !== null) send(res, reply);
  };
}
