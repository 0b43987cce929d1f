// Reads every agent setting from the environment through the declared table in
// protocol/settings.ts: nothing else in the agent reads process.env.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { agentSettings, defaultLiveSettings, withoutCredentials, type AgentConfig, type AgentSettingKey, type DumpSignal } from '../protocol/settings.js';
import type { LiveSettings } from '../protocol/messages.js';
import { errorText, warnOnce } from './log.js';

export interface ResolvedConfig {
  collector: string | undefined;
  token: string | undefined;
  /** Certificates trusted for wss: Node's and NODEFLIGHT_CA's; undefined: Node's alone. */
  ca: string[] | undefined;
  pingTimeoutMs: number;
  service: string | undefined;
  routes: string[];
  bufferEvents: number;
  flushMs: number;
  dump: string | undefined;
  /** Dumps hold only events that ended within this many ms; 0: no age limit. */
  maxAgeMs: number;
  dumpSignal: DumpSignal | undefined;
  disabled: boolean;
  live: LiveSettings;
  /** Outbound HTTP calls, runtime samples, GC pauses and stalls (agent/streams.ts). */
  httpClient: boolean;
  /** 0: no runtime samples. */
  runtimePeriodMs: number;
  gcEvents: boolean;
  /** 0: no stall detection. */
  stallMs: number;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const raw: Partial<AgentConfig> = {};
  for (const key of Object.keys(agentSettings) as AgentSettingKey[]) {
    const spec = agentSettings[key];
    const text = env[spec.env];
    if (text === undefined || text === '') continue;
    const parsed = spec.parse(text);
    if ('error' in parsed) {
      // The token's value is a secret: name the variable, never echo it; nor a URL's password.
      const safe = key === 'collector' ? withoutCredentials(text) : text;
      const shown = key === 'token' ? '' : ` ${JSON.stringify(safe.length > 80 ? safe.slice(0, 80) + '...' : safe)}`;
      warnOnce(`config:${key}`, `${spec.env}${shown} ${parsed.error}; using the default (${spec.defaultText.replace(/`/g, '')})`);
      continue;
    }
    (raw as Record<string, unknown>)[key] = parsed.value;
  }
  return {
    collector: raw.collector,
    token: raw.token,
    ca: raw.ca === undefined ? undefined : readCa(raw.ca),
    pingTimeoutMs: raw.pingTimeoutMs ?? 20_000,
    service: raw.service,
    routes: raw.routes ?? [],
    bufferEvents: raw.bufferEvents ?? 65536,
    flushMs: raw.flushMs ?? 250,
    dump: raw.dump,
    maxAgeMs: raw.maxAgeMs ?? 900_000,
    dumpSignal: raw.dumpSignal,
    disabled: raw.disabled ?? false,
    httpClient: raw.httpClient ?? true,
    runtimePeriodMs: raw.runtimePeriodMs ?? 1000,
    gcEvents: raw.gcEvents ?? true,
    stallMs: raw.stallMs ?? 50,
    live: {
      pathFilter: raw.pathFilter ?? defaultLiveSettings.pathFilter,
      thresholdMs: raw.thresholdMs ?? defaultLiveSettings.thresholdMs,
      sampleRate: raw.sampleRate ?? defaultLiveSettings.sampleRate,
      httpServer: raw.httpServer ?? defaultLiveSettings.httpServer,
    },
  };
}

/** Node's trusted CAs (with NODE_EXTRA_CA_CERTS where Node can list them) plus the file's. */
function readCa(path: string): string[] | undefined {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    warnOnce('config:ca', `NODEFLIGHT_CA ${JSON.stringify(path)} cannot be read (${errorText(err)}); trusting Node's CAs only`);
    return undefined;
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    warnOnce('config:ca', `NODEFLIGHT_CA ${JSON.stringify(path)} holds no PEM certificate; trusting Node's CAs only`);
    return undefined;
  }
  const own = (tls as { getCACertificates?: (kind: string) => string[] }).getCACertificates?.('default') ?? tls.rootCertificates;
  return [...own, pem];
}
