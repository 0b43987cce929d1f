// The REST endpoints that control agents, which read request bodies and so answer
// asynchronously (the read-only API in handler.ts answers synchronously):
//
//   GET/PUT  /v1/settings[?service=S]     collector defaults, or one service's settings
//   GET/PUT  /v1/agents/:id/settings      one agent's overrides and its settings state
//   POST     /v1/recordings               { agentId?, service?, lastMs? } -> 202 { request-id }
//   GET      /v1/recordings/:id           { status: { id }, operation? }
//   GET      /v1/recordings/:id/file      the .nfr file
//
// handler.ts has already checked the token (every method but GET/HEAD needs it) and a
// declared Content-Length against the body limit. A PUT is validated whole before
// anything changes: every problem is listed in one 400.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { LiveSettings } from '../../protocol/messages.js';
import { defaultLiveSettings } from '../../protocol/settings.js';
import type { AgentState } from '../ingest/agents.js';
import { objectBody, readJsonBody } from '../http/body.js';
import { inScope, type Control } from '../control/control.js';
import { readQuery } from '../http/query.js';
import { MAX_IN_PROGRESS, type Operation } from '../control/recordings.js';
import { errorReply, HttpError, json, send, type Reply } from '../http/respond.js';
import { Router, type Params } from '../http/router.js';
import { LimitError, MAX_SERVICE_NAME, patchErrors, type Scope } from '../control/settings-store.js';

type Handler = (params: Params, query: URLSearchParams, req: IncomingMessage, res: ServerResponse) => Reply | null | Promise<Reply | null>;

/** The longest dump window a request may ask for: 30 days. */
const MAX_LAST_MS = 30 * 86_400_000;

export interface ControlApi {
  /** Answers the request and returns true when it is one of these endpoints. */
  serve(method: string, path: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): boolean;
}

/**
 * A page may send a text/plain, form or bodiless request anywhere without a CORS
 * preflight, but never one with this type: so no page can change state it cannot read.
 */
function requireJson(method: string, req: IncomingMessage): void {
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    const got = type === undefined ? 'none' : JSON.stringify(type);
    throw new HttpError(415, `${method} requests need Content-Type: application/json, got ${got}`);
  }
}

