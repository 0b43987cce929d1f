// HTTP server requests: node:http's own channels time every request, and framework
// channels (Fastify) tell which route matched. Express needs no channel: it leaves
// the matched Route on the request, which the recorder reads at finish.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { channels } from '../channels.js';
import { CLOCK_SAMPLE_AT, type CostMeter } from '../cost.js';
import { kRoute, type Recorder } from '../recorder.js';
import { createFamily, enable, guarded, type HookFamily } from './guard.js';

interface HttpMessage { request: IncomingMessage; response: ServerResponse }
interface FastifyHandlerMessage { request?: { raw?: object }; route?: { url?: unknown } }

export function hookHttpServer(recorder: Recorder, cost: CostMeter): HookFamily {
  const family = createFamily('http-server');
  const onError = () => { recorder.hookErrors++; };
  family.subscriptions.push(
    // A countdown picks the requests whose hook work is timed (cost.ts); timed or not,
    // the call is the same one, so the timing is of the code every request runs.
    [channels.httpServerRequestStart, guarded<HttpMessage>(family, onError, (m) => {
      const c = --cost.startCountdown;
      if (c === CLOCK_SAMPLE_AT) cost.clockStart(performance.now());
      const t0 = c === 0 ? performance.now() : 0;
      recorder.onStart(m.request, m.response);
      if (c === 0) cost.timedStart(t0);
    })],
    [channels.httpServerResponseFinish, guarded<HttpMessage>(family, onError, (m) => {
      const c = --cost.finishCountdown;
      if (c === CLOCK_SAMPLE_AT) cost.clockFinish(performance.now());
      const t0 = c === 0 ? performance.now() : 0;
      recorder.onFinish(m.request, m.response);
      if (c === 0) cost.timedFinish(t0);
    })],
    [channels.fastifyHandlerStart, guarded<FastifyHandlerMessage>(family, onError, (m) => {
      const raw = m.request?.raw as { [kRoute]?: number } | undefined;
      const url = m.route?.url;
      if (raw !== undefined && typeof url === 'string') raw[kRoute] = recorder.routes.frameworkId(url);
    })],
  );
  enable(family);
  return family;
}
