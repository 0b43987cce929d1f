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
} as const;

export type ChannelKey = keyof typeof channelNames;

export const channels: { [K in ChannelKey]: dc.Channel } = {
  httpServerRequestStart: dc.channel(channelNames.httpServerRequestStart),
  httpServerResponseFinish: dc.channel(channelNames.httpServerResponseFinish),
  fastifyHandlerStart: dc.channel(channelNames.fastifyHandlerStart),
};
