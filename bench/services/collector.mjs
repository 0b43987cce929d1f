// The collector of the `nodeflight+collector` variant, in its own process: the same
// code `nodeflight collector --port 0` runs, started through the programmatic API so
// that it reports its URL over IPC and exits when the harness goes away.
import { startCollector } from '../../dist/collector/index.js';

const collector = await startCollector({ port: 0, host: '127.0.0.1' });
process.on('disconnect', () => {
  collector.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
// Its CPU time, so that the harness can tell its share of the client core from other load.
process.on('message', (m) => {
  if (m?.type !== 'stats') return;
  const c = process.cpuUsage();
  process.send({ type: 'stats', id: m.id, cpuUs: c.user + c.system });
});
process.send({ type: 'ready', url: collector.url });
