// The agent's memory during a long outage under load stays within what its settings say:
// the ring, the cap on unacknowledged batches, and a fixed part, whatever the paths'
// length. Each run is a real service in a child process sending itself 12,000 requests
// with unique paths while its collector refuses every connection.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventRing } from '../agent/ring.js';
import { MAX_UNACKED_BYTES } from '../agent/transport.js';
import { readRecording } from '../recording/index.js';
import { startService } from './helpers/service-process.js';

const MB = 1024 * 1024;
const REQUESTS = 12_000;
const BUFFER_EVENTS = 1024;
/** The agent's code, its timers and sockets, and V8's young generation grown by its flushes (measured: 13-22 MB on Node 20-24). */
const FIXED_BYTES = 24 * MB;

test('a collector gone for long under load: the agent adds at most ring + unacked cap + a fixed part, whatever the path length; drops counted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nodeflight-memory-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = async (withAgent: boolean, pad: number) => {
    const dump = join(dir, `dump-${withAgent}-${pad}.nfr`);
    const svc = await startService('http-app.mjs', {
      preload: withAgent ? 'import' : 'none',
      env: {
        NODEFLIGHT_COLLECTOR: 'http://127.0.0.1:1', NODEFLIGHT_BUFFER_EVENTS: String(BUFFER_EVENTS), NODEFLIGHT_DUMP: dump,
        EXIT_AFTER: String(REQUESTS), PAD: String(pad), REPORT_RSS: '1',
      },
      timeoutMs: 60_000,
    });
    t.after(() => svc.stop());
    assert.equal(await svc.exited, 0, svc.stderr());
    const rss = Number(/rss (\d+)/.exec(svc.stdout())?.[1]);
    assert.ok(rss > 0, svc.stdout());
    return { rss, dump };
  };
  const bare = (await run(false, 1000)).rss;
  const short = await run(true, 10);
  const long = await run(true, 1000);
  const ring = new EventRing(BUFFER_EVENTS);
  const ringBytes = Object.values(ring).filter((v) => ArrayBuffer.isView(v)).reduce((a, v) => a + (v as Uint8Array).byteLength, 0) + BUFFER_EVENTS * 128;
  const added = long.rss - bare;
  const figures = `bare ${(bare / MB).toFixed(1)} MB, agent with 10-character paths ${(short.rss / MB).toFixed(1)} MB, with 1,000 ${(long.rss / MB).toFixed(1)} MB`;
  assert.ok(added <= ringBytes + MAX_UNACKED_BYTES + FIXED_BYTES, `the agent added ${(added / MB).toFixed(1)} MB: ${figures}`);
  // Long paths may cost the queue of encoded batches more, and nothing else that grows with them.
  assert.ok(long.rss - short.rss <= MAX_UNACKED_BYTES + 12 * MB, `1,000-character paths cost ${((long.rss - short.rss) / MB).toFixed(1)} MB more: ${figures}`);

  // Every event is accounted for: recorded = sent + dropped + buffered, with the ring's overflow counted.
  let counters;
  let kept = 0;
  for await (const e of readRecording(long.dump)) {
    if (e.t === 'agent') counters = e.counters;
    if (e.t === 'events') kept += e.events.count;
  }
  assert.ok(counters, 'the dump holds the agent record');
  t.diagnostic(`${figures}; counters ${JSON.stringify(counters)}`);
  assert.equal(counters.recorded, REQUESTS);
  assert.equal(counters.sent, 0);
  assert.equal(counters.recorded, counters.sent + counters.dropped + counters.buffered);
  // Either the queue filled up to its cap and the ring overwrote what it could not hand over, or
  // (flushes that came late, on a loaded machine, encoded long paths the arena had already cut
  // to 64 characters) the queue held every event: which one depends on timing, not on the agent.
  if (counters.dropped === 0) assert.equal(counters.buffered, REQUESTS, JSON.stringify(counters));
  else assert.ok(counters.buffered <= REQUESTS - counters.dropped, JSON.stringify(counters));
  assert.equal(kept, BUFFER_EVENTS, 'the dump holds the whole ring');
});
