/**
 * The scheduled-job settings shared by IngestLake and AnalyticsLayer: what a component's args leave unset
 * comes from its defaults constant, a given value (even 0) wins, and nothing else is picked from the args.
 */
import { INGEST_JOB_DEFAULTS, IngestLakeArgs } from "../components/ingestLake";
import { TRANSFORM_JOB_DEFAULTS } from "../components/analyticsLayer";
import { jobSettings } from "../components/scheduledFunction";

describe("jobSettings", () => {
  test("unset settings come from the component's defaults, and only job settings are picked", () => {
    const args: IngestLakeArgs = { topN: 100, memoryMb: 512, coingeckoPlan: "keyless" };
    expect(jobSettings(args, INGEST_JOB_DEFAULTS)).toEqual({
      scheduleExpression: "rate(5 minutes)",
      timeoutSeconds: 180,
      memoryMb: 512,
      maxEventAgeSeconds: INGEST_JOB_DEFAULTS.maxEventAgeSeconds,
    });
  });

  test("a given 0 stays 0 (defaults apply with ??, not ||)", () => {
    expect(jobSettings({ maxRetryAttempts: 0, scheduleRetryAttempts: 0 }, TRANSFORM_JOB_DEFAULTS)).toMatchObject({
      maxRetryAttempts: 0,
      scheduleRetryAttempts: 0,
    });
  });

  test("every job setting of the args is passed through, the schedule's time zone included", () => {
    const all = {
      scheduleExpression: "rate(10 minutes)",
      scheduleTimezone: "Europe/Paris",
      timeoutSeconds: 120,
      memoryMb: 1024,
      logRetentionDays: 90,
      maxEventAgeSeconds: 600,
      maxRetryAttempts: 1,
      scheduleRetryAttempts: 5,
    };
    expect(jobSettings(all, TRANSFORM_JOB_DEFAULTS)).toEqual(all);
  });
});
