// Every agent setting, declared once: its environment variable, type, default, range and
// description. The agent's environment parser and its defaults, the collector's
// validation of live settings and the README's settings table all come from this table.
import type { LiveSettings } from './messages.js';
import { compilePathFilter } from './path-filter.js';

type Parsed<T> = { value: T } | { error: string };

export interface SettingSpec<T> {
  env: string;
  default: T;
  /** Shown in the README instead of the default value, where words say it better. */
  defaultText?: string;
  description: string;
  /** True when the collector can change it on a running agent. */
  live: boolean;
  /** The environment variable's text. */
  parse(raw: string): Parsed<T>;
  /** A live value as it arrives in JSON or msgpack: an error, or null when it is valid. */
  check?(v: unknown): string | null;
}

/** The default as the README and the agent's warnings show it. */
export function defaultShown(spec: SettingSpec<unknown>): string {
  if (spec.defaultText !== undefined) return spec.defaultText;
  return `\`${typeof spec.default === 'boolean' ? (spec.default ? 1 : 0) : String(spec.default)}\``;
}

function integer(min: number, max: number) {
  return (raw: string): Parsed<number> => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) return { error: `must be an integer from ${min} to ${max}` };
    return { value: n };
  };
}

/** A number from `min` to `max`, as env text and as a live value. */
function number(min: number, max: number) {
  const error = `must be a number from ${min} to ${max}`;
  const check = (v: unknown): string | null => (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? null : error);
  return {
    check,
    parse: (raw: string): Parsed<number> => (raw.trim() !== '' && check(Number(raw)) === null ? { value: Number(raw) } : { error }),
  };
}

const text = (raw: string): Parsed<string> => ({ value: raw });

function onOff(raw: string): Parsed<boolean> {
  return raw === '1' || raw === 'true' ? { value: true } : raw === '0' || raw === 'false' ? { value: false } : { error: 'must be 1 or 0' };
}

const liveOnOff = {
  parse: onOff,
  check: (v: unknown): string | null => (typeof v === 'boolean' ? null : 'must be true or false'),
};

/** 0 (off), or an integer from `min` to `max`. */
function zeroOr(min: number, max: number) {
  return (raw: string): Parsed<number> => (raw.trim() === '0' ? { value: 0 } : integer(min, max)(raw));
}

