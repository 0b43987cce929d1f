// The collector's settings, declared once: CLI flag, environment variable, default.
// A flag wins over the environment, which wins over the default. A bad value is a
// ConfigError, which the CLI reports on one line and exits 2 for: unlike the agent, the
// collector is the user's own process, so refusing to start is the helpful answer.
import { isIP } from 'node:net';

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
  dataDir: { flag: '--data-dir', env: 'NODEFLIGHT_COLLECTOR_DATA_DIR', parse: nonEmpty },
  /** A recording fails when an agent sends nothing for this long. */
  recordingTimeoutMs: { flag: '--recording-timeout-ms', env: 'NODEFLIGHT_COLLECTOR_RECORDING_TIMEOUT_MS', parse: milliseconds },
  /** How long a finished recording operation is kept (Flink's rest.async.store-duration). */
  recordingStoreMs: { flag: '--recording-store-ms', env: 'NODEFLIGHT_COLLECTOR_RECORDING_STORE_MS', parse: milliseconds },
  /** How long a disconnected agent's runtime, pauses and in-flight requests are kept (gone-agents.ts). */
  goneAgentMs: { flag: '--gone-agent-ms', env: 'NODEFLIGHT_COLLECTOR_GONE_AGENT_MS', parse: milliseconds },
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
  dataDir?: string;
  recordingTimeoutMs?: number;
  recordingStoreMs?: number;
  goneAgentMs?: number;
  /** Disconnected agents kept with their history; past this the one gone longest is forgotten. */
  maxGoneAgents?: number;
  /** How often agents are pinged; one that missed a ping by the next is cut (end reason `timeout`). */
  heartbeatMs?: number;
  maxRoutes?: number;
  maxRecentEvents?: number;
  maxAgents?: number;
}

export interface CollectorConfig {
  host: string;
  port: number;
  token: string | undefined;
  dataDir: string | undefined;
  recordingTimeoutMs: number;
  recordingStoreMs: number;
  goneAgentMs: number;
  maxGoneAgents: number;
  heartbeatMs: number;
  maxRoutes: number;
  maxRecentEvents: number;
  maxAgents: number;
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
  maxRecentEvents: 10_000,
  maxAgents: 1000,
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
  const host = checked('host', opts.host) ?? fromEnv('host', env) ?? defaults.host;
  const token = checked('token', opts.token) ?? fromEnv('token', env);
  if (!token && !isLoopback(host)) {
    throw new ConfigError(
      `refusing to listen on ${host} without a token: anyone who can reach it could send events. ` +
        'Pass --token (or NODEFLIGHT_COLLECTOR_TOKEN), or listen on 127.0.0.1',
    );
  }
  return {
    host,
    port: checked('port', opts.port) ?? fromEnv('port', env) ?? defaults.port,
    token,
    dataDir: checked('dataDir', opts.dataDir) ?? fromEnv('dataDir', env),
    recordingTimeoutMs: checked('recordingTimeoutMs', opts.recordingTimeoutMs) ?? fromEnv('recordingTimeoutMs', env) ?? defaults.recordingTimeoutMs,
    recordingStoreMs: checked('recordingStoreMs', opts.recordingStoreMs) ?? fromEnv('recordingStoreMs', env) ?? defaults.recordingStoreMs,
    goneAgentMs: checked('goneAgentMs', opts.goneAgentMs) ?? fromEnv('goneAgentMs', env) ?? defaults.goneAgentMs,
    maxGoneAgents: limit('maxGoneAgents', opts.maxGoneAgents, defaults.maxGoneAgents),
    heartbeatMs: limit('heartbeatMs', opts.heartbeatMs, defaults.heartbeatMs),
    maxRoutes: limit('maxRoutes', opts.maxRoutes, defaults.maxRoutes),
    maxRecentEvents: limit('maxRecentEvents', opts.maxRecentEvents, defaults.maxRecentEvents),
    maxAgents: limit('maxAgents', opts.maxAgents, defaults.maxAgents),
  };
}

/** Conservative: a host name other than localhost counts as reachable from outside. */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}
