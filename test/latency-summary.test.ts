// LatencySummary must give exactly the figures hdr-histogram-js gives for the same
// merge: live histograms added, snapshots decoded and added, as RouteStats.collect does.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  addSnapshot, createHistogram, HIGHEST_TRACKABLE_US, initHistograms, latencyMs, snapshot, type Histogram,
} from '../collector/stats/histogram.js';
import { LatencySummary } from '../collector/stats/latency-summary.js';
import { random } from './helpers/random.js';

before(() => initHistograms());

/** Live histograms and snapshots, merged both ways; the library's figures are the reference. */
function assertSame(summary: LatencySummary, live: Histogram[], snapshots: Uint8Array[], what: string): void {
  const reference = createHistogram();
  try {
    summary.reset();
    for (const bytes of snapshots) {
      addSnapshot(reference, bytes);
      summary.addSnapshot(bytes);
    }
    for (const h of live) {
      reference.add(h);
      summary.add(h);
    }
    assert.equal(summary.totalCount, reference.totalCount, `${what}: count`);
    if (reference.totalCount > 0) assert.deepEqual(summary.latencyMs(), latencyMs(reference), what);
  } finally {
    reference.destroy();
  }
}

function filled(values: number[]): Histogram {
  const h = createHistogram();
  for (const v of values) h.recordValue(v);
  return h;
}

test('empty histograms and snapshots add nothing', () => {
  const empty = createHistogram();
  const s = new LatencySummary();
  assertSame(s, [empty], [snapshot(empty)], 'empty');
  assertSame(s, [], [], 'nothing');
  empty.destroy();
});

test('single values, bucket edges and the ends of the range', () => {
  const s = new LatencySummary();
  const edges = [1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 4097, 65535, 65536, 123457, 2 ** 31, 2 ** 32 - 1, HIGHEST_TRACKABLE_US - 1, HIGHEST_TRACKABLE_US];
  for (const v of edges) {
    const h = filled([v]);
    assertSame(s, [h], [], `live ${v}`);
    assertSame(s, [], [snapshot(h)], `snapshot ${v}`);
    h.destroy();
  }
  const all = filled(edges);
  assertSame(s, [all], [snapshot(all)], 'all edges, live and snapshot');
  all.destroy();
});

test('percentile ranks where the floating-point product lands just above a whole count', () => {
  // 99.9 / 100 * 1000 is 999.0000000000001: without the library's ulp step the rank would be 1000.
  const s = new LatencySummary();
  const h = createHistogram();
  h.recordValueWithCount(100, 999);
  h.recordValue(5000);
  assertSame(s, [h], [], '999 + 1');
  h.destroy();
});

test('random merges of live histograms and snapshots, reusing one summary', () => {
  const r = random(7);
  const s = new LatencySummary();
  const draw = (): number => {
    const shape = r();
    if (shape < 0.1) return 1 + Math.floor(r() * 3000); // bucket 0 and 1, unit resolution
    if (shape < 0.12) return HIGHEST_TRACKABLE_US - Math.floor(r() * 1000);
    return Math.max(1, Math.min(HIGHEST_TRACKABLE_US, Math.round(Math.exp(r() * Math.log(HIGHEST_TRACKABLE_US)))));
  };
  for (let trial = 0; trial < 200; trial++) {
    const parts = Array.from({ length: 1 + Math.floor(r() * 5) }, () => {
      const n = r() < 0.2 ? Math.floor(r() * 3) : Math.floor(r() * 2000);
      const h = createHistogram();
      for (let i = 0; i < n; i++) {
        if (r() < 0.1) h.recordValueWithCount(draw(), 1 + Math.floor(r() * 100_000));
        else h.recordValue(draw());
      }
      return h;
    });
    const cut = Math.floor(r() * (parts.length + 1));
    assertSame(s, parts.slice(cut), parts.slice(0, cut).map(snapshot), `trial ${trial}`);
    for (const h of parts) h.destroy();
  }
});
