// examples/: the Prometheus scrape config and alert rules pass promtool (`check config`,
// `check rules`, and `test rules` with the rules' own unit tests); the Grafana dashboard
// is valid JSON whose datasource is a variable and whose every query reads only
// metrics a real collector exposes. test/prometheus.test.ts runs both against a real
// Prometheus.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startCollector, type Collector } from '../collector/index.js';
import { AgentClient } from './helpers/ingest-client.js';
import { examplesDir, missingTools, promtool } from './helpers/prometheus.js';
import { exposedNames, metricNames } from './helpers/promql.js';

const noPromtool = missingTools('promtool');
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable, not a template
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

test('promtool check config: the scrape config and the rule files it names', { skip: noPromtool ?? false }, () => {
  const r = promtool(['check', 'config', 'prometheus.yml'], undefined, examplesDir);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: prometheus.yml is valid prometheus config file syntax/);
  assert.match(r.stdout, /SUCCESS: 7 rules found/);
});

for (const file of ['prometheus-federation.yml', 'prometheus-remote-write.yml']) {
  test(`promtool check config: ${file}, the way up from many collectors`, { skip: noPromtool ?? false }, () => {
    const r = promtool(['check', 'config', file], undefined, examplesDir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${file.replace('.', '\\.')} is valid prometheus config file syntax`));
    assert.match(r.stdout, /SUCCESS: 7 rules found/);
  });
}

test('promtool check rules: the alert rules', { skip: noPromtool ?? false }, () => {
  const r = promtool(['check', 'rules', 'nodeflight-alerts.yml'], undefined, examplesDir);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 7 rules found/);
});

test('promtool test rules: each alert fires on its case and not on the near misses', { skip: noPromtool ?? false }, () => {
  const r = promtool(['test', 'rules', 'nodeflight-alerts.test.yml'], undefined, examplesDir);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
  // Every alert of the rules file has a case.
  const rules = readFileSync(join(examplesDir, 'nodeflight-alerts.yml'), 'utf8');
  const cases = readFileSync(join(examplesDir, 'nodeflight-alerts.test.yml'), 'utf8');
  const names = [...rules.matchAll(/^\s*- alert: (\w+)$/gm)].map((m) => m[1]!);
  assert.equal(names.length, 7);
  for (const name of names) assert.match(cases, new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels:`), `${name} is shown firing`);
});

let collector: Collector;
let exposed: Set<string>;

before(async () => {
  // Every family the collector has: a route with each status class, and an agent.
  collector = await startCollector({ port: 0 });
  const agent = await AgentClient.connect(collector.url);
  await agent.handshake('examples-agent', 'examples');
  await agent.batch(1, [200, 404, 503].map((status, i) => ({ durationMs: 1 + i * 40, path: `/x/${i}`, route: '/x/:id', status })));
  await agent.close();
  exposed = exposedNames(await (await fetch(`${collector.url}/metrics`)).text());
});
after(() => collector.close());

interface Query { where: string; expr: string }

function dashboardQueries(): { dashboard: any; queries: Query[] } {
  const dashboard = JSON.parse(readFileSync(join(examplesDir, 'grafana-dashboard.json'), 'utf8'));
  const queries: Query[] = [];
  for (const p of dashboard.panels) for (const t of p.targets ?? []) queries.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    // label_values(SELECTOR, label): only the selector is PromQL.
    const m = /^label_values\((.*),\s*(\w+)\)$/.exec(v.query.query);
    assert.ok(m, `variable ${v.name}: ${v.query.query}`);
    queries.push({ where: `variable ${v.name}`, expr: m[1]! });
  }
  return { dashboard, queries };
}

test('the Grafana dashboard: valid JSON, the datasource a variable, per-route rate, errors, latency and drops', () => {
  const { dashboard } = dashboardQueries();
  assert.equal(dashboard.uid, 'nodeflight');
  const ds = dashboard.templating.list.find((v: any) => v.name === 'datasource');
  assert.deepEqual([ds?.type, ds?.query], ['datasource', 'prometheus']);
  assert.equal(dashboard.__inputs, undefined, 'no datasource bound at export');
  const ids = new Set<number>();
  for (const p of dashboard.panels) {
    assert.ok(!ids.has(p.id), `panel id ${p.id} once`);
    ids.add(p.id);
    if (p.type === 'row') continue;
    assert.deepEqual(p.datasource, DATASOURCE, `panel "${p.title}" uses the datasource variable`);
    assert.ok(p.targets.length > 0, `panel "${p.title}" has queries`);
    for (const t of p.targets) assert.deepEqual(t.datasource, DATASOURCE, `panel "${p.title}" ${t.refId}`);
  }
  for (const v of dashboard.templating.list.filter((x: any) => x.type === 'query')) assert.deepEqual(v.datasource, DATASOURCE);
  const titles = dashboard.panels.map((p: any) => p.title).join('\n');
  for (const want of [/Request rate by route/, /Error share/, /p50 \/ p90 \/ p99/, /p99 by route/, /dropped/i]) assert.match(titles, want);
  // Nothing in it names a datasource of the exporter's own Grafana.
  assert.doesNotMatch(JSON.stringify(dashboard), /"uid":\s*"(?!\$\{datasource\}|nodeflight")/);
});

test('every dashboard query reads only metrics the collector exposes', () => {
  const { queries } = dashboardQueries();
  assert.ok(queries.length >= 14);
  for (const { where, expr } of queries) {
    const names = metricNames(expr);
    assert.ok(names.size > 0, `${where} reads a metric: ${expr}`);
    for (const name of names) assert.ok(exposed.has(name), `${where} reads ${name}, which the collector does not expose`);
  }
  // The reader itself: it finds names and does not take labels, functions or units for them.
  assert.deepEqual([...metricNames('sum by (le, route) (rate(a_bucket{x="y", route=~"$route"}[$__rate_interval])) / on (route) b_total offset 5m > 1e3')], ['a_bucket', 'b_total']);
});

test('every dashboard query is valid PromQL (promtool parses each as a recording rule)', { skip: noPromtool ?? false }, () => {
  const { queries } = dashboardQueries();
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-dash-'));
  try {
    const rules = queries.map(({ expr }, i) => {
      const q = expr.replaceAll('$__rate_interval', '5m').replace(/\$(instance|service|route)\b/g, '.*');
      return `      - record: nodeflight:dashboard_query_${i}\n        expr: ${JSON.stringify(q)}\n`;
    });
    writeFileSync(join(dir, 'queries.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`);
    const r = promtool(['check', 'rules', 'queries.yml'], undefined, dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${queries.length} rules found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
