// The README's settings table, rendered from the declared table so that the two
// cannot drift apart (test/readme.test.ts checks the README holds exactly this).
import { agentSettings, defaultShown } from './settings.js';

export function settingsMarkdown(): string {
  const rows = Object.values(agentSettings).map((s) => `| \`${s.env}\` | ${s.description}${s.live ? ' Live: can be changed from the collector.' : ''} | ${defaultShown(s)} |`);
  return ['| variable | meaning | default |', '| --- | --- | --- |', ...rows].join('\n');
}
