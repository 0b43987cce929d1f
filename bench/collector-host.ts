// A collector in a process of its own for bench/collector-load.ts: startCollector on
// 127.0.0.1:0, answering its parent over IPC with its memory and CPU time, and, when
// started with --manual-clock, letting the parent move its clock (to fill five minutes
// of interval histograms in seconds). Run with --expose-gc so that memory is read after
// a full collection. Exits when the IPC channel closes, so it never outlives the bench.
import { startCollector } from '../collector/index.js';

type Request = { id: number; op: 'memory' | 'cpu' | 'advance' | 'close'; ms?: number };

const manual = process.argv.includes('--manual-clock');
let now = Date.now();
const collector = await startCollector({ port: 0, host: '127.0.0.1', clock: manual ? () => now : Date.now });
const gc = (globalThis as { gc?: () => void }).gc;

function memory(): NodeJS.MemoryUsage {
  // Twice: the first pass may leave finalizers' garbage for the second.
  gc?.();
  gc?.();
  return process.memoryUsage();
}

process.on('message', (m: Request) => {
  const reply = (value: unknown): void => { process.send!({ id: m.id, value }); };
  switch (m.op) {
    case 'memory': return reply(memory());
    case 'cpu': return reply(process.cpuUsage());
    case 'advance':
      now += m.ms ?? 0;
      return reply(now);
    case 'close':
      void collector.close().then(() => {
        reply(null);
        process.disconnect();
      });
  }
});
process.on('disconnect', () => { void collector.close().then(() => process.exit(0)); });
process.send!({ type: 'ready', url: collector.url, gc: gc !== undefined });
