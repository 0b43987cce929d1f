import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_ROUTES, normalizePath, OTHER_ROUTE, RouteNames } from '../agent/route-names.js';

test('id-like segments become placeholders', () => {
  assert.equal(normalizePath('/orders/17'), '/orders/:id');
  assert.equal(normalizePath('/orders/18/items/3'), '/orders/:id/items/:id');
  assert.equal(normalizePath('/u/3f2504e0-4f89-11d3-9a0c-0305e82c3301'), '/u/:uuid');
  assert.equal(normalizePath('/obj/507f1f77bcf86cd799439011'), '/obj/:hex');
  assert.equal(normalizePath('/t/eyJhbGciOiJIUzI1NiJ9abc123xyz'), '/t/:token');
  assert.equal(normalizePath('/users/alice/profile'), '/users/alice/profile');
  assert.equal(normalizePath('/'), '/');
  assert.equal(normalizePath('/v2/health'), '/v2/health');
});

test('templates win over framework routes, which win over normalisation', () => {
  const names = new RouteNames(['/users/:id/orders', '/static/*']);
  assert.equal(names.name('/users/alice/orders', 0), '/users/:id/orders');
  assert.equal(names.name('/static/css/site.css', 0), '/static/*');
  const fw = names.frameworkId('/api/items/:itemId');
  assert.equal(names.name('/api/items/abc', fw), '/api/items/:itemId');
  assert.equal(names.name('/users/alice/orders', fw), '/users/:id/orders', 'a template still wins');
  assert.equal(names.name('/orders/99', 0), '/orders/:id');
  assert.equal(names.frameworkId('/api/items/:itemId'), fw, 'framework routes are interned');
});

test('distinct route names are capped per agent; the rest fold into "other"', () => {
  const names = new RouteNames([]);
  for (let i = 0; i < MAX_ROUTES; i++) assert.notEqual(names.name(`/r${'x'.repeat(i % 7)}/w${i}a`, 0), OTHER_ROUTE);
  assert.equal(names.name('/one/more/route', 0), OTHER_ROUTE);
  assert.equal(names.name('/rx/w1a', 0), '/rx/w1a', 'known routes keep their name');
});
