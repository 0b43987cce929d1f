// Reads every agent setting from the environment through the declared table in
// protocol/settings.ts: nothing else in the agent reads process.env.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { agentSettings, defaultShown, withoutCredentials, type AgentConfig, type AgentSettingKey, type SettingSpec } from '../protocol/settings.js';
import { isLoopback } from '../protocol/loopback.js';
import type { LiveSettings } from '../protocol/messages.js';
import { errorText, warnOnce } from './log.js';

/** The settings as the agent uses them: the live ones grouped, since the collector can replace them. */
export type ResolvedConfig = Omit<AgentConfig, keyof LiveSettings | 'ca'> & {
  live: LiveSettings;
  /** Certificates trusted for wss: Node's and NODEFLIGHT_CA's; undefined: Node's alone. */
  ca: string[] | undefined;
};

export function readConfig(env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const values: Partial<Record<AgentSettingKey, unknown>> = {};
  for (const key of Object.keys(agentSettings) as AgentSettingKey[]) {
    const spec: SettingSpec<unknown> = agentSettings[key];
    values[key] = spec.default;
    const text = env[spec.env];
    if (text === undefined || text === '') continue;
    const parsed = spec.parse(text);
    if ('error' in parsed) {
      // The token's value is a secret: name the variable, never echo it; nor a URL's password.
      const safe = key === 'collector' ? withoutCredentials(text) : text;
      const shown = key === 'token' ? '' : ` ${JSON.stringify(safe.length > 80 ? safe.slice(0, 80) + '...' : safe)}`;
      warnOnce(`config:${key}`, `${spec.env}${shown} ${parsed.error}; using the default (${defaultShown(spec).replace(/`/g, '')})`);
      continue;
    }
    values[key] = parsed.value;
  }
  const { pathFilter, thresholdMs, sampleRate, httpServer, ca, ...rest } = values as AgentConfig;
  if (rest.collector !== undefined && rest.token !== undefined && !tokenTravelsSafely(rest.collector)) rest.collector = undefined;
  return { ...rest, ca: ca === undefined ? undefined : readCa(ca), live: { pathFilter, thresholdMs, sampleRate, httpServer } };
}

/** A token goes in clear text over ws:// to another machine: refused, and nothing is streamed. */
function tokenTravelsSafely(collector: string): boolean {
  const url = new URL(collector);
  if (url.protocol === 'wss:' || isLoopback(url.hostname)) return true;
  warnOnce('config:token-clear', `NODEFLIGHT_TOKEN is not sent in clear text to ${url.host}, which is not a loopback address: ` +
    'give NODEFLIGHT_COLLECTOR as https:// or wss:// (the collector\'s --tls-cert and --tls-key); recording in-process only');
  return false;
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
