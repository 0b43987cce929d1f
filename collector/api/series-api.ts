// The REST endpoints of the agents' series (protocol/series.ts), on the API's router:
//
//   GET /v1/outbound?service=&window=             outbound calls per (service, method, origin)
//   GET /v1/outbound/:id?window=                  one, with its percentile distribution, HDR and intervals
//   GET /v1/agents/:id/runtime?window=            the agent's runtime samples and pauses, oldest first
//   GET /v1/agents/:id/context?from=&to=          everything on the agent's time line in [from, to]
//   GET /v1/events/context?service=&route=&minMs=&limit=
//                                                 the newest request events, each with what overlapped it
import type { AgentRegistry } from '../ingest/agents.js';
import type { Aggregator } from '../stats/aggregator.js';
import { contextOf } from '../stats/context.js';
import { parseInteger, parseMilliseconds, parseText, parseWindow, readQuery } from '../http/query.js';
import { HttpError, json, type Reply } from '../http/respond.js';
import { MAX_WINDOW_MS, type RouteStats } from '../stats/route-stats.js';
import { routeDetailJson, routeJson } from './route-view.js';
import type { Router, Params } from '../http/router.js';
import type { GoneAgents } from '../ingest/gone-agents.js';
import type { SeriesStore } from '../stats/series-store.js';
import type { Timeline } from '../stats/timeline.js';

type Handler = (params: Params, query: URLSearchParams) => Reply;

export interface SeriesApiDeps {
  agg: Aggregator;
  agents: AgentRegistry;
  series: SeriesStore;
  clock: () => number;
  /** How gone agents ended: their runtime window ends then. */
  gone?: GoneAgents;
}

/** The longest time line a query may span: what an agent's time line can hold. */
const MAX_SPAN_MS = 3_600_000;
const CONTEXT_LIMIT = { default: 20, max: 200 };

export function addSeriesRoutes(router: Router<Handler>, deps: SeriesApiDeps): void {
  const { agg, agents, series, clock } = deps;
  const out = series.outbound;

  function outboundJson(r: RouteStats, now: number, windowMs: number | undefined) {
    const { route, status, aborted: _aborted, ...rest } = routeJson(out, r, now, windowMs);
    // Status 0 (no response) is what the server routes count as `unknown`.
    const { unknown = 0, ...classes } = status;
    return { ...rest, origin: route, status: classes, errors: unknown, errorCodes: series.errorsOf(r.id) };
  }

  /** The agent's time line (undefined when its series are off or sent nothing yet) and who it is; 404 when neither side knows it. */
  function agentOf(id: string): { t: Timeline | undefined; agent: { agentId: string; service: string; connected: boolean } } {
    const t = series.timeline(id);
    const a = agents.list().find((x) => x.id === id);
    if (t === undefined && a === undefined) throw new HttpError(404, `no agent with id ${JSON.stringify(id)}`);
    return { t, agent: { agentId: id, service: a?.service ?? t!.service, connected: a !== undefined && a.link !== null } };
  }

  router
    .get('/outbound', (_p, q) => {
      const { service, window } = readQuery(q, ['service', 'window']);
      const windowMs = parseWindow(window, MAX_WINDOW_MS);
      const now = clock();
      const list = out.list(parseText('service', service)).map((r) => outboundJson(r, now, windowMs));
      return json({ outbound: list.filter((r) => r.count > 0) });
    })
    .get('/outbound/:id', (p, q) => {
      const { window } = readQuery(q, ['window']);
      const windowMs = parseWindow(window, MAX_WINDOW_MS);
      const r = out.get(p.id!);
      if (r === undefined) throw new HttpError(404, `no outbound route with id ${JSON.stringify(p.id)}`);
      const now = clock();
      const { histogram, hdr, intervals } = routeDetailJson(out, r, now, windowMs);
      return json({ ...outboundJson(r, now, windowMs), histogram, hdr, intervals });
    })
    .get('/agents/:id/runtime', (p, q) => {
      const { window } = readQuery(q, ['window']);
      const windowMs = parseWindow(window, MAX_SPAN_MS) ?? MAX_SPAN_MS;
      deps.gone?.expire(clock());
      const { t, agent } = agentOf(p.id!);
      // A gone agent's window is its last minutes: it ends with its last sample (its own clock).
      const ended = agent.connected ? null : deps.gone?.get(agent.agentId) ?? null;
      const since = (ended === null ? clock() : t?.lastSample()?.time ?? ended.at) - windowMs;
      const counts = (k: 'outbound' | 'runtime' | 'pauses') => ({ ...(t?.reported?.[k] ?? { recorded: 0, dropped: 0 }), received: t?.received[k] ?? 0 });
      return json({
        ...agent,
        ended,
        latest: t?.lastSample() ?? null,
        samples: t?.samplesBetween(since, Infinity) ?? [],
        pauses: t?.pausesBetween(since, Infinity) ?? [],
        streams: { outbound: counts('outbound'), runtime: counts('runtime'), pauses: counts('pauses') },
      });
    })
    .get('/agents/:id/context', (p, q) => {
      const f = readQuery(q, ['from', 'to']);
      const from = parseMilliseconds('from', f.from);
      const to = parseMilliseconds('to', f.to);
      if (from === undefined || to === undefined) throw new HttpError(400, 'from and to are required: wall-clock times in ms since the epoch');
      if (!(to >= from)) throw new HttpError(400, `to (${to}) must not be before from (${from})`);
      if (to - from > MAX_SPAN_MS) throw new HttpError(400, `from and to may be at most ${MAX_SPAN_MS / 60_000} minutes apart`);
      const { t, agent } = agentOf(p.id!);
      const requests = agg.recent.query({ limit: Number.MAX_SAFE_INTEGER })
        .filter((e) => e.agentId === p.id && e.start <= to && e.start + e.durationMs >= from)
        .reverse();
      return json({
        ...agent,
        from,
        to,
        requests,
        pauses: t?.pausesBetween(from, to) ?? [],
        outbound: t?.outboundBetween(from, to) ?? [],
        samples: t?.samplesBetween(from, to) ?? [],
      });
    })
    .get('/events/context', (_p, q) => {
      const f = readQuery(q, ['service', 'route', 'minMs', 'limit']);
      const events = agg.recent.query({
        service: parseText('service', f.service),
        route: parseText('route', f.route),
        minMs: parseMilliseconds('minMs', f.minMs),
        limit: parseInteger('limit', f.limit, 1, CONTEXT_LIMIT.max) ?? CONTEXT_LIMIT.default,
      });
      return json({ events: events.map((e) => ({ ...e, context: contextOf(series.timeline(e.agentId), e.start, e.durationMs) })) });
    });
}
