/**
 * A virtual clock for code that races work against timers (verify's per-check timeouts): a sleeper wakes
 * only when everything else has settled (on the next `setImmediate`, after every pending promise
 * continuation), earliest wake-up time first, and time jumps to it. So a mocked AWS call that answers
 * always beats a timeout, a call that never answers always loses to it, and a poll every 5 s inside a
 * 300 s limit runs 60 times before the limit fires, all in no real time. (VirtualClock, the scheduler's
 * clock, jumps after one microtask, which would let a timeout overtake a mocked answer.)
 */
import type { Clock } from "../../local/scheduler";

interface Sleeper {
  at: number;
  wake: () => void;
}

/** A {@link Clock} whose time moves only when every pending sleeper but the earliest is still waiting. */
export class IdleClock implements Clock {
  /** Every wake-up time asked for, in order (epoch ms). */
  readonly sleeps: number[] = [];
  private readonly sleepers: Sleeper[] = [];
  private scheduled = false;

  constructor(private nowMs: number) {}

  now(): number {
    return this.nowMs;
  }

  sleepUntil(epochMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    this.sleeps.push(epochMs);
    return new Promise<void>((resolve) => {
      const sleeper: Sleeper = {
        at: epochMs,
        wake: () => {
          signal.removeEventListener("abort", cancel);
          resolve();
        },
      };
      const cancel = (): void => {
        this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
        resolve();
      };
      signal.addEventListener("abort", cancel, { once: true });
      this.sleepers.push(sleeper);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.sleepers.length === 0) return;
      // Stable: of two sleepers due at the same time, the one that went to sleep first wakes first.
      const next = this.sleepers.reduce((a, b) => (b.at < a.at ? b : a));
      this.sleepers.splice(this.sleepers.indexOf(next), 1);
      this.nowMs = Math.max(this.nowMs, next.at);
      next.wake();
      if (this.sleepers.length > 0) this.schedule();
    });
  }
}
