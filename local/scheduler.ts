/**
 * Local mode's in-process scheduler, standing in for EventBridge Scheduler: an ingest every 5 minutes on
 * the clock's slots (:00, :05, ...), the hourly transform at :05, and at start one ingest of the current
 * slot followed by a catch-up transform. Jobs run one at a time, so an ingest and a transform never race
 * on the lake. The clock is injected, so tests drive days of schedule in no real time.
 *
 * Stopping: abort the signal. A sleeping scheduler wakes at once; a running job is never interrupted (its
 * writes are atomic anyway) and the scheduler returns as soon as it ends, starting nothing new.
 */
import { SNAPSHOT_SLOT_SECONDS } from "../functions/partitions";

/** Time as the scheduler sees it. */
export interface Clock {
  /** Current time, epoch milliseconds. */
  now(): number;
  /** Resolves once `now()` has reached `epochMs`, or as soon as `signal` aborts. Never rejects. */
  sleepUntil(epochMs: number, signal: AbortSignal): Promise<void>;
}

/** Longest single timer of {@link SYSTEM_CLOCK}: after a laptop sleeps or the clock is set, the wait is re-measured this soon. */
export const MAX_TIMER_MS = 60_000;

/** The real clock: `Date.now` and timers. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  async sleepUntil(epochMs, signal) {
    while (!signal.aborted && Date.now() < epochMs) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(epochMs - Date.now(), MAX_TIMER_MS));
        signal.addEventListener("abort", done, { once: true });
      });
    }
  },
};

/** Minute of each hour the transform runs at, after that minute's ingest (as the AWS schedule does). */
export const DEFAULT_TRANSFORM_MINUTE = 5;

/** The two scheduled jobs. */
export type JobName = "ingest" | "transform";

/** Why a transform runs: the start-up catch-up (every hour with data) or the hourly run (the lookback window). */
export type TransformReason = "catch-up" | "hourly";

/** What the scheduler runs; each job resolves a one-line summary or throws. */
export interface SchedulerJobs {
  /** Ingests the snapshot of one slot (epoch seconds, on the ingest cadence). */
  ingest(slotEpochSeconds: number): Promise<string>;
  /** Runs the transform. */
  transform(reason: TransformReason): Promise<string>;
}

/** What the scheduler reports. Times are epoch seconds of the scheduler's clock. */
export type SchedulerEvent =
  | { type: "job-start"; job: JobName; detail: string; at: number }
  | { type: "job-done"; job: JobName; detail: string; summary: string; at: number; durationMs: number }
  | { type: "job-failed"; job: JobName; detail: string; error: unknown; at: number; durationMs: number }
  /** Slots that passed while a job ran (a slow ingest or transform); they are not ingested late. */
  | { type: "slots-missed"; firstSlot: number; count: number }
  | { type: "waiting"; nextIngest: number; nextTransform: number };

/** Options of {@link runScheduler}. */
export interface SchedulerOptions {
  /** The jobs. */
  jobs: SchedulerJobs;
  /** Defaults to {@link SYSTEM_CLOCK}. */
  clock?: Clock;
  /** Seconds between ingests, a multiple of 5 minutes; slots are aligned to multiples of it. Defaults to {@link SNAPSHOT_SLOT_SECONDS}. */
  ingestEverySeconds?: number;
  /** Minute of the hour of the hourly transform, 0-59. Defaults to {@link DEFAULT_TRANSFORM_MINUTE}. */
  transformMinute?: number;
  /** Only the start-up runs (one ingest, one catch-up transform), then return. Defaults to false. */
  once?: boolean;
  /** Told about every job and wait. Defaults to none. */
  onEvent?: (event: SchedulerEvent) => void;
}

/** Counts of one scheduler run. */
export interface SchedulerStats {
  ingests: number;
  ingestFailures: number;
  transforms: number;
  transformFailures: number;
  /** Slots skipped because a job overran them. */
  missedSlots: number;
}

