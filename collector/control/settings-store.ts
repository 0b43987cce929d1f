// Live settings as the API set them, and how one agent's settings are resolved.
//
// Three layers, each a partial map of the settings it sets plus the version of its last
// change: the collector's defaults (PUT /v1/settings), one per service
// (PUT /v1/settings?service=S) and one per agent (PUT /v1/agents/:id/settings). Each
// setting of an agent is resolved on its own, from the first of these that sets it:
//
//   agent override  >  service  >  collector defaults  >  the agent's own environment
//
// so an agent runs with its environment until the collector is told something, and a
// PUT that sets one setting changes that one and leaves the others as they were. A
// `null` value removes a setting from a layer (the next layer down shows through).
//
// Every accepted change gets the next version, one counter per collector. An agent's
// requested version is the newest version among the layers that apply to it.
//
// With a data directory the layers and the counter are kept in <dir>/settings.json,
// written to a temporary file and renamed over the old one, so a crash leaves either
// the old file or the new one, never half of one. A change is on disk before it is
// applied in memory and pushed, so an answered PUT survives a restart.
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { LiveSettings } from '../../protocol/messages.js';
import { liveSettingKeys, settingsErrors, validateLiveValue } from '../../protocol/settings.js';

export type SettingsPatch = Partial<LiveSettings>;

export interface Layer {
  set: SettingsPatch;
  /** Version of the layer's last change; 0: never changed. */
  version: number;
}

export type Scope = { kind: 'defaults' } | { kind: 'service'; service: string } | { kind: 'agent'; agentId: string };

const FILE_FORMAT = 'nodeflight-collector-settings';
const FILE_VERSION = 1;
/** Service layers a collector keeps; a PUT for one more service is refused. */
export const MAX_SERVICE_LAYERS = 1000;
export const MAX_SERVICE_NAME = 128;

interface SettingsFile {
  format: typeof FILE_FORMAT;
  formatVersion: number;
  latestVersion: number;
  defaults: Layer;
  services: Record<string, Layer>;
  agents: Record<string, Layer>;
}

/** Every problem with a change (a partial settings map whose `null` values remove a setting). */
export function patchErrors(v: unknown): string[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return ['the body must be a JSON object such as {"thresholdMs": 5}'];
  const entries = Object.entries(v);
  if (entries.length === 0) return [`the body sets nothing; known settings are ${liveSettingKeys.join(', ')}`];
  const errors: string[] = [];
  for (const [k, val] of entries) {
    // null removes a known setting; for an unknown key, validateLiveValue says so.
    const e = val === null && (liveSettingKeys as string[]).includes(k) ? null : validateLiveValue(k, val);
    if (e) errors.push(e);
  }
  return errors;
}

/** Only the known keys, copied: decoded JSON may carry anything else. */
function applyPatch(set: SettingsPatch, patch: Record<string, unknown>): SettingsPatch {
  const out: Record<string, unknown> = {};
  for (const k of liveSettingKeys) {
    const v = k in patch ? patch[k] : set[k];
    if (v !== null && v !== undefined) out[k] = v;
  }
  return out as SettingsPatch;
}

function layerError(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return 'is not a map';
  const l = v as Record<string, unknown>;
  if (!Number.isSafeInteger(l.version) || (l.version as number) < 0) return 'has no valid version';
  const e = settingsErrors(l.set, false);
  return e.length ? e.join('; ') : null;
}

