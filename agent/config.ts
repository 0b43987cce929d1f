// Reads every agent setting from the environment through the declared table in
// protocol/settings.ts: nothing else in the agent reads process.env.
import { agentSettings, defaultShown, type AgentConfig, type AgentSettingKey, type SettingSpec } from '../protocol/settings.js';
import type { LiveSettings } from '../protocol/messages.js';
import { warnOnce } from './log.js';

/** The settings as the agent uses them: the live ones grouped, since the collector can replace them. */
export type ResolvedConfig = Omit<AgentConfig, keyof LiveSettings> & { live: LiveSettings };

export function readConfig(env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const values: Partial<Record<AgentSettingKey, unknown>> = {};
  for (const key of Object.keys(agentSettings) as AgentSettingKey[]) {
    const spec: SettingSpec<unknown> = agentSettings[key];
    values[key] = spec.default;
    const text = env[spec.env];
    if (text === undefined || text === '') continue;
    const parsed = spec.parse(text);
    if ('error' in parsed) {
      // The token's value is a secret: name the variable, never echo it.
      const shown = key === 'token' ? '' : ` ${JSON.stringify(text.length > 80 ? text.slice(0, 80) + '...' : text)}`;
      warnOnce(`config:${key}`, `${spec.env}${shown} ${parsed.error}; using the default (${defaultShown(spec).replace(/`/g, '')})`);
      continue;
    }
    values[key] = parsed.value;
  }
  const { pathFilter, thresholdMs, sampleRate, httpServer, ...rest } = values as AgentConfig;
  return { ...rest, live: { pathFilter, thresholdMs, sampleRate, httpServer } };
}
