// An agent's cost reports (protocol/agent-cost.ts), turned into rates: the last reports
// within RATE_WINDOW_MS are kept, and a rate is the difference between the newest and the
// oldest of them, so one late batch does not make a spike.
import type { AgentCost } from '../../protocol/agent-cost.js';

const KEPT = 32;
const RATE_WINDOW_MS = 10_000;

export interface AgentCostJson {
  /** Estimated agent CPU seconds per second of wall-clock time, over the last reports (up to 10 s). */
  cpuSecondsPerSecond: number | null;
  /** The process's own CPU seconds per second over the same time. */
  processCpuSecondsPerSecond: number | null;
  /** The agent's share of the process's CPU time, 0 to 1. */
  shareOfProcess: number | null;
  nsPerRequest: number;
  requestsPerSecond: number | null;
  bytesPerSecond: number | null;
  /** Totals since the agent started. */
  workSeconds: number;
  flushSeconds: number;
  timerSeconds: number;
  requests: number;
  bytesSent: number;
  hookSamples: number;
}

const rate = (d: number, seconds: number): number | null => (seconds > 0 ? d / seconds : null);

export class CostHistory {
  private readonly reports: AgentCost[] = [];

  add(c: AgentCost): void {
    const last = this.reports[this.reports.length - 1];
    // A new process under the same id (totals went back) starts a new history.
    if (last !== undefined && (c.workUs < last.workUs || c.time < last.time)) this.reports.length = 0;
    this.reports.push({ ...c });
    if (this.reports.length > KEPT) this.reports.shift();
  }

  get latest(): AgentCost | undefined {
    return this.reports[this.reports.length - 1];
  }

  json(): AgentCostJson | null {
    const last = this.latest;
    if (last === undefined) return null;
    const first = this.reports.find((r) => last.time - r.time <= RATE_WINDOW_MS) ?? last;
    const seconds = (last.time - first.time) / 1000;
    const work = (last.workUs - first.workUs) / 1e6;
    const process = (last.processCpuUs - first.processCpuUs) / 1e6;
    return {
      cpuSecondsPerSecond: rate(work, seconds),
      processCpuSecondsPerSecond: rate(process, seconds),
      shareOfProcess: process > 0 ? Math.min(1, work / process) : null,
      nsPerRequest: Math.round(last.nsPerRequest),
      requestsPerSecond: rate(last.requests - first.requests, seconds),
      bytesPerSecond: rate(last.bytesSent - first.bytesSent, seconds),
      workSeconds: last.workUs / 1e6,
      flushSeconds: last.flushUs / 1e6,
      timerSeconds: last.timerUs / 1e6,
      requests: last.requests,
      bytesSent: last.bytesSent,
      hookSamples: last.hookSamples,
    };
  }
}
