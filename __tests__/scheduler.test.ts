/**
 * The local scheduler on a virtual clock: start-up runs, slot alignment, the hourly transform at :05,
 * failures, overruns and stopping (while waiting and while a job runs), in no real time.
 */
import { nextHourlyRun, runScheduler, SchedulerEvent, SchedulerJobs, slotOf, SYSTEM_CLOCK } from "../local/scheduler";
import { VirtualClock } from "./helpers/virtualClock";

const MINUTE = 60;
const HOUR = 3600;
/** 2024-09-03T12:03:20Z: between slots, before the hour's :05. */
const START = Date.UTC(2024, 8, 3, 12, 3, 20) / 1000;

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(11, 16);

/** Jobs that record what ran at which virtual time; `behaviour` can make a job slow or failing. */
function recordingJobs(
  clock: VirtualClock,
  behaviour: { ingestMs?: (slot: number) => number; failIngest?: (slot: number) => boolean; failTransform?: boolean } = {},
) {
  const runs: string[] = [];
  const jobs: SchedulerJobs = {
    async ingest(slot) {
      runs.push(`${iso(clock.now() / 1000)} ingest ${iso(slot)}`);
      clock.advance(behaviour.ingestMs?.(slot) ?? 0);
      if (behaviour.failIngest?.(slot)) throw new Error(`CoinGecko down at ${iso(slot)}`);
      return "written";
    },
    async transform(reason) {
      runs.push(`${iso(clock.now() / 1000)} transform ${reason}`);
      if (behaviour.failTransform) throw new Error("DuckDB failed");
      return "done";
    },
  };
  return { jobs, runs };
}

describe("alignment helpers", () => {
  it.each([
    [START, 300, Date.UTC(2024, 8, 3, 12, 0) / 1000],
    [START, 1800, Date.UTC(2024, 8, 3, 12, 0) / 1000],
    [Date.UTC(2024, 8, 3, 12, 5) / 1000, 300, Date.UTC(2024, 8, 3, 12, 5) / 1000],
    [Date.UTC(2024, 8, 3, 12, 59, 59) / 1000, 1800, Date.UTC(2024, 8, 3, 12, 30) / 1000],
  ])("slotOf(%i, %i) is %i", (t, every, slot) => {
    expect(slotOf(t, every)).toBe(slot);
  });

  it.each([
    ["before :05", START, Date.UTC(2024, 8, 3, 12, 5) / 1000],
    ["exactly :05 is the next hour's", Date.UTC(2024, 8, 3, 12, 5) / 1000, Date.UTC(2024, 8, 3, 13, 5) / 1000],
    ["after :05", Date.UTC(2024, 8, 3, 12, 40) / 1000, Date.UTC(2024, 8, 3, 13, 5) / 1000],
    ["across midnight", Date.UTC(2024, 8, 3, 23, 30) / 1000, Date.UTC(2024, 8, 4, 0, 5) / 1000],
  ])("nextHourlyRun %s", (_name, t, next) => {
    expect(nextHourlyRun(t, 5)).toBe(next);
  });
});