export function createControlApi(control: Control): ControlApi {
  const { agents, store, recordings } = control;

  function agentSettingsJson(a: AgentState) {
    return {
      id: a.id,
      service: a.service,
      connected: a.link !== null,
      /** What the collector asks it to run; null: nothing, it runs its own settings. */
      requested: a.requested,
      acknowledged: { version: a.settingsVersion, settings: a.settings },
      rejected: a.settingsRejected,
      /** This agent's own overrides. */
      set: store.agents.get(a.id)?.set ?? {},
    };
  }

  function agentsIn(scope: Scope) {
    return agents.list().filter((a) => inScope(a, scope)).sort((a, b) => (a.id < b.id ? -1 : 1)).map(agentSettingsJson);
  }

  function serviceName(raw: string | undefined): string | undefined {
    if (raw === undefined) return undefined;
    if (raw.trim() === '' || raw.length > MAX_SERVICE_NAME) throw new HttpError(400, `service must be 1 to ${MAX_SERVICE_NAME} characters`);
    return raw;
  }

  function settingsJson(service: string | undefined) {
    const withDefaults: LiveSettings = { ...defaultLiveSettings, ...store.defaults.set };
    if (service === undefined) {
      return {
        settings: withDefaults,
        set: store.defaults.set,
        version: store.defaults.version,
        latestVersion: store.latestVersion,
        services: Object.fromEntries([...store.services].sort(([a], [b]) => (a < b ? -1 : 1))),
        agents: agentsIn({ kind: 'defaults' }),
      };
    }
    const layer = store.services.get(service);
    return {
      service,
      settings: { ...withDefaults, ...layer?.set },
      set: layer?.set ?? {},
      version: layer?.version ?? 0,
      latestVersion: store.latestVersion,
      agents: agentsIn({ kind: 'service', service }),
    };
  }

  function knownAgent(id: string): AgentState {
    const a = agents.get(id);
    if (a === undefined) throw new HttpError(404, `no agent with id ${JSON.stringify(id)}`);
    return a;
  }

  async function put(scope: Scope, req: IncomingMessage): Promise<{ version: number; sentTo: string[] } | Reply> {
    const body = await readJsonBody(req);
    const errors = patchErrors(body);
    if (errors.length > 0) return errorReply(400, errors);
    try {
      return await control.changeSettings(scope, body as Record<string, unknown>);
    } catch (err) {
      if (err instanceof LimitError) throw new HttpError(409, err.message);
      throw err;
    }
  }

  const router = new Router<Handler>()
    .get('/settings', (_p, q) => json(settingsJson(serviceName(readQuery(q, ['service']).service))))
    .put('/settings', async (_p, q, req) => {
      const service = serviceName(readQuery(q, ['service']).service);
      const done = await put(service === undefined ? { kind: 'defaults' } : { kind: 'service', service }, req);
      return 'status' in done ? done : json({ ...settingsJson(service), sentTo: done.sentTo });
    })
    .get('/agents/:id/settings', (p, q) => {
      readQuery(q, []);
      return json(agentSettingsJson(knownAgent(p.id!)));
    })
    .put('/agents/:id/settings', async (p, q, req) => {
      readQuery(q, []);
      const agent = knownAgent(p.id!);
      const done = await put({ kind: 'agent', agentId: agent.id }, req);
      return 'status' in done ? done : json({ ...agentSettingsJson(agent), sentTo: done.sentTo });
    })
    .post('/recordings', async (_p, q, req) => {
      readQuery(q, []);
      return startRecording(await readJsonBody(req));
    })
    .get('/recordings/:id', (p, q) => {
      readQuery(q, []);
      return json(operationJson(operation(p.id!)));
    })
    .get('/recordings/:id/file', (p, q, req, res) => {
      readQuery(q, []);
      return download(operation(p.id!), req, res);
    });

  function startRecording(raw: unknown): Reply {
    const body = objectBody(raw ?? {}, '{"service": "checkout", "lastMs": 60000}');
    const errors: string[] = [];
    for (const [k, v] of Object.entries(body)) {
      if (k === 'agentId' || k === 'service') {
        if (typeof v !== 'string' || v === '' || v.length > 256) errors.push(`${k} must be a string of 1 to 256 characters`);
      } else if (k === 'lastMs') {
        if (!(typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_LAST_MS)) errors.push(`lastMs must be an integer from 0 (everything held) to ${MAX_LAST_MS}`);
      } else {
        errors.push(`unknown field ${JSON.stringify(k)}; a recording request takes agentId, service, lastMs`);
      }
    }
    if (errors.length > 0) return errorReply(400, errors);
    const { agentId, service } = body as { agentId?: string; service?: string };
    const lastMs = (body.lastMs as number | undefined) ?? 0;

    const what = [agentId === undefined ? '' : `agent ${JSON.stringify(agentId)}`, service === undefined ? '' : `service ${JSON.stringify(service)}`].filter(Boolean).join(' of ') || 'agent';
    const matching = agents.list().filter((a) => (agentId === undefined || a.id === agentId) && (service === undefined || a.service === service));
    if (matching.length === 0) throw new HttpError(404, `this collector knows no ${what}`);
    const connected = matching.filter((a) => a.link !== null);
    if (connected.length === 0) throw new HttpError(409, `no ${what} is connected now; a recording is dumped from connected agents only`);
    if (recordings.inProgress >= MAX_IN_PROGRESS) throw new HttpError(409, `${MAX_IN_PROGRESS} recordings are in progress; ask again when one has finished`);
    const op = recordings.start(connected, lastMs, (a, m) => control.send(a, m));
    return { ...json({ 'request-id': op.id }, 202), headers: { location: `/v1/recordings/${op.id}` } };
  }

  function operation(id: string): Operation {
    const op = recordings.get(id);
    if (op === undefined) throw new HttpError(404, `no recording ${JSON.stringify(id)}; finished recordings are kept for a limited time`);
    return op;
  }

  function operationJson(op: Operation) {
    const status = { id: op.status };
    if (op.status === 'IN_PROGRESS') return { status };
    if (op.status === 'FAILED') return { status, operation: { 'failure-cause': op.failureCause } };
    return { status, operation: { location: op.location, events: op.events, bytes: op.bytes, agents: op.agentIds } };
  }

  async function download(op: Operation, req: IncomingMessage, res: ServerResponse): Promise<null> {
    if (op.status === 'IN_PROGRESS') throw new HttpError(409, `recording ${op.id} is still in progress`);
    if (op.status === 'FAILED') throw new HttpError(409, `recording ${op.id} failed and has no file: ${op.failureCause}`);
    const file = op.location!;
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch {
      throw new HttpError(404, `the file of recording ${op.id} is gone from ${file}`);
    }
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': size,
      'content-disposition': `attachment; filename="${op.id}.nfr"`,
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') res.end();
    else await pipeline(createReadStream(file), res);
    return null;
  }

  function fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HttpError) return send(res, errorReply(err.status, [err.message], err.headers));
    process.stderr.write(`[nodeflight] collector: ${(err as Error).stack ?? String(err)}\n`);
    send(res, errorReply(500, ['internal error; the collector logged it']));
  }

  return {
    serve(method, path, query, req, res) {
      const match = router.match(method, path);
      if (match === null) return false;
      let result: ReturnType<Handler>;
      try {
        if (method !== 'GET' && method !== 'HEAD') requireJson(method, req);
        result = match.handler(match.params, query, req, res);
      } catch (err) {
        result = Promise.reject(err);
      }
      Promise.resolve(result).then((reply) => {
        if (reply !== null) send(res, reply);
      }, (err) => fail(res, err));
      return true;
    },
  };
}
