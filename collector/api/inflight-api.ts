// The REST endpoints of the requests open now (inflight-store.ts), on the API's router:
//
//   GET /v1/inflight?service=&limit=     the connected agents' open requests, oldest first
//   GET /v1/agents/:id/inflight          one agent's, connected or gone (then: its last snapshot)
//
// Each request carries its route's p99 since start (null for a route with no finished
// request yet) and whether it is older than that: the stuck ones. A connected agent's
// ages are counted to now (its snapshot is a flush or two old, about 250 ms; `asOf` says when);
// a gone agent's to its last snapshot.
import type { AgentRegistry } from '../ingest/agents.js';
import { routeId, type Aggregator } from '../stats/aggregator.js';
import type { GoneAgents } from '../ingest/gone-agents.js';
import type { AgentInflight, InflightStore, OpenRequest } from '../stats/inflight-store.js';
import { parseInteger, parseText, readQuery } from '../http/query.js';
import { HttpError, json, type Reply } from '../http/respond.js';
import { routeJson } from './route-view.js';
import type { Params, Router } from '../http/router.js';

type Handler = (params: Params, query: URLSearchParams) => Reply;

export interface InflightApiDeps {
  agg: Aggregator;
  agents: AgentRegistry;
  inflight: InflightStore;
  gone: GoneAgents;
  clock: () => number;
}

const LIMIT = { default: 100, max: 1000 };
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export function addInflightRoutes(router: Router<Handler>, deps: InflightApiDeps): void {
  const { agg, agents, inflight, gone, clock } = deps;

  function p99Of(service: string, method: string, route: string, now: number): number | null {
    const r = agg.get(routeId(service, method, route));
    return r === undefined ? null : routeJson(agg, r, now, undefined).latencyMs?.p99 ?? null;
  }

  function rowJson(s: AgentInflight, q: OpenRequest, until: number, now: number) {
    const ageMs = round3(Math.max(q.ageMs, until - q.start));
    const routeP99Ms = p99Of(s.service, q.method, q.route, now);
    return {
      agentId: s.agentId, service: s.service, method: q.method, path: q.path, route: q.route, start: q.start, ageMs,
      routeP99Ms, overP99: routeP99Ms !== null && ageMs > routeP99Ms,
    };
  }

  function agentPart(s: AgentInflight, connected: boolean) {
    return { agentId: s.agentId, service: s.service, connected, asOf: s.time, open: s.open, listed: s.requests.length };
  }

  router
    .get('/inflight', (_p, q) => {
      const f = readQuery(q, ['service', 'limit']);
      const service = parseText('service', f.service);
      const limit = parseInteger('limit', f.limit, 1, LIMIT.max) ?? LIMIT.default;
      const now = clock();
      const shown = [];
      const rows = [];
      for (const a of agents.list()) {
        if (a.link === null || (service !== undefined && a.service !== service)) continue;
        const s = inflight.get(a.id);
        if (s === undefined) continue;
        shown.push(agentPart(s, true));
        for (const r of s.requests) rows.push({ s, r });
      }
      rows.sort((x, y) => x.r.start - y.r.start);
      const open = shown.reduce((n, a) => n + a.open, 0);
      const requests = rows.slice(0, limit).map(({ s, r }) => rowJson(s, r, now, now));
      return json({ time: now, open, agents: shown, requests });
    })
    .get('/agents/:id/inflight', (p, q) => {
      readQuery(q, []);
      const id = p.id!;
      const now = clock();
      gone.expire(now);
      const a = agents.get(id);
      if (a === undefined) throw new HttpError(404, `no agent with id ${JSON.stringify(id)}`);
      const connected = a.link !== null;
      const s = inflight.get(id);
      const ended = connected ? null : gone.get(id) ?? null;
      if (s === undefined) {
        return json({ agentId: id, service: a.service, connected, ended, asOf: null, open: 0, listed: 0, requests: [] });
      }
      const until = connected ? now : s.time;
      return json({ ...agentPart(s, connected), ended, requests: s.requests.map((r) => rowJson(s, r, until, now)) });
    });
}
