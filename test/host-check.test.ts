// The Host check against DNS rebinding (collector/http/host-check.ts), name by name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHostCheck } from '../collector/http/host-check.js';

test('loopback names, IP addresses, the bound name and --allowed-hosts pass; other names are refused', () => {
  const check = createHostCheck('flight.internal', ['dash.example', '.corp.example']);
  for (const host of [undefined, '', 'localhost', 'LOCALHOST:8081', 'app.localhost:3000', '127.0.0.1:8081', '10.1.2.3', '[::1]:8081',
    'flight.internal:8081', 'flight.internal.', 'dash.example', 'corp.example', 'a.b.corp.example:443']) {
    assert.equal(check(host), null, `${host} should pass`);
  }
  for (const host of ['evil.test:8081', 'localhost.evil.test', 'dash.example.evil.test', 'xcorp.example', '127.0.0.1.nip.io']) {
    const why = check(host);
    assert.ok(why !== null, `${host} should be refused`);
    const name = host.replace(/:\d+$/, '');
    assert.equal(why, `Host ${JSON.stringify(host)} is not allowed: this collector answers to loopback names and IP addresses. ` +
      `To reach it by this name, start it with --allowed-hosts ${name}`);
  }
  for (const host of ['evil test', 'a@b', 'x:y:z', '[zz]:1', 'host:123456']) assert.match(check(host)!, /^malformed Host header/);
});

test('`*` in --allowed-hosts lets every name through', () => {
  assert.equal(createHostCheck('127.0.0.1', ['*'])('anything.example'), null);
});
