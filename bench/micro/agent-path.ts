// (a) The agent's per-request path through the real diagnostics channels Node's HTTP
// server publishes to: `http.server.request.start` then `http.server.response.finish`,
// each message allocated per publish as Node does, with pooled request/response objects
// carrying what the recorder reads. The `node-objects` pair makes a new IncomingMessage
// and ServerResponse per request instead, as Node's server does: the agent's share is
// `agent-node-objects` less `node-objects` (the objects' creation and an empty subscriber). Requests open and finish 32 at a time, so the
// in-flight table holds several at once. Every case checks that the agent recorded
// exactly the requests published: a subscriber that is not wired fails the case.
import dc from 'node:diagnostics_channel';
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { startAgent, type Agent } from '../../agent/agent.js';
import { readConfig } from '../../agent/config.js';
import { floorCase, runCase, summarizeRounds, timeRounds, type CaseOptions, type Result } from './timing.js';

const start = dc.channel('http.server.request.start');
const finish = dc.channel('http.server.response.finish');

class FakeRoute {
  constructor(readonly path: string) {}
}

class FakeReq {
  method: string;
  route: FakeRoute | undefined = undefined;
  baseUrl = '';
  constructor(readonly url: string, method: string) {
    this.method = method;
  }
}

class FakeRes {
  statusCode = 200;
  destroyed = false;
  writableFinished = true;
  _contentLength: number | null = 1043;
}

const POOL = 256;
const CONCURRENT = 32;
const socket = {};
const server = {};

function pool(urlOf: (i: number) => string): { reqs: FakeReq[]; ress: FakeRes[] } {
  const reqs: FakeReq[] = [];
  const ress: FakeRes[] = [];
  for (let i = 0; i < POOL; i++) {
    reqs.push(new FakeReq(urlOf(i), i % 16 === 0 ? 'POST' : 'GET'));
    const res = new FakeRes();
    res.statusCode = i % 50 === 0 ? 404 : 200;
    ress.push(res);
  }
  return { reqs, ress };
}

// A realistic mix: product pages with a query, user orders, and a health check.
const mixedUrl = (i: number): string => {
  if (i % 8 === 7) return '/health';
  if (i % 4 === 3) return `/api/users/${i * 7}/orders`;
  return `/api/products/${1000 + (i % 64)}?fields=all&limit=12`;
};

/** Publishes `ops` requests (start, then finish, CONCURRENT at a time) on the real channels. */
function publisher(reqs: FakeReq[], ress: FakeRes[]): (ops: number) => void {
  let next = 0;
  return (ops: number) => {
    for (let done = 0; done < ops; done += CONCURRENT) {
      const base = next;
      for (let j = 0; j < CONCURRENT; j++) {
        const k = (base + j) & (POOL - 1);
        start.publish({ request: reqs[k], response: ress[k], socket, server });
      }
      for (let j = 0; j < CONCURRENT; j++) {
        const k = (base + j) & (POOL - 1);
        finish.publish({ request: reqs[k], response: ress[k], socket, server });
      }
      next = (base + CONCURRENT) & (POOL - 1);
    }
  };
}

/**
 * As `publisher`, with a new IncomingMessage and ServerResponse per request (a fresh
 * object of Node's own classes, as its server makes them, instead of a pooled one).
 */
function nodePublisher(urlOf: (i: number) => string): (ops: number) => void {
  const urls = Array.from({ length: POOL }, (_, i) => urlOf(i));
  const reqs = new Array<IncomingMessage>(CONCURRENT);
  const ress = new Array<ServerResponse & { _contentLength?: number }>(CONCURRENT);
  let next = 0;
  return (ops: number) => {
    for (let done = 0; done < ops; done += CONCURRENT) {
      for (let j = 0; j < CONCURRENT; j++) {
        const req = new IncomingMessage(null as unknown as Socket);
        req.url = urls[next++ & (POOL - 1)]!;
        req.method = 'GET';
        const res = new ServerResponse(req);
        reqs[j] = req;
        ress[j] = res;
        start.publish({ request: req, response: res, socket, server });
      }
      for (let j = 0; j < CONCURRENT; j++) {
        ress[j]!._contentLength = 1043;
        finish.publish({ request: reqs[j], response: ress[j], socket, server });
      }
    }
  };
}

