// `node dist/bench/micro-outbound.js`: what the agent's streams cost (cases in
// micro/outbound-path.ts), each case in a fresh process pinned to core 1, as
// `npm run bench:micro` runs its own. Prints the cases and the derived figures: the
// agent's cost per outbound call (case minus the channel floor), the CPU the runtime
// recorders take per second of an idle process, and the GC observer's cost per
// collection.
//
//   node dist/bench/micro-outbound.js [--rounds 30] [--warmup 20] [--scale 1] [--quick] [--no-pin]
import { parseArgs } from 'node:util';
import { runCaseProcess } from './micro/case-process.js';
import type { Result } from './micro/timing.js';
import { pinSelf, tasksetPath } from './processes.js';
import { num } from './report.js';

const names = [
  'outbound-undici-floor', 'outbound-undici', 'outbound-http-floor', 'outbound-http', 'outbound-symbol-correlation', 'outbound-weakmap-correlation',
  'runtime-sample', 'runtime-idle-off', 'runtime-idle-default', 'runtime-idle-sampler', 'runtime-idle-stall', 'runtime-idle-watchdog', 'gc-alloc-off', 'gc-alloc-on',
];

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string' }, warmup: { type: 'string' }, scale: { type: 'string' },
    quick: { type: 'boolean', default: false }, 'no-pin': { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const q = args.quick;
  const flags = ['--rounds', args.rounds ?? (q ? '3' : '30'), '--warmup', args.warmup ?? (q ? '2' : '20'), '--scale', args.scale ?? (q ? '0.05' : '1')];
  const taskset = args['no-pin'] ? null : tasksetPath();
  pinSelf(taskset);
  const by = new Map<string, Result>();
  for (const name of names) {
    for (const r of await runCaseProcess('micro/outbound-path.js', name, flags, taskset)) {
      by.set(r.case, r);
      console.log(`${r.case.padEnd(30)} ${num(r.medianNs, 1).padStart(12)} ns median ${num(r.minNs, 1).padStart(12)} ns min  per ${r.per}  ${r.extra ? JSON.stringify(r.extra) : ''}`);
    }
  }
  const m = (c: string): number => by.get(c)!.medianNs;
  const gcPerRound = Number(by.get('gc-alloc-on')!.extra?.gcPerRound ?? 0);
  const opsPerRound = by.get('gc-alloc-on')!.opsPerRound;
  console.log([
    '',
    '| figure | median |',
    '| --- | --- |',
    `| agent per undici / fetch call (create + headers, minus the channel floor) | ${num(m('outbound-undici') - m('outbound-undici-floor'), 1)} ns |`,
    `| agent per node:http client call (start + response, minus the floor) | ${num(m('outbound-http') - m('outbound-http-floor'), 1)} ns |`,
    `| correlating start and end alone: symbol property / WeakMap (minus the floor) | ${num(m('outbound-symbol-correlation') - m('outbound-undici-floor'), 1)} ns / ${num(m('outbound-weakmap-correlation') - m('outbound-undici-floor'), 1)} ns |`,
    `| one runtime sample | ${num(m('runtime-sample') / 1000, 1)} µs |`,
    `| idle CPU, default runtime settings, over no agent | ${num((m('runtime-idle-default') - m('runtime-idle-off')) / 1000, 0)} µs/s (${num((m('runtime-idle-default') - m('runtime-idle-off')) / 1e7, 3)} % of a core) |`,
    `| samples alone (1 s period, on the 20 ms loop timer) | ${num((m('runtime-idle-sampler') - m('runtime-idle-off')) / 1000, 0)} µs/s |`,
    `| stall detection alone (the same 20 ms timer) | ${num((m('runtime-idle-stall') - m('runtime-idle-off')) / 1000, 0)} µs/s |`,
    `| the stall watchdog (NODEFLIGHT_STALL_STACKS=1, no stall): its thread and heartbeat, over stall detection | ${num((m('runtime-idle-watchdog') - m('runtime-idle-stall')) / 1000, 0)} µs/s, +${by.get('runtime-idle-watchdog')!.extra?.rssMB} MB RSS |`,
    `| GC observer per collection (${num(gcPerRound, 1)} collections a round; on minus off, within the noise when near 0) | ${gcPerRound > 0 ? `${num(((m('gc-alloc-on') - m('gc-alloc-off')) * opsPerRound) / gcPerRound / 1000, 1)} µs` : 'n/a'} |`,
  ].join('\n'));
}

main().catch((err: unknown) => {
  console.error(`micro-outbound: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
