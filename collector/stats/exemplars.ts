// Per classic bucket of one route, the slowest recent event that fell in it: the exemplar
// /metrics attaches to that bucket (OpenMetrics text and protobuf), so a graph's point
// leads to a request. "Recent": when its route's interval closes, an exemplar older than
// MAX_AGE_MS stops holding its place, and the next event of its bucket takes it. Typed
// arrays and string references only: on the ingest path an event costs one comparison
// with `floor` (the aggregator makes it), and a few stores when it wins.

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
  /** Per bucket, the duration an event must reach to be kept: the kept one's, or -1 once it expired. */
  readonly floor: Float64Array;
  private readonly durationMs: Float64Array;
  private readonly endMs: Float64Array;
  /** Collector clock when kept, for the age: agents' clocks may disagree. */
  private readonly keptAt: Float64Array;
  private readonly paths: string[];
  private readonly agents: string[];

  constructor(buckets: number) {
    this.floor = new Float64Array(buckets).fill(-1);
    this.durationMs = new Float64Array(buckets).fill(-1);
    this.endMs = new Float64Array(buckets);
    this.keptAt = new Float64Array(buckets);
    this.paths = new Array<string>(buckets).fill('');
    this.agents = new Array<string>(buckets).fill('');
  }

  /** Only for an event at or above floor[bucket]. */
  keep(bucket: number, durationMs: number, path: string, agent: string, endMs: number, now: number): void {
    this.floor[bucket] = durationMs;
    this.durationMs[bucket] = durationMs;
    this.endMs[bucket] = endMs;
    this.keptAt[bucket] = now;
    this.paths[bucket] = path;
    this.agents[bucket] = agent;
  }

  /** Lets the next event of each bucket whose exemplar is older than MAX_AGE_MS take its place. */
  expire(now: number): void {
    for (let b = 0; b < this.floor.length; b++) if (now - this.keptAt[b]! >= MAX_AGE_MS) this.floor[b] = -1;
  }

  /** Null while no event fell in the bucket. */
  get(bucket: number): Exemplar | null {
    const durationMs = this.durationMs[bucket]!;
    if (durationMs < 0) return null;
    return { path: this.paths[bucket]!, agent: this.agents[bucket]!, durationMs, endMs: this.endMs[bucket]! };
  }
}
