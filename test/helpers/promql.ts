// The metric names a PromQL expression reads, for checking that dashboards and alert
// rules only use what the collector exposes. A small reader, not a parser: it blanks
// out strings, label matchers, ranges and label lists, then every identifier left that
// is not a function, an aggregation or a keyword is a metric name.

const WORDS = new Set([
  // aggregations and their modifiers
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset',
  // the functions the examples use, and their neighbours
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'changes', 'resets', 'histogram_quantile', 'label_values',
  'abs', 'absent', 'absent_over_time', 'clamp_min', 'clamp_max', 'vector', 'scalar', 'time', 'timestamp',
  'sum_over_time', 'avg_over_time', 'max_over_time', 'min_over_time', 'count_over_time', 'last_over_time',
  'quantile_over_time', 'round', 'ceil', 'floor', 'sort', 'sort_desc', 'label_replace', 'label_join',
  'Inf', 'NaN', 'inf', 'nan',
]);

export function metricNames(expr: string): Set<string> {
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\$\w+/g, ' '); // dashboard variables ($__rate_interval)
  // The label lists after by / without / on / ignoring / group_left / group_right.
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    if (WORDS.has(word)) continue;
    // A number's exponent or unit (1e3, 5m) starts with a digit, so it is not matched here.
    if (/^\d/.test(s[m.index! - 1] ?? '')) continue;
    names.add(word);
  }
  return names;
}

/** The metric names a text exposition declares samples for (`_bucket`, `_sum`, `_count` included). */
export function exposedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/.exec(line);
    if (m) names.add(m[1]!);
    // A histogram's own name is its native series, on servers that scrape those.
    const h = /^# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) histogram$/.exec(line);
    if (h) names.add(h[1]!);
  }
  return names;
}
