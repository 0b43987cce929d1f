// Every diagnostics channel the agent subscribes to, declared in one place.
// Channel objects are held here for the life of the process: on some Node lines a
// channel with subscribers but no strong reference can be collected, and its
// subscriptions with it.
import dc from 'dc-polyfill';

export const channelNames = {
  httpServerRequestStart: 'http.server.request.start',
  httpServerResponseFinish: 'http.server.response.finish',
  /** Fastify 5 publishes the matched route here before the handler runs. */
  fastifyHandlerStart: 'tracing:fastify.request.handler:start',
  /** Outbound calls (hooks/outbound.ts): undici, and the global fetch through Node's bundled undici. */
  undiciRequestCreate: 'undici:request:create',
  undiciRequestHeaders: 'undici:request:headers',
  undiciRequestError: 'undici:request:error',
  httpClientRequestStart: 'http.client.request.start',
  httpClientResponseFinish: 'http.client.response.finish',
  httpClientRequestError: 'http.client.request.error',
} as const;

export type ChannelKey = keyof typeof channelNames;

export const channels: { [K in ChannelKey]: dc.Channel } = {
  httpServerRequestStart: dc.channel(channelNames.httpServerRequestStart),
  httpServerResponseFinish: dc.channel(channelNames.httpServerResponseFinish),
  fastifyHandlerStart: dc.channel(channelNames.fastifyHandlerStart),
  undiciRequestCreate: dc.channel(channelNames.undiciRequestCreate),
  undiciRequestHeaders: dc.channel(channelNames.undiciRequestHeaders),
  undiciRequestError: dc.channel(channelNames.undiciRequestError),
  httpClientRequestStart: dc.channel(channelNames.httpClientRequestStart),
  httpClientResponseFinish: dc.channel(channelNames.httpClientResponseFinish),
  httpClientRequestError: dc.channel(channelNames.httpClientRequestError),
};
