// Exponentially weighted moving rates over 1, 5 and 15 minutes, computed as
// Dropwizard's Meter does (and Unix load averages): each 5 s tick folds the tick's
// event rate into every average with weight 1 - e^(-5 s / window). The owner drives
// the ticks from its own clock, so tests control time and an idle meter costs nothing
// until it is read.

export const TICK_MS = 5_000;

const alpha = (minutes: number): number => 1 - Math.exp(-TICK_MS / (minutes * 60_000));
const A1 = alpha(1);
const A5 = alpha(5);
const A15 = alpha(15);

export class Meter {
  /** Events per second. */
  m1 = 0;
  m5 = 0;
  m15 = 0;
  private started = false;

  /** Folds in `events` counted over the tick that just ended, then `idleTicks` ticks without events. */
  tick(events: number, idleTicks: number): void {
    const rate = events / (TICK_MS / 1000);
    if (this.started) {
      this.m1 += A1 * (rate - this.m1);
      this.m5 += A5 * (rate - this.m5);
      this.m15 += A15 * (rate - this.m15);
    } else {
      // As Dropwizard: the first tick sets the averages instead of decaying from zero.
      this.m1 = this.m5 = this.m15 = rate;
      this.started = true;
    }
    if (idleTicks > 0) {
      // n ticks of rate 0 in closed form, so a route idle for a day costs no loop.
      this.m1 *= (1 - A1) ** idleTicks;
      this.m5 *= (1 - A5) ** idleTicks;
      this.m15 *= (1 - A15) ** idleTicks;
    }
  }
}
