// Per classic bucket of one route, the slowest recent event that fell in it: the exemplar
// /metrics attaches to that bucket (OpenMetrics text and protobuf), so a graph's point
// leads to a request. "Recent": an exemplar older than MAX_AGE_MS gives way to any newer
// event of its bucket. Typed arrays and string references only: on the ingest path an
// event costs one comparison, and four stores when it wins.

/** The same minute as the dashboards' and alerts' rate windows. */
export const MAX_AGE_MS = 60_000;

export interface Exemplar {
  path: string;
  agent: string;
  durationMs: number;
  /** The request's end, wall clock of the agent, ms since the epoch. */
  endMs: number;
}

export class BucketExemplars {
  private readonly durationMs: Float64Array;
  private readonly endMs: Float64Array;
  /** Collector clock when kept, for the age: agents' clocks may disagree. */
  private readonly keptAt: Float64Array;
  private readonly paths: string[];
  private readonly agents: string[];

  constructor(buckets: number) {
    this.durationMs = new Float64Array(buckets).fill(-1);
    this.endMs = new Float64Array(buckets);
    this.keptAt = new Float64Array(buckets);
    this.paths = new Array<string>(buckets).fill('');
    this.agents = new Array<string>(buckets).fill('');
  }

  offer(bucket: number, durationMs: number, endMs: number, path: string, agent: string, now: number): void {
    if (durationMs < this.durationMs[bucket]! && now - this.keptAt[bucket]! < MAX_AGE_MS) return;
    this.durationMs[bucket] = durationMs;
    this.endMs[bucket] = endMs;
    this.keptAt[bucket] = now;
    this.paths[bucket] = path;
    this.agents[bucket] = agent;
  }

  /** Null while no event fell in the bucket. */
  get(bucket: number): Exemplar | null {
    const durationMs = this.durationMs[bucket]!;
    if (durationMs < 0) return null;
    return { path: this.paths[bucket]!, agent: this.agents[bucket]!, durationMs, endMs: this.endMs[bucket]! };
  }
}