const OPS = 320_000;
const opsOf = (o: CaseOptions): number => Math.max(CONCURRENT, Math.round((OPS * o.scale) / CONCURRENT) * CONCURRENT);

async function agentCase(name: string, o: CaseOptions, env: Record<string, string>, urlOf: (i: number) => string, routed: boolean, nodeObjects = false): Promise<Result> {
  const agent: Agent = startAgent(readConfig(env));
  try {
    const { reqs, ress } = pool(urlOf);
    if (routed) {
      const routes = [new FakeRoute('/:id'), new FakeRoute('/:id/orders'), new FakeRoute('/')];
      reqs.forEach((r, i) => {
        r.route = routes[i % 3];
        r.baseUrl = i % 3 === 1 ? '/api/users' : '/api/products';
      });
    }
    const ops = opsOf(o);
    const before = agent.counters();
    const rounds = await timeRounds(nodeObjects ? nodePublisher(urlOf) : publisher(reqs, ress), ops, o);
    const after = agent.counters();
    const published = ops * (o.warmup + o.rounds);
    const seen = after.recorded + after.filtered - before.recorded - before.filtered;
    if (seen !== published || after.hookErrors !== 0) {
      throw new Error(`${name}: the agent saw ${seen} of ${published} requests (hook errors ${after.hookErrors}): it is not wired to the channels`);
    }
    return summarizeRounds(name, 'request', rounds, ops, { recorded: after.recorded - before.recorded, filtered: after.filtered - before.filtered, routes: agent.recorder.routes.constructor.name });
  } finally {
    agent.stop();
  }
}


const cases = {
  /** The floor: the two monotonic clock reads every timed request needs. */
  async clock(o: CaseOptions): Promise<Result> {
    let sink = 0;
    const ops = Math.round(1_000_000 * o.scale);
    const rounds = await timeRounds((n) => {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        sink += performance.now() - t0;
      }
    }, ops, o);
    return summarizeRounds('clock', 'request', rounds, ops, { sink: sink > -1 });
  },

  /** The channel floor: Node's message objects and dispatch to a subscriber that does nothing. */
  'empty-subscriber': (o: CaseOptions) => {
    const { reqs, ress } = pool(mixedUrl);
    return floorCase('empty-subscriber', 'request', o, opsOf(o), start, finish, publisher(reqs, ress));
  },

  /** The floor of the pair below: new IncomingMessage and ServerResponse objects per request, an empty subscriber. */
  'node-objects': (o: CaseOptions) => floorCase('node-objects', 'request', o, opsOf(o), start, finish, nodePublisher(mixedUrl)),

  /** The agent, default settings, on Node's own request and response objects made per request. */
  'agent-node-objects': (o: CaseOptions) => agentCase('agent-node-objects', o, {}, mixedUrl, false, true),

  /** The agent with its default settings (every request recorded). */
  'agent-default': (o: CaseOptions) => agentCase('agent-default', o, {}, mixedUrl, false),

  /** With a path filter: the path is cut from its query and matched; 3 in 4 match. */
  'agent-path-filter': (o: CaseOptions) => agentCase('agent-path-filter', o, { NODEFLIGHT_PATH_FILTER: '/api/products/.*|/health' }, mixedUrl, false),

  /** An Express app: the route is named from req.baseUrl + req.route.path at finish. */
  'agent-express-route': (o: CaseOptions) => agentCase('agent-express-route', o, {}, mixedUrl, true),

  // The stall watchdog off and on, with no stall (a 10 s threshold no round reaches): what
  // its heartbeat timer and thread take from the request path.
  'agent-stall-watch-off': (o: CaseOptions) => agentCase('agent-stall-watch-off', o, { NODEFLIGHT_STALL_MS: '10000' }, mixedUrl, false),
  'agent-stall-stacks': (o: CaseOptions) => agentCase('agent-stall-stacks', o, { NODEFLIGHT_STALL_MS: '10000', NODEFLIGHT_STALL_STACKS: '1' }, mixedUrl, false),
};

await runCase(cases);