export class SettingsStore {
  /** The newest version handed out (or seen in an agent's hello). */
  latestVersion = 0;
  defaults: Layer = { set: {}, version: 0 };
  readonly services = new Map<string, Layer>();
  readonly agents = new Map<string, Layer>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly file: string | undefined, private readonly maxAgentLayers: number) {}

  /** Loads `<dataDir>/settings.json` if there is one; a damaged file throws, naming it. */
  static async open(dataDir: string | undefined, maxAgentLayers: number): Promise<SettingsStore> {
    const store = new SettingsStore(dataDir === undefined ? undefined : join(dataDir, 'settings.json'), maxAgentLayers);
    if (store.file === undefined) return store;
    let text: string;
    try {
      text = await readFile(store.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return store;
      throw err;
    }
    const problem = store.load(text);
    if (problem) throw new Error(`the settings file ${store.file} is damaged (${problem}); fix it or remove it to start from the agents' own settings`);
    return store;
  }

  private load(text: string): string | null {
    let f: SettingsFile;
    try {
      f = JSON.parse(text) as SettingsFile;
    } catch (err) {
      return `not JSON: ${(err as Error).message}`;
    }
    if (f?.format !== FILE_FORMAT || f.formatVersion !== FILE_VERSION) return `not a ${FILE_FORMAT} file of version ${FILE_VERSION}`;
    if (!Number.isSafeInteger(f.latestVersion) || f.latestVersion < 0) return 'latestVersion is not a version';
    const e = layerError(f.defaults);
    if (e) return `defaults ${e}`;
    this.defaults = { set: applyPatch({}, f.defaults.set), version: f.defaults.version };
    for (const [kind, map] of [['services', this.services], ['agents', this.agents]] as const) {
      if (typeof f[kind] !== 'object' || f[kind] === null) return `${kind} is not a map`;
      for (const [name, layer] of Object.entries(f[kind])) {
        const le = layerError(layer);
        if (le) return `${kind}[${JSON.stringify(name)}] ${le}`;
        map.set(name, { set: applyPatch({}, layer.set), version: layer.version });
      }
    }
    this.latestVersion = f.latestVersion;
    return null;
  }

  layer(scope: Scope): Layer | undefined {
    switch (scope.kind) {
      case 'defaults': return this.defaults;
      case 'service': return this.services.get(scope.service);
      case 'agent': return this.agents.get(scope.agentId);
    }
  }

  /**
   * The settings the collector asks of an agent, resolved setting by setting over
   * `own` (the agent's environment), or null while no layer applying to it was ever set.
   */
  resolve(agentId: string, service: string, own: LiveSettings): { settings: LiveSettings; version: number } | null {
    const layers = [this.agents.get(agentId), this.services.get(service), this.defaults];
    let version = 0;
    const settings: Record<string, unknown> = {};
    for (const k of liveSettingKeys) settings[k] = own[k];
    // Lowest layer first, so that each higher one overwrites what it sets.
    for (let i = layers.length - 1; i >= 0; i--) {
      const l = layers[i];
      if (l === undefined) continue;
      version = Math.max(version, l.version);
      Object.assign(settings, l.set);
    }
    return version === 0 ? null : { settings: settings as unknown as LiveSettings, version };
  }

  /** Keeps versions monotonic past what agents already run (from an earlier collector). */
  noteVersion(v: number): void {
    if (v > this.latestVersion) this.latestVersion = v;
  }

  /**
   * Applies a change that passed patchErrors to a layer, on disk first, and returns its
   * version. Changes run one at a time. Throws an Error with a user-facing message when
   * a cap is reached; `keep(agentId)` says which agent layers must not be dropped to make room.
   */
  update(scope: Scope, patch: Record<string, unknown>, keep: (agentId: string) => boolean): Promise<number> {
    const run = this.queue.then(() => this.apply(scope, patch, keep));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async apply(scope: Scope, patch: Record<string, unknown>, keep: (agentId: string) => boolean): Promise<number> {
    const version = this.latestVersion + 1;
    const old = this.layer(scope);
    const layer: Layer = { set: applyPatch(old?.set ?? {}, patch), version };
    let evict: string | undefined;
    if (old === undefined && scope.kind === 'service' && this.services.size >= MAX_SERVICE_LAYERS) {
      throw new LimitError(`this collector keeps settings for at most ${MAX_SERVICE_LAYERS} services`);
    }
    if (old === undefined && scope.kind === 'agent' && this.agents.size >= this.maxAgentLayers) {
      // Make room by forgetting the oldest override of an agent the collector no longer knows.
      let oldest: [string, Layer] | undefined;
      for (const e of this.agents) if (!keep(e[0]) && (oldest === undefined || e[1].version < oldest[1].version)) oldest = e;
      if (oldest === undefined) throw new LimitError(`this collector keeps settings for at most ${this.maxAgentLayers} agents`);
      evict = oldest[0];
    }
    const next = (): void => {
      this.latestVersion = version;
      if (scope.kind === 'defaults') this.defaults = layer;
      else if (scope.kind === 'service') this.services.set(scope.service, layer);
      else {
        if (evict !== undefined) this.agents.delete(evict);
        this.agents.set(scope.agentId, layer);
      }
    };
    if (this.file !== undefined) await this.write(this.snapshotWith(scope, layer, version, evict));
    next();
    return version;
  }

  private snapshotWith(scope: Scope, layer: Layer, version: number, evict: string | undefined): SettingsFile {
    // Maps, then fromEntries: a name such as "__proto__" stays a plain key.
    const services = new Map(this.services);
    const agents = new Map(this.agents);
    if (evict !== undefined) agents.delete(evict);
    if (scope.kind === 'service') services.set(scope.service, layer);
    if (scope.kind === 'agent') agents.set(scope.agentId, layer);
    return {
      format: FILE_FORMAT, formatVersion: FILE_VERSION, latestVersion: version,
      defaults: scope.kind === 'defaults' ? layer : this.defaults,
      services: Object.fromEntries(services), agents: Object.fromEntries(agents),
    };
  }

  private async write(contents: SettingsFile): Promise<void> {
    const file = this.file!;
    const tmp = `${file}.${process.pid}.tmp`;
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(`${JSON.stringify(contents, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  }
}

/** A cap that a PUT would pass: a 409. */
export class LimitError extends Error {}