describe("runScheduler", () => {
  it("ingests the current slot, catches up, then ingests every 5 minutes on the clock and transforms at :05 after that slot's ingest", async () => {
    // Arrange
    const controller = new AbortController();
    const clock = new VirtualClock(START * 1000, { stopAt: (START + HOUR + 4 * MINUTE) * 1000, controller });
    const { jobs, runs } = recordingJobs(clock);

    // Act
    const stats = await runScheduler({ jobs, clock }, controller.signal);

    // Assert
    expect(runs).toEqual([
      "12:03 ingest 12:00",
      "12:03 transform catch-up",
      "12:05 ingest 12:05",
      "12:05 transform hourly",
      ...["10", "15", "20", "25", "30", "35", "40", "45", "50", "55"].map((m) => `12:${m} ingest 12:${m}`),
      "13:00 ingest 13:00",
      "13:05 ingest 13:05",
      "13:05 transform hourly",
    ]);
    expect(stats).toEqual({ ingests: 14, ingestFailures: 0, transforms: 3, transformFailures: 0, missedSlots: 0 });
  });

  it("runs only the start-up jobs with once", async () => {
    const clock = new VirtualClock(START * 1000);
    const { jobs, runs } = recordingJobs(clock);

    const stats = await runScheduler({ jobs, clock, once: true }, new AbortController().signal);

    expect(runs).toEqual(["12:03 ingest 12:00", "12:03 transform catch-up"]);
    expect(stats.ingests + stats.transforms).toBe(2);
    expect(clock.sleeps).toEqual([]);
  });

  it("follows a coarser ingest cadence aligned to its multiples", async () => {
    const controller = new AbortController();
    const clock = new VirtualClock(START * 1000, { stopAt: (START + 2 * HOUR) * 1000, controller });
    const { jobs, runs } = recordingJobs(clock);

    await runScheduler({ jobs, clock, ingestEverySeconds: 1800 }, controller.signal);

    expect(runs.filter((r) => r.includes("ingest"))).toEqual([
      "12:03 ingest 12:00",
      "12:30 ingest 12:30",
      "13:00 ingest 13:00",
      "13:30 ingest 13:30",
      "14:00 ingest 14:00",
    ]);
    expect(runs.filter((r) => r.includes("transform"))).toEqual([
      "12:03 transform catch-up",
      "12:05 transform hourly",
      "13:05 transform hourly",
    ]);
  });

  it("reports failed jobs and keeps the schedule: a failed ingest is a missing slot, a failed transform is retried next hour", async () => {
    const controller = new AbortController();
    const clock = new VirtualClock(START * 1000, { stopAt: (START + HOUR) * 1000, controller });
    const down = new Set([Date.UTC(2024, 8, 3, 12, 10) / 1000, Date.UTC(2024, 8, 3, 12, 15) / 1000]);
    const { jobs, runs } = recordingJobs(clock, { failIngest: (slot) => down.has(slot), failTransform: true });
    const events: SchedulerEvent[] = [];

    const stats = await runScheduler({ jobs, clock, onEvent: (e) => events.push(e) }, controller.signal);

    const failed = events
      .filter((e) => e.type === "job-failed")
      .map((e) => (e.type === "job-failed" ? `${e.job} ${e.detail} ${(e.error as Error).message}` : ""));
    expect(failed).toEqual([
      "transform catch-up DuckDB failed",
      "transform hourly DuckDB failed",
      "ingest 2024-09-03T12:10:00.000Z CoinGecko down at 12:10",
      "ingest 2024-09-03T12:15:00.000Z CoinGecko down at 12:15",
    ]);
    expect(runs).toContain("12:20 ingest 12:20");
    expect(stats).toMatchObject({ ingestFailures: 2, transformFailures: 2, missedSlots: 0 });
  });

  it("skips the slots a slow job overran instead of ingesting them late, and says so", async () => {
    const controller = new AbortController();
    const clock = new VirtualClock(START * 1000, { stopAt: (START + 30 * MINUTE) * 1000, controller });
    const slow = Date.UTC(2024, 8, 3, 12, 10) / 1000;
    // The 12:10 ingest takes 12 minutes: 12:15 and 12:20 pass while it runs.
    const { jobs, runs } = recordingJobs(clock, { ingestMs: (slot) => (slot === slow ? 12 * MINUTE * 1000 : 0) });
    const events: SchedulerEvent[] = [];

    const stats = await runScheduler({ jobs, clock, onEvent: (e) => events.push(e) }, controller.signal);

    expect(runs.filter((r) => r.includes("ingest"))).toEqual([
      "12:03 ingest 12:00",
      "12:05 ingest 12:05",
      "12:10 ingest 12:10",
      "12:22 ingest 12:20",
      "12:25 ingest 12:25",
      "12:30 ingest 12:30",
    ]);
    expect(events).toContainEqual({ type: "slots-missed", firstSlot: Date.UTC(2024, 8, 3, 12, 15) / 1000, count: 1 });
    expect(stats.missedSlots).toBe(1);
  });

  it("returns when stopped while waiting, starting nothing more", async () => {
    // Arrange: a clock whose sleeps last until the signal aborts, as a real wait for the next slot would.
    const controller = new AbortController();
    const virtual = new VirtualClock(START * 1000);
    const clock = {
      now: () => virtual.now(),
      sleepUntil: (_t: number, signal: AbortSignal) =>
        new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true })),
    };
    const { jobs, runs } = recordingJobs(virtual);
    let announceWait: () => void = () => undefined;
    const waiting = new Promise<void>((r) => (announceWait = r));

    // Act
    const run = runScheduler({ jobs, clock, onEvent: (e) => e.type === "waiting" && announceWait() }, controller.signal);
    await waiting;
    controller.abort();
    const stats = await run;

    // Assert
    expect(runs).toEqual(["12:03 ingest 12:00", "12:03 transform catch-up"]);
    expect(stats).toMatchObject({ ingests: 1, transforms: 1 });
  });

  it("lets a running job finish when stopped mid-job, then starts nothing more (no catch-up after an interrupted start)", async () => {
    const controller = new AbortController();
    const clock = new VirtualClock(START * 1000);
    let release: () => void = () => undefined;
    const finished: string[] = [];
    const jobs: SchedulerJobs = {
      ingest: async (slot) => {
        await new Promise<void>((r) => (release = r));
        finished.push(`ingest ${iso(slot)}`);
        return "written";
      },
      transform: async () => {
        finished.push("transform");
        return "done";
      },
    };

    const run = runScheduler({ jobs, clock }, controller.signal);
    await new Promise((r) => setImmediate(r));
    controller.abort();
    release();
    const stats = await run;

    expect(finished).toEqual(["ingest 12:00"]);
    expect(stats).toMatchObject({ ingests: 1, ingestFailures: 0, transforms: 0 });
  });

  it("does nothing when stopped before it starts", async () => {
    const controller = new AbortController();
    controller.abort();
    const clock = new VirtualClock(START * 1000);
    const { jobs, runs } = recordingJobs(clock);

    await runScheduler({ jobs, clock }, controller.signal);

    expect(runs).toEqual([]);
  });

  it.each([
    [{ ingestEverySeconds: 200 }, /ingestEverySeconds must be a positive multiple of 300, got 200/],
    [{ ingestEverySeconds: 0 }, /ingestEverySeconds/],
    [{ transformMinute: 60 }, /transformMinute must be an integer 0-59, got 60/],
    [{ transformMinute: 2.5 }, /transformMinute/],
  ])("rejects %j before running anything", async (options, message) => {
    const clock = new VirtualClock(START * 1000);
    const { jobs, runs } = recordingJobs(clock);

    await expect(runScheduler({ jobs, clock, ...options }, new AbortController().signal)).rejects.toThrow(message);
    expect(runs).toEqual([]);
  });
});

describe("SYSTEM_CLOCK", () => {
  it("returns from a sleep as soon as the signal aborts, and at once for a time already past", async () => {
    const controller = new AbortController();
    const tenHours = SYSTEM_CLOCK.sleepUntil(SYSTEM_CLOCK.now() + 10 * HOUR * 1000, controller.signal).then(() => "woke");
    const past = SYSTEM_CLOCK.sleepUntil(SYSTEM_CLOCK.now() - 1000, new AbortController().signal).then(() => "woke");
    let timer: NodeJS.Timeout | undefined;
    const fallback = new Promise<string>((r) => (timer = setTimeout(() => r("still sleeping"), 5_000)));

    controller.abort();
    const outcomes = await Promise.all([Promise.race([tenHours, fallback]), Promise.race([past, fallback])]);
    clearTimeout(timer);

    expect(outcomes).toEqual(["woke", "woke"]);
  });
});
