// Outbound HTTP: undici's channels (which Node's bundled undici, behind the global
// `fetch`, publishes on too: both reach node:diagnostics_channel, which dc-polyfill
// hands back on every supported line) and node:http's client channels. Two families,
// so that a failure in one leaves the other on.
import { channels } from '../channels.js';
import type { ClientRequestLike, OutboundRecorder, UndiciRequest } from '../outbound.js';
import { createFamily, enable, guarded, type HookFamily } from './guard.js';

interface UndiciMessage { request: UndiciRequest; response?: { statusCode: number }; error?: unknown }
interface HttpClientMessage { request: ClientRequestLike; response?: { statusCode?: number }; error?: unknown }

export function hookOutbound(recorder: OutboundRecorder, onError: () => void): HookFamily[] {
  const undici = createFamily('undici');
  undici.subscriptions.push(
    // An upgrade (a WebSocket handshake) ends in onUpgrade, which publishes nothing: not a call to time.
    [channels.undiciRequestCreate, guarded<UndiciMessage>(undici, onError, (m) => { if (!m.request.upgrade) recorder.start(m.request); })],
    [channels.undiciRequestHeaders, guarded<UndiciMessage>(undici, onError, (m) => recorder.undiciHeaders(m.request, m.response!.statusCode))],
    [channels.undiciRequestError, guarded<UndiciMessage>(undici, onError, (m) => recorder.undiciError(m.request, m.error))],
  );
  const http = createFamily('http-client');
  http.subscriptions.push(
    [channels.httpClientRequestStart, guarded<HttpClientMessage>(http, onError, (m) => recorder.start(m.request))],
    [channels.httpClientResponseFinish, guarded<HttpClientMessage>(http, onError, (m) => recorder.httpResponse(m.request, m.response!.statusCode ?? 0))],
    // Node 20.18+, 22 and 24 publish it; where it is missing, the flush sweep records the call.
    [channels.httpClientRequestError, guarded<HttpClientMessage>(http, onError, (m) => recorder.httpError(m.request, m.error))],
  );
  enable(undici);
  enable(http);
  return [undici, http];
}