/** The start of the ingest slot holding `epochSeconds`, on a cadence of `everySeconds`. */
export function slotOf(epochSeconds: number, everySeconds: number): number {
  return epochSeconds - (((epochSeconds % everySeconds) + everySeconds) % everySeconds);
}

/** The first time strictly after `epochSeconds` whose minute of the hour is `minute` (and second 0). */
export function nextHourlyRun(epochSeconds: number, minute: number): number {
  const hourStart = slotOf(epochSeconds, 3600);
  const candidate = hourStart + minute * 60;
  return candidate > epochSeconds ? candidate : candidate + 3600;
}

/**
 * Runs the schedule until `signal` aborts (or, with `once`, after the start-up runs): ingest of the
 * current slot and a catch-up transform at start, then each slot's ingest and the hourly transform. A job
 * that fails is reported and the schedule goes on (a failed ingest is a missing snapshot; a failed
 * transform is retried by the next hourly run). Throws only for invalid options.
 */
export async function runScheduler(options: SchedulerOptions, signal: AbortSignal): Promise<SchedulerStats> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const every = options.ingestEverySeconds ?? SNAPSHOT_SLOT_SECONDS;
  const minute = options.transformMinute ?? DEFAULT_TRANSFORM_MINUTE;
  if (!Number.isInteger(every) || every <= 0 || every % SNAPSHOT_SLOT_SECONDS !== 0)
    throw new Error(`ingestEverySeconds must be a positive multiple of ${SNAPSHOT_SLOT_SECONDS}, got ${every}`);
  if (!Number.isInteger(minute) || minute < 0 || minute > 59) throw new Error(`transformMinute must be an integer 0-59, got ${minute}`);
  const emit = options.onEvent ?? (() => undefined);
  const nowSeconds = (): number => Math.floor(clock.now() / 1000);
  const stats: SchedulerStats = { ingests: 0, ingestFailures: 0, transforms: 0, transformFailures: 0, missedSlots: 0 };

  const run = async (job: JobName, detail: string, work: () => Promise<string>): Promise<void> => {
    const startedMs = clock.now();
    emit({ type: "job-start", job, detail, at: nowSeconds() });
    try {
      const summary = await work();
      emit({ type: "job-done", job, detail, summary, at: nowSeconds(), durationMs: clock.now() - startedMs });
    } catch (error) {
      if (job === "ingest") stats.ingestFailures += 1;
      else stats.transformFailures += 1;
      emit({ type: "job-failed", job, detail, error, at: nowSeconds(), durationMs: clock.now() - startedMs });
    }
    if (job === "ingest") stats.ingests += 1;
    else stats.transforms += 1;
  };
  const ingest = (slot: number): Promise<void> => run("ingest", new Date(slot * 1000).toISOString(), () => options.jobs.ingest(slot));
  const transform = (reason: TransformReason): Promise<void> => run("transform", reason, () => options.jobs.transform(reason));

  if (signal.aborted) return stats;
  // Start-up: the current slot first, so the catch-up transform already includes it.
  let lastSlot = slotOf(nowSeconds(), every);
  await ingest(lastSlot);
  if (signal.aborted) return stats;
  await transform("catch-up");
  if (options.once === true) return stats;

  let nextTransform = nextHourlyRun(nowSeconds(), minute);
  while (!signal.aborted) {
    const nextSlot = lastSlot + every;
    emit({ type: "waiting", nextIngest: nextSlot, nextTransform });
    await clock.sleepUntil(Math.min(nextSlot, nextTransform) * 1000, signal);
    if (signal.aborted) break;
    const now = nowSeconds();
    if (now >= nextSlot) {
      const slot = slotOf(now, every);
      if (slot > nextSlot) {
        const count = (slot - nextSlot) / every;
        stats.missedSlots += count;
        emit({ type: "slots-missed", firstSlot: nextSlot, count });
      }
      lastSlot = slot;
      await ingest(slot);
      if (signal.aborted) break;
    }
    if (nowSeconds() >= nextTransform) {
      await transform("hourly");
      nextTransform = nextHourlyRun(nowSeconds(), minute);
    }
  }
  return stats;
}
