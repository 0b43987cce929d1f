// The agent's outbound recorder on the real channels, in-process: a hostile request
// object cannot throw into the application, a full ring drops the oldest calls and
// counts them, and a call that ends without a response or an error is swept up.
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { test } from 'node:test';
import { readConfig } from '../agent/config.js';
import { disable } from '../agent/hooks/guard.js';
import { startSeries, type AgentSeries } from '../agent/series.js';

const create = dc.channel('undici:request:create');
const headers = dc.channel('undici:request:headers');
const httpStart = dc.channel('http.client.request.start');
const httpFinish = dc.channel('http.client.response.finish');

function outboundOnly(env: Record<string, string> = {}): { series: AgentSeries; errors: () => number; stop(): void } {
  let errors = 0;
  const series = startSeries(readConfig({ NODEFLIGHT_RUNTIME_PERIOD_MS: '0', NODEFLIGHT_GC: '0', NODEFLIGHT_STALL_MS: '0', ...env }), () => { errors++; })!;
  return { series, errors: () => errors, stop: () => series.hooks.forEach(disable) };
}

const clientRequest = (path: string) => ({ protocol: 'http:', host: 'db', method: 'GET', path, destroyed: false, getHeader: () => 'db:5984' });

test('a request object that throws is one hook error; that family goes off, the other records on', () => {
  const { series, errors, stop } = outboundOnly();
  try {
    const hostile = { origin: 'http://a:1', method: 'GET', get path(): string { throw new Error('boom from a path getter'); } };
    create.publish({ request: hostile });
    assert.doesNotThrow(() => headers.publish({ request: hostile, response: { statusCode: 200 } }));
    assert.equal(errors(), 1);
    assert.deepEqual(series.hooks.map((h) => [h.name, h.active]), [['undici', false], ['http-client', true]]);
    const req = clientRequest('/ok');
    httpStart.publish({ request: req });
    httpFinish.publish({ request: req, response: { statusCode: 204 } });
    const o = series.take().outbound!;
    assert.equal(o.count, 1);
    assert.equal(o.strings[o.origin[0]!], 'http://db:5984');
    assert.equal(o.status[0], 204);
  } finally {
    stop();
  }
});

test('a full outbound ring overwrites the oldest unsent calls and counts them as dropped', () => {
  // NODEFLIGHT_BUFFER_EVENTS=64: the outbound ring holds a quarter, 16 calls.
  const { series, stop } = outboundOnly({ NODEFLIGHT_BUFFER_EVENTS: '64' });
  try {
    for (let i = 0; i < 40; i++) {
      const req = clientRequest(`/n/${i}`);
      httpStart.publish({ request: req });
      httpFinish.publish({ request: req, response: { statusCode: 200 } });
    }
    assert.deepEqual(series.counters().outbound, { recorded: 40, dropped: 24 });
    const o = series.take().outbound!;
    assert.equal(o.count, 16);
    assert.equal(o.strings[o.path[0]!], '/n/24', 'the newest 16 are kept');
    assert.deepEqual(series.take().streams!.outbound, { recorded: 40, dropped: 24 });
  } finally {
    stop();
  }
});

test('upgrades: an undici one is not timed, a node:http one is swept up as 101', () => {
  const { series, stop } = outboundOnly();
  try {
    const ws = { origin: 'http://a:1', method: 'GET', path: '/socket', upgrade: 'websocket' };
    create.publish({ request: ws });
    const req = { ...clientRequest('/ws'), upgradeOrConnect: false };
    httpStart.publish({ request: req });
    req.upgradeOrConnect = true;
    series.sweep();
    const o = series.take().outbound!;
    assert.deepEqual([o.count, o.strings[o.path[0]!], o.status[0], o.strings[o.error[0]!]], [1, '/ws', 101, '']);
    assert.equal(series.outbound!.inflight.size, 0);
  } finally {
    stop();
  }
});

test('a call destroyed without a response or an error is recorded by the sweep as ABORTED', () => {
  const { series, stop } = outboundOnly();
  try {
    const req = clientRequest('/gone?x=1');
    httpStart.publish({ request: req });
    series.sweep();
    assert.equal(series.take().outbound, undefined, 'still in flight: not recorded');
    req.destroyed = true;
    series.sweep();
    const o = series.take().outbound!;
    assert.deepEqual([o.count, o.strings[o.path[0]!], o.status[0], o.strings[o.error[0]!]], [1, '/gone', 0, 'ABORTED']);
    // A finish published after the sweep finds nothing to record twice.
    httpFinish.publish({ request: req, response: { statusCode: 200 } });
    assert.equal(series.take().outbound, undefined);
  } finally {
    stop();
  }
});
