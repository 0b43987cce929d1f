// `nodeflight collector [--host H] [--port P] [--token T | --token-file F] [--tls-cert F --tls-key F] [...]`: prints
// the URL it listens on as its one line of stdout, and runs until SIGINT or SIGTERM.
import { parseArgs } from 'node:util';
import { ConfigError, parseFlag } from '../collector/config.js';
import { startCollector, type CollectorOptions } from '../collector/index.js';

const USAGE = 'usage: nodeflight collector [--host 127.0.0.1] [--port 8081] [--token T | --token-file F]' +
  ' [--tls-cert F --tls-key F] [--data-dir DIR]' +
  ' [--recording-timeout-ms 10000] [--recording-store-ms 300000] [--gone-agent-ms 3600000]' +
  ' [--allowed-hosts NAME,...|*]' +
  ' [--max-routes 2000] [--max-services 100] [--recording-agent-max-bytes N] [--recording-max-bytes N]' +
  ' [--recording-max-ms 120000] [--ingest-pending-max-bytes N]';

/** Each flag, read by parseFlag under its key of collector/config.ts. */
const FLAGS = {
  host: 'host', port: 'port', token: 'token', 'token-file': 'tokenFile', 'tls-cert': 'tlsCert', 'tls-key': 'tlsKey',
  'data-dir': 'dataDir',
  'recording-timeout-ms': 'recordingTimeoutMs', 'recording-store-ms': 'recordingStoreMs',
  'gone-agent-ms': 'goneAgentMs',
  'allowed-hosts': 'allowedHosts', 'max-routes': 'maxRoutes', 'max-services': 'maxServices',
  'recording-agent-max-bytes': 'recordingAgentMaxBytes', 'recording-max-bytes': 'recordingMaxBytes',
  'recording-max-ms': 'recordingMaxMs', 'ingest-pending-max-bytes': 'ingestPendingMaxBytes',
} as const;

function options(argv: string[]): CollectorOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' as const }])),
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (values.help) return 'help';
  const opts: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(FLAGS)) {
    const raw = (values as Record<string, string | boolean | undefined>)[flag];
    if (typeof raw === 'string') opts[key] = parseFlag(key, raw);
  }
  return opts as CollectorOptions;
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
