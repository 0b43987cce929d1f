export * from './messages.js';
export * from './settings.js';
export * from './path-filter.js';
export * from './validate.js';
export * from './streams.js';
export { createEncoder, createDecoder } from './codec.js';
export * from './stalls.js';
export * from './agent-cost.js';
export * from './inflight.js';
