// The naive recorder, loaded with `--import` (bench:instructions): what the agent's
// per-request work costs at the least -- both server channels, two performance.now(),
// a symbol on the request, a typed-array ring of start and duration, the URL kept --
// without route ids, filters, aborts or accounting.
import { performance } from 'node:perf_hooks';
import dc from 'dc-polyfill';

const SIZE = 4096;
const startedAt = new Float64Array(SIZE);
const durations = new Float64Array(SIZE);
const urls = new Array(SIZE).fill('');
const startKey = Symbol('naive.start');
let recorded = 0;

const start = dc.channel('http.server.request.start');
const finish = dc.channel('http.server.response.finish');
start.subscribe((message) => {
  message.request[startKey] = performance.now();
});
finish.subscribe((message) => {
  const i = recorded++ & (SIZE - 1);
  const t0 = message.request[startKey];
  startedAt[i] = t0;
  durations[i] = performance.now() - t0;
  urls[i] = message.request.url;
});

globalThis[Symbol.for('nodeflight.bench.naive')] = () => ({ recorded });
