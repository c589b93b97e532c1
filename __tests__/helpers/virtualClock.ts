/**
 * A virtual clock for the local scheduler: sleeping jumps straight to the wake-up time, so hours of
 * schedule run as fast as the jobs themselves. With `stopAt`, the first sleep that would pass it aborts the
 * given controller instead (the way Ctrl+C would stop the process while it waits).
 */
import type { Clock } from "../../local/scheduler";

/** Options of {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** Epoch ms past which the clock never sleeps: it aborts `controller` instead. Defaults to never. */
  stopAt?: number;
  /** Aborted at `stopAt`. Required with `stopAt`. */
  controller?: AbortController;
}

/** A {@link Clock} whose time moves only when something sleeps or calls {@link VirtualClock.advance}. */
export class VirtualClock implements Clock {
  /** Every wake-up time asked for, in order (epoch ms). */
  readonly sleeps: number[] = [];

  constructor(
    private nowMs: number,
    private readonly options: VirtualClockOptions = {},
  ) {
    if (options.stopAt !== undefined && options.controller === undefined) throw new Error("stopAt needs a controller to abort");
  }

  now(): number {
    return this.nowMs;
  }

  async sleepUntil(epochMs: number, signal: AbortSignal): Promise<void> {
    // Yield once, as a real timer would, so other promise chains run in between.
    await Promise.resolve();
    if (signal.aborted) return;
    this.sleeps.push(epochMs);
    const { stopAt, controller } = this.options;
    if (stopAt !== undefined && epochMs > stopAt) {
      this.nowMs = Math.max(this.nowMs, stopAt);
      controller?.abort();
      return;
    }
    this.nowMs = Math.max(this.nowMs, epochMs);
  }

  /** Moves time forward, as a job that takes `ms` would. */
  advance(ms: number): void {
    this.nowMs += ms;
  }
}
