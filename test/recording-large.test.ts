// A large recording prints and summarises in bounded memory. The child runs with a
// 32 MiB JavaScript heap, which its 55 MiB of JSON output alone would overflow if it
// were built before being written; its peak resident size is checked to stay moderate.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeRecordingSync } from '../recording/index.js';
import { block, counters, identity, runCli, tempDir, type Row } from './recording-helpers.js';

const dir = tempDir();
const EVENTS = 200_000;
const PER_BLOCK = 8000;

function write(path: string, events: number): void {
  const blocks = [];
  for (let first = 0; first < events; first += PER_BLOCK) {
    const rows: Row[] = Array.from({ length: Math.min(PER_BLOCK, events - first) }, (_, i) => ({
      start: 1_700_000_000_000 + first + i, duration: ((first + i) % 997) / 7, method: 'GET',
      path: `/catalogue/items/${first + i}/reviews/page-${i % 9}`, route: '/catalogue/items/:id/reviews', status: 200, size: 512, flags: 0,
    }));
    blocks.push(block(rows));
  }
  writeRecordingSync(path, { source: 'agent', agents: [{ identity: identity('a1', 'shop'), counters: counters(events), blocks }] });
}

const LIMITS = [
  '--max-old-space-size=32',
  // Reports the child's peak resident set size on stderr as it exits.
  '--import', 'data:text/javascript,process.on("exit",()=>process.stderr.write("maxrss="+process.resourceUsage().maxRSS+"\\n"))',
];

async function run(args: string[]): Promise<string> {
  const r = await runCli(args, LIMITS);
  assert.equal(r.code, 0, r.stderr);
  const m = /^maxrss=(\d+)$/m.exec(r.stderr);
  assert.ok(m, r.stderr);
  const mib = Number(m[1]) / 1024;
  assert.ok(mib < 200, `${args.join(' ')}: peak RSS ${mib.toFixed(0)} MiB`);
  return r.stdout;
}

test('200k events print and summarise in bounded memory', { timeout: 60_000 }, async () => {
  const large = join(dir, 'large.nfr');
  write(large, EVENTS);
  const doc = JSON.parse(await run(['print', '--json', large])) as { events: unknown[]; damage: null };
  assert.equal(doc.events.length, EVENTS);
  assert.equal(doc.damage, null);
  assert.match(await run(['summary', large]), /events {5}200000 in 25 blocks/);
});
