import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { readConfig } from '../agent/config.js';
import { agentSettings, liveSettingKeys, validateLiveValue, type SettingSpec } from '../protocol/settings.js';
import { cleanEnv, repoRoot } from './helpers/service-process.js';

test('every setting of the declared table is read from its variable', () => {
  const c = readConfig({
    NODEFLIGHT_COLLECTOR: 'http://127.0.0.1:9/', NODEFLIGHT_TOKEN: 't', NODEFLIGHT_SERVICE: 'svc', NODEFLIGHT_PATH_FILTER: '/api/.*',
    NODEFLIGHT_THRESHOLD_MS: '2.5', NODEFLIGHT_SAMPLE_RATE: '0.5', NODEFLIGHT_HTTP_SERVER: '0', NODEFLIGHT_ROUTES: '/a/:id, /b/*',
    NODEFLIGHT_BUFFER_EVENTS: '1000', NODEFLIGHT_FLUSH_MS: '100', NODEFLIGHT_DUMP: '/tmp/x.nfr', NODEFLIGHT_DISABLED: '0',
    NODEFLIGHT_MAX_AGE_MS: '60000', NODEFLIGHT_DUMP_SIGNAL: 'SIGUSR2',
    NODEFLIGHT_HTTP_CLIENT: '0', NODEFLIGHT_RUNTIME_PERIOD_MS: '0', NODEFLIGHT_GC: '0', NODEFLIGHT_STALL_MS: '100',
    NODEFLIGHT_STALL_STACKS: '1',
    NODEFLIGHT_PING_TIMEOUT_MS: '1500', NODEFLIGHT_CA: '/nonexistent/ca.pem',
  });
  assert.deepEqual(c, {
    collector: 'ws://127.0.0.1:9', token: 't', ca: undefined, pingTimeoutMs: 1500, service: 'svc', routes: ['/a/:id', '/b/*'], bufferEvents: 1024, flushMs: 100,
    dump: '/tmp/x.nfr', maxAgeMs: 60000, dumpSignal: 'SIGUSR2', disabled: false, live: { pathFilter: '/api/.*', thresholdMs: 2.5, sampleRate: 0.5, httpServer: false },
    httpClient: false, runtimePeriodMs: 0, gcEvents: false, stallMs: 100, stallStacks: true,
  });
  assert.equal(Object.keys(agentSettings).length, 21, 'a new setting needs a line in this test and in the README');
});

test('a bad value is one [nodeflight] line on stderr and the default is used; the app still runs', () => {
  const r = spawnSync(process.execPath, ['--import', 'nodeflight/agent', '-e', 'console.log("app ran")'], {
    cwd: repoRoot,
    env: cleanEnv({ NODEFLIGHT_BUFFER_EVENTS: 'lots', NODEFLIGHT_PATH_FILTER: '/api/(', NODEFLIGHT_COLLECTOR: 'ftp://x', NODEFLIGHT_TOKEN: 'secret-token' }),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 'app ran\n');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 3, r.stderr);
  for (const l of lines) assert.match(l, /^\[nodeflight\] NODEFLIGHT_\w+ .*using the default/);
  assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  assert.ok(!r.stderr.includes('secret-token'));
});

test('an empty environment gives every default of the declared table', () => {
  assert.deepEqual(readConfig({}), {
    collector: undefined, token: undefined, ca: undefined, pingTimeoutMs: 20000, service: undefined, routes: [], bufferEvents: 65536, flushMs: 250,
    dump: undefined, maxAgeMs: 900000, dumpSignal: undefined, disabled: false,
    live: { pathFilter: '.*', thresholdMs: 0, sampleRate: 1, httpServer: true },
    httpClient: true, runtimePeriodMs: 1000, gcEvents: true, stallMs: 50, stallStacks: false,
  });
});

test('a live setting accepts the same values from the collector as from its variable', () => {
  for (const key of liveSettingKeys) {
    const spec: SettingSpec<unknown> = agentSettings[key];
    for (const v of [-1, 0, 0.5, 1, 2, 3_600_000, 3_600_001, Number.NaN, true, false, '.*', '/api/(', '(a+)+']) {
      // As text, true and false are the variable's words for 1 and 0; JSON keeps the type.
      const text = typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
      const fromEnv = 'value' in spec.parse(text) && typeof (spec.parse(text) as { value: unknown }).value === typeof v;
      assert.equal(validateLiveValue(key, v) === null, fromEnv, `${key} = ${JSON.stringify(v)}: ${validateLiveValue(key, v)}`);
    }
  }
  assert.match(validateLiveValue('colour', 1)!, /^unknown setting "colour"; known settings are pathFilter, /);
});
