// Reads every agent setting from the environment through the declared table in
// protocol/settings.ts: nothing else in the agent reads process.env.
import { agentSettings, defaultLiveSettings, type AgentConfig, type AgentSettingKey, type DumpSignal } from '../protocol/settings.js';
import type { LiveSettings } from '../protocol/messages.js';
import { warnOnce } from './log.js';

export interface ResolvedConfig {
  collector: string | undefined;
  token: string | undefined;
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
  /** A watchdog thread catches the stack of each stall (agent/stall-watchdog.ts). */
  stallStacks: boolean;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const raw: Partial<AgentConfig> = {};
  for (const key of Object.keys(agentSettings) as AgentSettingKey[]) {
    const spec = agentSettings[key];
    const text = env[spec.env];
    if (text === undefined || text === '') continue;
    const parsed = spec.parse(text);
    if ('error' in parsed) {
      // The token's value is a secret: name the variable, never echo it.
      const shown = key === 'token' ? '' : ` ${JSON.stringify(text.length > 80 ? text.slice(0, 80) + '...' : text)}`;
      warnOnce(`config:${key}`, `${spec.env}${shown} ${parsed.error}; using the default (${spec.defaultText.replace(/`/g, '')})`);
      continue;
    }
    (raw as Record<string, unknown>)[key] = parsed.value;
  }
  return {
    collector: raw.collector,
    token: raw.token,
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
    stallStacks: raw.stallStacks ?? false,
    live: {
      pathFilter: raw.pathFilter ?? defaultLiveSettings.pathFilter,
      thresholdMs: raw.thresholdMs ?? defaultLiveSettings.thresholdMs,
      sampleRate: raw.sampleRate ?? defaultLiveSettings.sampleRate,
      httpServer: raw.httpServer ?? defaultLiveSettings.httpServer,
    },
  };
}
