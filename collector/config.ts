// The collector's settings, declared once: CLI flag, environment variable, default.
// A flag wins over the environment, which wins over the default. A bad value is a
// ConfigError, which the CLI reports on one line and exits 2 for: unlike the agent, the
// collector is the user's own process, so refusing to start is the helpful answer.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { isLoopback } from '../protocol/loopback.js';

export class ConfigError extends Error {}

type Parsed<T> = { value: T } | { error: string };

interface Spec<T> {
  flag: string;
  env: string;
  parse(raw: string): Parsed<T>;
}

const nonEmpty = (raw: string): Parsed<string> => (raw === '' ? { error: 'must not be empty' } : { value: raw });

const MAX_DURATION_MS = 7 * 86_400_000;
function milliseconds(raw: string): Parsed<number> {
  const n = Number(raw);
  return raw.trim() !== '' && Number.isInteger(n) && n >= 1 && n <= MAX_DURATION_MS ? { value: n } : { error: `must be an integer number of milliseconds from 1 to ${MAX_DURATION_MS}` };
}

function positive(raw: string): Parsed<number> {
  const n = Number(raw);
  return raw.trim() !== '' && Number.isSafeInteger(n) && n >= 1
    ? { value: n } : { error: 'must be a positive integer' };
}

/** Comma-separated host names; `*` alone accepts any. */
function hostList(raw: string): Parsed<string[]> {
  const names = raw.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  const bad = names.find((h) => h !== '*' && !/^\.?[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/.test(h));
  if (names.length === 0) return { error: 'must name at least one host' };
  return bad === undefined
    ? { value: names.map((h) => h.replace(/\.$/, '')) } : { error: `has a malformed host name ${JSON.stringify(bad)}` };
}

const collectorSettings = {
  host: { flag: '--host', env: 'NODEFLIGHT_COLLECTOR_HOST', parse: nonEmpty },
  port: {
    flag: '--port',
    env: 'NODEFLIGHT_COLLECTOR_PORT',
    parse(raw: string): Parsed<number> {
      const n = Number(raw);
      return raw.trim() !== '' && Number.isInteger(n) && n >= 0 && n <= 65535 ? { value: n } : { error: 'must be an integer from 0 to 65535' };
    },
  },
  token: { flag: '--token', env: 'NODEFLIGHT_COLLECTOR_TOKEN', parse: nonEmpty },
  /** The token read from a file, so that it shows neither in `ps` nor in the environment. */
  tokenFile: { flag: '--token-file', env: 'NODEFLIGHT_COLLECTOR_TOKEN_FILE', parse: nonEmpty },
  /** PEM certificate chain and key: with both, the collector serves https and wss only. */
  tlsCert: { flag: '--tls-cert', env: 'NODEFLIGHT_COLLECTOR_TLS_CERT', parse: nonEmpty },
  tlsKey: { flag: '--tls-key', env: 'NODEFLIGHT_COLLECTOR_TLS_KEY', parse: nonEmpty },
  dataDir: { flag: '--data-dir', env: 'NODEFLIGHT_COLLECTOR_DATA_DIR', parse: nonEmpty },
  /** A recording fails when an agent sends nothing for this long. */
  recordingTimeoutMs: {
    flag: '--recording-timeout-ms', env: 'NODEFLIGHT_COLLECTOR_RECORDING_TIMEOUT_MS', parse: milliseconds,
  },
  /** How long a finished recording operation is kept (Flink's rest.async.store-duration). */
  recordingStoreMs: {
    flag: '--recording-store-ms', env: 'NODEFLIGHT_COLLECTOR_RECORDING_STORE_MS', parse: milliseconds,
  },
  /** How long a disconnected agent's runtime, pauses and in-flight requests are kept (gone-agents.ts). */
  goneAgentMs: { flag: '--gone-agent-ms', env: 'NODEFLIGHT_COLLECTOR_GONE_AGENT_MS', parse: milliseconds },
  /** Host names a browser may use for this collector besides loopback names and addresses (host-check.ts). */
  allowedHosts: { flag: '--allowed-hosts', env: 'NODEFLIGHT_COLLECTOR_ALLOWED_HOSTS', parse: hostList },
  maxRoutes: { flag: '--max-routes', env: 'NODEFLIGHT_COLLECTOR_MAX_ROUTES', parse: positive },
  maxServices: { flag: '--max-services', env: 'NODEFLIGHT_COLLECTOR_MAX_SERVICES', parse: positive },
  /** Bytes one agent may send into one recording. */
  recordingAgentMaxBytes: {
    flag: '--recording-agent-max-bytes', env: 'NODEFLIGHT_COLLECTOR_RECORDING_AGENT_MAX_BYTES', parse: positive,
  },
  /** Bytes of one recording, all agents together. */
  recordingMaxBytes: {
    flag: '--recording-max-bytes', env: 'NODEFLIGHT_COLLECTOR_RECORDING_MAX_BYTES', parse: positive,
  },
  /** A recording not complete this long after it was asked for fails, however busy its agents. */
  recordingMaxMs: { flag: '--recording-max-ms', env: 'NODEFLIGHT_COLLECTOR_RECORDING_MAX_MS', parse: milliseconds },
  /** Bytes of incomplete WebSocket frames held across all agent connections. */
  ingestPendingMaxBytes: {
    flag: '--ingest-pending-max-bytes', env: 'NODEFLIGHT_COLLECTOR_INGEST_PENDING_MAX_BYTES', parse: positive,
  },
} satisfies Record<string, Spec<unknown>>;

type Key = keyof typeof collectorSettings;
type ValueOf<K extends Key> = (typeof collectorSettings)[K] extends Spec<infer T> ? T : never;

/** Parses one flag's text, as the CLI received it. */
export function parseFlag<K extends Key>(key: K, raw: string): ValueOf<K> {
  const spec: Spec<ValueOf<K>> = collectorSettings[key] as Spec<ValueOf<K>>;
  const p = spec.parse(raw);
  if ('error' in p) throw new ConfigError(`${spec.flag} ${p.error}, got ${JSON.stringify(raw)}`);
  return p.value;
}

function fromEnv<K extends Key>(key: K, env: NodeJS.ProcessEnv): ValueOf<K> | undefined {
  const spec: Spec<ValueOf<K>> = collectorSettings[key] as Spec<ValueOf<K>>;
  const raw = env[spec.env];
  // An empty variable reads as unset, as shells make it easy to export one by mistake.
  if (raw === undefined || raw === '') return undefined;
  const p = spec.parse(raw);
  if ('error' in p) throw new ConfigError(`${spec.env} ${p.error}, got ${JSON.stringify(raw)}`);
  return p.value;
}

export interface ConfigOptions {
  host?: string;
  port?: number;
  token?: string;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  dataDir?: string;
  recordingTimeoutMs?: number;
  recordingStoreMs?: number;
  goneAgentMs?: number;
  /** Disconnected agents kept with their history; past this the one gone longest is forgotten. */
  maxGoneAgents?: number;
  /** How often agents are pinged; one that missed a ping by the next is cut (end reason `timeout`). */
  heartbeatMs?: number;
  allowedHosts?: string[];
  maxRoutes?: number;
  maxServices?: number;
  maxRecentEvents?: number;
  maxAgents?: number;
  recordingAgentMaxBytes?: number;
  recordingMaxBytes?: number;
  recordingMaxMs?: number;
  ingestPendingMaxBytes?: number;
}

export interface CollectorConfig {
  host: string;
  port: number;
  token: string | undefined;
  /** The certificate and key's PEM text; undefined: plain http and ws. */
  tls: { cert: string; key: string } | undefined;
  dataDir: string | undefined;
  recordingTimeoutMs: number;
  recordingStoreMs: number;
  goneAgentMs: number;
  maxGoneAgents: number;
  heartbeatMs: number;
  allowedHosts: string[];
  maxRoutes: number;
  maxServices: number;
  maxRecentEvents: number;
  maxAgents: number;
  recordingAgentMaxBytes: number;
  recordingMaxBytes: number;
  recordingMaxMs: number;
  ingestPendingMaxBytes: number;
}

const defaults = {
  host: '127.0.0.1',
  port: 8081,
  recordingTimeoutMs: 10_000,
  recordingStoreMs: 300_000,
  goneAgentMs: 3_600_000,
  maxGoneAgents: 100,
  heartbeatMs: 30_000,
  maxRoutes: 2000,
  maxServices: 100,
  maxRecentEvents: 10_000,
  maxAgents: 1000,
  recordingAgentMaxBytes: 256 * 1024 * 1024,
  recordingMaxBytes: 1024 * 1024 * 1024,
  recordingMaxMs: 120_000,
  ingestPendingMaxBytes: 64 * 1024 * 1024,
} as const;

/** Options given in code are checked with the same rules as flags. */
function checked<K extends Key>(key: K, v: ValueOf<K> | undefined): ValueOf<K> | undefined {
  return v === undefined ? undefined : parseFlag(key, String(v));
}

function limit(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new ConfigError(`${name} must be a positive integer, got ${v}`);
  return v;
}

export function resolveConfig(opts: ConfigOptions, env: NodeJS.ProcessEnv): CollectorConfig {
  const read = <K extends Key>(key: K): ValueOf<K> | undefined =>
    checked(key, opts[key] as ValueOf<K> | undefined) ?? fromEnv(key, env);
  const host = read('host') ?? defaults.host;
  const tokenFile = read('tokenFile');
  const givenToken = read('token');
  if (givenToken !== undefined && tokenFile !== undefined) throw new ConfigError('give the token either as --token or as --token-file, not both');
  const token = tokenFile === undefined ? givenToken : readToken(tokenFile);
  if (!token && !isLoopback(host)) {
    throw new ConfigError(
      `refusing to listen on ${host} without a token: anyone who can reach it could send events. ` +
        'Pass --token (or NODEFLIGHT_COLLECTOR_TOKEN), or listen on 127.0.0.1',
    );
  }
  return {
    host,
    port: read('port') ?? defaults.port,
    token,
    tls: readTls(read('tlsCert'), read('tlsKey')),
    dataDir: read('dataDir'),
    recordingTimeoutMs: read('recordingTimeoutMs') ?? defaults.recordingTimeoutMs,
    recordingStoreMs: read('recordingStoreMs') ?? defaults.recordingStoreMs,
    goneAgentMs: read('goneAgentMs') ?? defaults.goneAgentMs,
    maxGoneAgents: limit('maxGoneAgents', opts.maxGoneAgents, defaults.maxGoneAgents),
    heartbeatMs: limit('heartbeatMs', opts.heartbeatMs, defaults.heartbeatMs),
    allowedHosts: read('allowedHosts') ?? [],
    maxRoutes: read('maxRoutes') ?? defaults.maxRoutes,
    maxServices: read('maxServices') ?? defaults.maxServices,
    recordingAgentMaxBytes: read('recordingAgentMaxBytes') ?? defaults.recordingAgentMaxBytes,
    recordingMaxBytes: read('recordingMaxBytes') ?? defaults.recordingMaxBytes,
    recordingMaxMs: read('recordingMaxMs') ?? defaults.recordingMaxMs,
    ingestPendingMaxBytes: read('ingestPendingMaxBytes') ?? defaults.ingestPendingMaxBytes,
    maxRecentEvents: limit('maxRecentEvents', opts.maxRecentEvents, defaults.maxRecentEvents),
    maxAgents: limit('maxAgents', opts.maxAgents, defaults.maxAgents),
  };
}

function readText(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${flag} ${JSON.stringify(path)} cannot be read: ${(err as Error).message}`);
  }
}

/** The file's first line; a token is a header value, so it must be printable ASCII. */
function readToken(path: string): string {
  const token = readText('--token-file', path).split(/\r?\n/)[0]!.trim();
  if (!/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(token)) {
    throw new ConfigError(`--token-file ${JSON.stringify(path)} must hold the token on its first line, in printable ASCII`);
  }
  return token;
}

/** Both or neither; a pair Node cannot use (not PEM, key not matching) is refused at start. */
function readTls(certFile: string | undefined, keyFile: string | undefined): CollectorConfig['tls'] {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new ConfigError('--tls-cert and --tls-key go together: give both, or neither for plain http');
  const tls = { cert: readText('--tls-cert', certFile), key: readText('--tls-key', keyFile) };
  try {
    createSecureContext(tls);
  } catch (err) {
    throw new ConfigError(`--tls-cert ${JSON.stringify(certFile)} and --tls-key ${JSON.stringify(keyFile)} cannot serve TLS: ${(err as Error).message}`);
  }
  return tls;
}
