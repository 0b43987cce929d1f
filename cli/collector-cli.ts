// `nodeflight collector [--host H] [--port P] [--token T] [--data-dir DIR] [...]`: prints the
// URL it listens on as its one line of stdout, and runs until SIGINT or SIGTERM.
import { parseArgs } from 'node:util';
import { ConfigError, parseFlag } from '../collector/config.js';
import { startCollector, type CollectorOptions } from '../collector/index.js';

const USAGE = 'usage: nodeflight collector [--host 127.0.0.1] [--port 8081] [--token T] [--data-dir DIR] [--recording-timeout-ms 10000] [--recording-store-ms 300000]';

function options(argv: string[]): CollectorOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { host: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' }, 'data-dir': { type: 'string' },
        'recording-timeout-ms': { type: 'string' }, 'recording-store-ms': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (values.help) return 'help';
  return {
    host: values.host === undefined ? undefined : parseFlag('host', values.host),
    port: values.port === undefined ? undefined : parseFlag('port', values.port),
    token: values.token === undefined ? undefined : parseFlag('token', values.token),
    dataDir: values['data-dir'] === undefined ? undefined : parseFlag('dataDir', values['data-dir']),
    recordingTimeoutMs: values['recording-timeout-ms'] === undefined ? undefined : parseFlag('recordingTimeoutMs', values['recording-timeout-ms']),
    recordingStoreMs: values['recording-store-ms'] === undefined ? undefined : parseFlag('recordingStoreMs', values['recording-store-ms']),
  };
}

export async function main(argv: string[]): Promise<number> {
  let collector;
  try {
    const opts = options(argv);
    if (opts === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    collector = await startCollector(opts);
  } catch (err) {
    process.stderr.write(`nodeflight collector: ${(err as Error).message}\n`);
    if (err instanceof ConfigError) process.stderr.write(`${USAGE}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
  // Handlers first: whoever reads the URL may signal at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.stdout.write(`nodeflight collector listening on ${collector.url}\n`);
  await stopped;
  await collector.close();
  return 0;
}
