// The collector of the `nodeflight+collector` variant, in its own process: the same
// code `nodeflight collector --port 0` runs, started through the programmatic API so
// that it reports its URL over IPC and exits when the harness goes away.
import { startCollector } from '../../dist/collector/index.js';

const collector = await startCollector({ port: 0, host: '127.0.0.1' });
process.on('disconnect', () => {
  collector.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
process.send({ type: 'ready', url: collector.url });
