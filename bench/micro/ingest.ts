// (c) Collector ingest on one core: what the collector does with each batch frame an
// agent sends, with the collector's own functions: msgpack decode (protocol/codec.ts),
// schema check (protocol/validate.ts), then Aggregator.recordBatch (route lookup, HDR
// record, status and bucket counts, recent-events memory). The frames are the agent's
// real output: BlockEncoder + pack over the same ring the encode case uses.
import { Aggregator } from '../../collector/stats/aggregator.js';
import { resolveConfig } from '../../collector/config.js';
import { initHistograms } from '../../collector/stats/histogram.js';
import { BlockEncoder } from '../../agent/encode.js';
import { createDecoder, createEncoder } from '../../protocol/codec.js';
import type { BatchMessage } from '../../protocol/messages.js';
import { validateAgentMessage } from '../../protocol/validate.js';
import { filledRing } from './fixtures.js';
import { cpuNs, runCase, summarizeRounds, type CaseOptions, type Result } from './timing.js';

async function ingest(o: CaseOptions): Promise<Result[]> {
  await initHistograms();
  const { ring, routes } = filledRing();
  const encoder = new BlockEncoder(ring, routes);
  const packr = createEncoder();
  const frames: Buffer[] = [];
  let events = 0;
  for (let pos = ring.oldest, seq = 1; pos < ring.head; seq++) {
    const block = encoder.encode(pos, ring.head - pos);
    const counters = { recorded: pos + block.count, filtered: 0, dropped: 0, sent: pos, buffered: block.count, hookErrors: 0 };
    frames.push(Buffer.from(packr.pack({ t: 'batch', seq, counters, events: block })));
    pos += block.count;
    events += block.count;
  }
  const rounds = Math.max(1, Math.round(o.rounds));
  // The collector's default limits, as `nodeflight collector` runs.
  const limits = resolveConfig({}, {});
  const aggregator = new Aggregator(limits.maxRoutes, limits.maxRecentEvents, limits.maxServices);
  const decoder = createDecoder();
  const total: number[] = [];
  const decode: number[] = [];
  const validate: number[] = [];
  const record: number[] = [];
  const now = Date.now();
  try {
    for (let r = 0; r < o.warmup + rounds; r++) {
      let dNs = 0;
      let vNs = 0;
      let aNs = 0;
      for (const frame of frames) {
        const t0 = cpuNs();
        const decoded = decoder.unpack(frame);
        const t1 = cpuNs();
        const checked = validateAgentMessage(decoded);
        const t2 = cpuNs();
        if ('error' in checked) throw new Error(`ingest: the agent's own frame fails the schema: ${checked.error}`);
        const m = checked.message as BatchMessage;
        aggregator.recordBatch('bench-agent', 'bench', m.events, now);
        const t3 = cpuNs();
        dNs += (t1 - t0);
        vNs += (t2 - t1);
        aNs += (t3 - t2);
      }
      if (r >= o.warmup) {
        decode.push(dNs / events);
        validate.push(vNs / events);
        record.push(aNs / events);
        total.push((dNs + vNs + aNs) / events);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (aggregator.routeCount === 0) throw new Error('ingest: the aggregator holds no route after recording');
    const extra = { routes: aggregator.routeCount, framesPerRound: frames.length };
    return [
      summarizeRounds('ingest', 'event', total, events, extra),
      summarizeRounds('ingest: decode', 'event', decode, events),
      summarizeRounds('ingest: validate', 'event', validate, events),
      summarizeRounds('ingest: aggregate', 'event', record, events),
    ];
  } finally {
    aggregator.destroy();
  }
}

await runCase({ ingest });