/** Whether a URL's text carries `user@` or `user:password@` (checked on the text: it may not parse). */
export function hasCredentials(raw: string): boolean {
  return /^[^:/?#]*:\/\/[^?#]*@/.test(raw);
}

/** The URL's text with any `user:password@` replaced, for messages. */
export function withoutCredentials(raw: string): string {
  return raw.replace(/^([^:/?#]*:\/\/)[^?#]*@/, '$1<credentials>@');
}

export const MAX_BUFFER_EVENTS = 1 << 24;
/** SIGUSR1 is left out on purpose: Node reserves it for the inspector. */
export type DumpSignal = 'SIGUSR2' | 'SIGHUP';

export const agentSettings = {
  collector: {
    env: 'NODEFLIGHT_COLLECTOR',
    default: undefined,
    defaultText: 'unset: record in-process only',
    description: 'Collector base URL (`http://`, `https://`, `ws://`, `wss://`); the agent streams to `<base>/v1/ingest`.',
    live: false,
    parse(raw: string): Parsed<string> {
      if (hasCredentials(raw)) return { error: 'must not hold credentials (user:password@); give the token in NODEFLIGHT_TOKEN' };
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return { error: 'must be a URL such as http://127.0.0.1:8081' };
      }
      const scheme = ({ 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' } as Record<string, string>)[url.protocol];
      if (!scheme) return { error: `has the scheme ${url.protocol} but must be http, https, ws or wss` };
      return { value: `${scheme}//${url.host}${url.pathname.replace(/\/+$/, '')}` };
    },
  },
  token: {
    env: 'NODEFLIGHT_TOKEN',
    default: undefined,
    defaultText: 'none',
    description: 'Bearer token presented to the collector; printable ASCII only (a control character such as CR or LF would start a new header).',
    live: false,
    parse(raw: string): Parsed<string> {
      return /^[\x20-\x7e]+$/.test(raw) ? { value: raw } : { error: 'must be printable ASCII, without control characters such as CR or LF' };
    },
  },
  ca: {
    env: 'NODEFLIGHT_CA',
    default: undefined,
    defaultText: 'unset: Node\'s trusted CAs',
    description: 'PEM file of a CA to trust, besides Node\'s own, when verifying a `wss://` collector\'s certificate (for a private CA). A certificate that fails verification is refused: nothing is sent.',
    live: false,
    parse: text,
  },
  pingTimeoutMs: {
    env: 'NODEFLIGHT_PING_TIMEOUT_MS',
    default: 20_000,
    description: 'A collector that sends nothing for half this long is pinged; one silent for all of it (a network partition: no reset, no close) is taken for lost, and the agent reconnects and resends. Also bounds the WebSocket handshake.',
    live: false,
    parse: integer(500, 120_000),
  },
  service: {
    env: 'NODEFLIGHT_SERVICE',
    default: undefined,
    defaultText: '`name` in the nearest package.json, else the entry script\'s base name',
    description: 'Service name the routes are grouped under.',
    live: false,
    parse(raw: string): Parsed<string> {
      const v = raw.trim();
      return v && v.length <= 128 ? { value: v } : { error: 'must be 1 to 128 characters' };
    },
  },
  pathFilter: {
    env: 'NODEFLIGHT_PATH_FILTER',
    default: '.*',
    description: 'Regular expression; a request is recorded only if it matches the whole path (query string excluded), as JFR\'s `Pattern.matches`. It is matched in time linear in the path, whatever the filter; backreferences, lookaround and word boundaries are refused when it is set.',
    live: true,
    parse(raw: string): Parsed<string> {
      const c = compilePathFilter(raw);
      return c.error ? { error: c.error } : { value: raw };
    },
    check: (v: unknown): string | null => compilePathFilter(v as string).error ?? null,
  },
  thresholdMs: {
    env: 'NODEFLIGHT_THRESHOLD_MS',
    default: 0,
    description: 'Record only requests that took at least this many milliseconds (fractions allowed).',
    live: true,
    ...number(0, 3_600_000),
  },
  sampleRate: {
    env: 'NODEFLIGHT_SAMPLE_RATE',
    default: 1,
    description: 'Fraction of requests recorded, from 0 to 1; the others count as filtered.',
    live: true,
    ...number(0, 1),
  },
  httpServer: {
    env: 'NODEFLIGHT_HTTP_SERVER',
    default: true,
    description: 'Whether HTTP server requests are recorded (`1` or `0`).',
    live: true,
    ...liveOnOff,
  },
  routes: {
    env: 'NODEFLIGHT_ROUTES',
    default: [] as string[],
    defaultText: 'none',
    description: 'Comma-separated route templates (`/users/:id/orders`) used to name routes before any other rule.',
    live: false,
    parse(raw: string): Parsed<string[]> {
      const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = list.find((t) => !t.startsWith('/'));
      return bad ? { error: `template ${JSON.stringify(bad)} must start with /` } : { value: list };
    },
  },
  bufferEvents: {
    env: 'NODEFLIGHT_BUFFER_EVENTS',
    default: 65536,
    description: 'Ring buffer capacity in events, rounded up to a power of two. When full, the oldest unsent event is overwritten and counted as dropped.',
    live: false,
    parse(raw: string): Parsed<number> {
      const p = integer(16, MAX_BUFFER_EVENTS)(raw);
      if ('error' in p) return p;
      return { value: 2 ** Math.ceil(Math.log2(p.value)) };
    },
  },
  flushMs: {
    env: 'NODEFLIGHT_FLUSH_MS',
    default: 250,
    description: 'How often, in milliseconds, recorded events are sent as one batch.',
    live: false,
    parse: integer(10, 60_000),
  },
  dump: {
    env: 'NODEFLIGHT_DUMP',
    default: undefined,
    defaultText: 'unset',
    description: 'File written with the buffered recording (`.nfr`) and the requests still in flight when the process exits, an uncaught exception included, or is stopped by `SIGTERM` or `SIGINT` (the process then still ends as it would have: by that signal, or as the app\'s own handler decides).',
    live: false,
    parse: text,
  },
  maxAgeMs: {
    env: 'NODEFLIGHT_MAX_AGE_MS',
    default: 900_000,
    defaultText: '`900000` (15 minutes)',
    description: 'Age limit of the in-process recording, in milliseconds: dumps (`NODEFLIGHT_DUMP`, the signal, `POST /v1/recordings`) hold only events that ended within it. `0`: no age limit, only the buffer size.',
    live: false,
    parse: integer(0, 30 * 86_400_000),
  },
  dumpSignal: {
    env: 'NODEFLIGHT_DUMP_SIGNAL',
    default: undefined as DumpSignal | undefined,
    defaultText: 'unset: no signal handler',
    description: 'Signal (`SIGUSR2` or `SIGHUP`) on which the agent writes its recording to a new file `nodeflight-<pid>-<time>.nfr`, in the folder of `NODEFLIGHT_DUMP` or else the temporary folder, and names it on stderr. A handler is installed only when this is set, and then that signal no longer ends the process.',
    live: false,
    parse(raw: string): Parsed<DumpSignal> {
      const v = raw.trim().toUpperCase();
      return v === 'SIGUSR2' || v === 'SIGHUP' ? { value: v } : { error: 'must be SIGUSR2 or SIGHUP' };
    },
  },
  httpClient: {
    env: 'NODEFLIGHT_HTTP_CLIENT',
    default: true,
    description: 'Whether outbound HTTP calls (`fetch`, `undici`, `node:http` and `node:https` clients) are recorded (`1` or `0`). Their buffer holds a quarter of `NODEFLIGHT_BUFFER_EVENTS`.',
    live: false,
    parse: onOff,
  },
  runtimePeriodMs: {
    env: 'NODEFLIGHT_RUNTIME_PERIOD_MS',
    default: 1000,
    description: 'Period, in milliseconds, of the runtime sample: event-loop delay (p50, p99, max), event-loop utilisation, heap used and total, RSS and process CPU. `0` turns sampling off.',
    live: false,
    parse: zeroOr(100, 3_600_000),
  },
  gcEvents: {
    env: 'NODEFLIGHT_GC',
    default: true,
    description: 'Whether garbage-collection pauses are recorded as events, with their kind and duration (`1` or `0`).',
    live: false,
    parse: onOff,
  },
  stallMs: {
    env: 'NODEFLIGHT_STALL_MS',
    default: 50,
    description: 'An event-loop stall at least this long, in milliseconds, is recorded as an event with its start and duration (a 20 ms timer measures its own lateness). `0` turns stall detection off.',
    live: false,
    parse: zeroOr(1, 60_000),
  },
  stallStacks: {
    env: 'NODEFLIGHT_STALL_STACKS',
    default: false,
    description: 'Whether a stall longer than `NODEFLIGHT_STALL_MS` is sent with the main thread\'s JavaScript stack, caught while it is blocked (`1` or `0`): a watchdog thread asks the inspector for it. Costs a worker thread, about 1% of a core and 9 MB RSS, nothing measurable per request ([docs/incidents.md](docs/incidents.md#what-the-watchdog-costs)); nothing is loaded when `0`.',
    live: false,
    parse: onOff,
  },
  disabled: {
    env: 'NODEFLIGHT_DISABLED',
    default: false,
    defaultText: 'unset',
    description: '`1` turns the agent into a no-op.',
    live: false,
    parse(raw: string): Parsed<boolean> {
      return raw === '1' || raw === 'true' ? { value: true } : raw === '' || raw === '0' || raw === 'false' ? { value: false } : { error: 'must be 1 or 0' };
    },
  },
} satisfies Record<string, SettingSpec<unknown>>;

export type AgentSettingKey = keyof typeof agentSettings;
type ValueOf<S> = S extends { default: infer D; parse(raw: string): Parsed<infer T> } ? D | T : never;
/** Every setting's value once read: what the variable said, else the default. */
export type AgentConfig = { [K in AgentSettingKey]: ValueOf<(typeof agentSettings)[K]> };

export const defaultLiveSettings: LiveSettings = Object.freeze({
  pathFilter: agentSettings.pathFilter.default,
  thresholdMs: agentSettings.thresholdMs.default,
  sampleRate: agentSettings.sampleRate.default,
  httpServer: agentSettings.httpServer.default,
});

export const liveSettingKeys = Object.keys(defaultLiveSettings) as Array<keyof LiveSettings>;

/** Checks one value of a live setting as it arrives in JSON or msgpack (not as env text). */
export function validateLiveValue(key: string, v: unknown): string | null {
  if (!(liveSettingKeys as string[]).includes(key)) {
    return `unknown setting ${JSON.stringify(key)}; known settings are ${liveSettingKeys.join(', ')}`;
  }
  const error = (agentSettings[key as keyof LiveSettings] as SettingSpec<unknown>).check!(v);
  // A path filter's error already names the setting.
  return error === null || error.startsWith(`${key} `) ? error : `${key} ${error}`;
}

/** Every error in a partial or whole settings map; an empty list means it is valid. */
export function settingsErrors(v: unknown, whole: boolean): string[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return ['settings must be a JSON object'];
  const errors: string[] = [];
  for (const [k, val] of Object.entries(v)) {
    const e = validateLiveValue(k, val);
    if (e) errors.push(e);
  }
  if (whole) for (const k of liveSettingKeys) if (!(k in v)) errors.push(`${k} is missing`);
  return errors;
}

export function validateLiveSettings(v: unknown): string | null {
  return settingsErrors(v, true)[0] ?? null;
}
