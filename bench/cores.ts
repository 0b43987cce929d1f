// How busy each core was, from /proc/stat (Linux), so that a timed window can be judged:
// the harness knows what its own processes used on each core, and whatever else kept a
// core busy meanwhile ("foreign" load: other processes on a shared machine) slows the
// service or the load generator and skews the comparison with bare.
import { readFileSync } from 'node:fs';

/** Busy and total jiffies per core. */
export type CoreTimes = Array<{ busy: number; total: number }>;

export function readCoreTimes(): CoreTimes | null {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return null;
  }
  const out: CoreTimes = [];
  for (const line of text.split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    const f = m[2]!.trim().split(/\s+/).map(Number);
    const idle = f[3]! + (f[4] ?? 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - idle, total };
  }
  return out;
}

/** Fraction of `core`'s time that was busy between two readings. */
export function coreBusy(before: CoreTimes, after: CoreTimes, core: number): number {
  const b = before[core];
  const a = after[core];
  if (!a || !b || a.total === b.total) return NaN;
  return (a.busy - b.busy) / (a.total - b.total);
}
