import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryExecutionOutput,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StartQueryExecutionInput,
  StopQueryExecutionCommand,
} from "@aws-sdk/client-athena";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, PutObjectCommandInput, S3Client } from "@aws-sdk/client-s3";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { HOUR_SECONDS, HourPartition, partitionOf, partitionPath, partitionStart, processedKey } from "../functions/partitions";
import { athenaInsertTemplate } from "../functions/sqlFiles";
import { renderTemplate } from "../functions/sqlTemplate";
import { manifestKey, transformIdempotencyKey } from "../functions/transform";
import {
  createTransformHandler,
  MAX_MANUAL_HOURS,
  manualHoursOf,
  TRANSFORM_DEADLINE_MARGIN_MS,
  TRANSFORM_ENV,
} from "../functions/transformHandler";
import { captureStdout, lambdaContext } from "./helpers/factories";

const athena = mockClient(AthenaClient);
const s3 = mockClient(S3Client);
const ssm = mockClient(SSMClient);

const ARCHIVE = "archive-bucket-1a2b";
const ANALYTICS = "analytics-bucket-3c4d";
const TEMPLATE_PARAMETER = "/crypto-analytics/dev/transform/insert-template";
const TEMPLATE = athenaInsertTemplate();
// 09:20 UTC: hour 9 is incomplete, hour 8 is the last completed one.
const NOW = Date.UTC(2024, 8, 3, 9, 20);
const LOOKBACK = 3;
const hourOf = (h: number): HourPartition => ({ year: 2024, month: 9, day: 3, hour: h });

const BASE_ENV = {
  [TRANSFORM_ENV.archiveBucket]: ARCHIVE,
  [TRANSFORM_ENV.analyticsBucket]: ANALYTICS,
  [TRANSFORM_ENV.workGroup]: "crypto_wg",
  [TRANSFORM_ENV.database]: "crypto_data",
  [TRANSFORM_ENV.templateParameter]: TEMPLATE_PARAMETER,
  [TRANSFORM_ENV.lookbackHours]: String(LOOKBACK),
  [TRANSFORM_ENV.pipeline]: "crypto-dev",
  [TRANSFORM_ENV.namespace]: "CryptoAnalyticsTest",
};

/** An in-memory S3 behind the mock: ListObjectsV2 / GetObject / PutObject on two buckets. */
function fakeS3(seed: Record<string, Record<string, string>>) {
  const buckets = new Map(Object.entries(seed).map(([b, objects]) => [b, new Map(Object.entries(objects))]));
  s3.on(ListObjectsV2Command).callsFake((input: { Bucket: string; Prefix: string }) => ({
    Contents: [...(buckets.get(input.Bucket)?.keys() ?? [])]
      .filter((k) => k.startsWith(input.Prefix))
      .sort()
      .map((Key) => ({ Key })),
    IsTruncated: false,
  }));
  s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    const body = buckets.get(input.Bucket)?.get(input.Key);
    if (body === undefined)
      throw Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } });
    return { Body: { transformToByteArray: async () => new Uint8Array(Buffer.from(body)) } };
  });
  s3.on(PutObjectCommand).callsFake((input: PutObjectCommandInput) => {
    buckets.get(input.Bucket as string)?.set(input.Key as string, String(input.Body));
    return {};
  });
  return buckets;
}

/** Snapshot timestamps every 5 minutes of an hour (of 3 September when a number), from minute `from` to `to` inclusive. */
function slots(hour: number | HourPartition, from = 0, to = 55): number[] {
  const start = partitionStart(typeof hour === "number" ? hourOf(hour) : hour);
  const out: number[] = [];
  for (let m = from; m <= to; m += 5) out.push(start + m * 60);
  return out;
}

function manifest(hour: number, snapshots: number[]): string {
  return JSON.stringify({ version: 1, partition: partitionPath(hourOf(hour)), snapshots, updatedAt: "2024-09-03T08:05:00.000Z" });
}

/**
 * Hour 6 fully materialised, hour 7 with one late snapshot beyond its manifest, hour 8 never materialised.
 * Hour 9 (current, incomplete) has data that must not be touched.
 */
function seedLake() {
  const objects: Record<string, string> = {};
  for (const t of [...slots(6), ...slots(7, 0, 5), ...slots(8), ...slots(9, 0, 15)]) objects[processedKey(t)] = "gz";
  return fakeS3({
    [ARCHIVE]: objects,
    [ANALYTICS]: { [manifestKey(hourOf(6))]: manifest(6, slots(6)), [manifestKey(hourOf(7))]: manifest(7, slots(7, 0, 0)) },
  });
}

function queryExecution(id: string, State: string, extra: object = {}): GetQueryExecutionOutput {
  return {
    QueryExecution: { QueryExecutionId: id, StatementType: "DML", SubstatementType: "INSERT", Status: { State, ...extra } },
  } as GetQueryExecutionOutput;
}

/** Athena that succeeds every statement with `UpdateCount` = 250 unless `fate` says otherwise for its hour. */
function fakeAthena(fate: (sql: string) => string = () => "SUCCEEDED") {
  const bySql = new Map<string, string>();
  athena.on(StartQueryExecutionCommand).callsFake((input: StartQueryExecutionInput) => {
    const id = `q-hour-${/r\.hour = (\d+)/.exec(input.QueryString as string)?.[1]}`;
    bySql.set(id, input.QueryString as string);
    return { QueryExecutionId: id };
  });
  athena.on(GetQueryExecutionCommand).callsFake((input: { QueryExecutionId: string }) => {
    const state = fate(bySql.get(input.QueryExecutionId) ?? "");
    const extra =
      state === "FAILED"
        ? {
            AthenaError: { ErrorCategory: 2, ErrorType: 1002, ErrorMessage: "HIVE_PARTITION_SCHEMA_MISMATCH: hour 7" },
            StateChangeReason: "schema mismatch",
          }
        : {};
    return queryExecution(input.QueryExecutionId, state, extra);
  });
  athena.on(GetQueryResultsCommand).resolves({ UpdateCount: 250, ResultSet: { Rows: [] } });
  athena.on(StopQueryExecutionCommand).resolves({});
}

/** Lets the handler's real `setTimeout` polling run on jest's fake clock until its promise settles. */
async function settle<T>(promise: Promise<T>): Promise<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 10_000 && !settled; i += 1) await jest.advanceTimersByTimeAsync(250);
  return promise;
}

const context = (remainingMs = 5 * 60_000) => lambdaContext(remainingMs);

let stdout: string[];
const savedEnv = { ...process.env };

beforeEach(() => {
  athena.reset();
  s3.reset();
  ssm.reset();
  ssm.on(GetParameterCommand).resolves({ Parameter: { Name: TEMPLATE_PARAMETER, Type: "String", Value: TEMPLATE } });
  Object.assign(process.env, BASE_ENV);
  jest.useFakeTimers({ now: NOW, doNotFake: ["nextTick", "queueMicrotask", "setImmediate"] });
  stdout = captureStdout();
});

afterEach(() => {
  jest.restoreAllMocks();
  jest.useRealTimers();
  process.env = { ...savedEnv };
});

const startInputs = () => athena.commandCalls(StartQueryExecutionCommand).map((c) => c.args[0].input);
const puts = () => s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
const jsonLines = () =>
  stdout
    .flatMap((s) => s.split("\n"))
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("createTransformHandler", () => {
  it("reads the template from SSM once per container, across invocations", async () => {
    seedLake();
    fakeAthena();
    const handler = createTransformHandler();

    await settle(handler({}, context()));
    await settle(handler({}, context()));

    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input)).toEqual([{ Name: TEMPLATE_PARAMETER }]);
    // The second run finds every snapshot in the manifests and starts nothing.
    expect(startInputs()).toHaveLength(2);
  });

  it("lists the lookback hours of processed/ and starts one INSERT per hour with pending snapshots, oldest first", async () => {
    seedLake();
    fakeAthena();

    const summary = await settle(createTransformHandler()({}, context()));

    expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input)).toEqual(
      [6, 7, 8].map((h) => ({ Bucket: ARCHIVE, Prefix: `processed/${partitionPath(hourOf(h))}/`, ContinuationToken: undefined })),
    );
    expect(startInputs()).toEqual(
      [7, 8].map((h) => ({
        QueryString: renderTemplate(TEMPLATE, hourOf(h)),
        ClientRequestToken: transformIdempotencyKey(hourOf(h), h === 7 ? slots(7, 0, 5) : slots(8), NOW / 1000),
        WorkGroup: "crypto_wg",
        QueryExecutionContext: { Database: "crypto_data" },
      })),
    );
    expect(summary).toEqual({
      hours: [
        { partition: hourOf(7), snapshots: 2, rowsWritten: 250, queryId: "q-hour-7" },
        { partition: hourOf(8), snapshots: 12, rowsWritten: 250, queryId: "q-hour-8" },
      ],
      rowsMaterialised: 500,
      hoursCaughtUp: 1,
      lagHours: 0,
    });
  });

  it("renders the SQL with the hour's partition values and leaves no placeholder", async () => {
    seedLake();
    fakeAthena();

    await settle(createTransformHandler()({}, context()));

    const sql = startInputs()[0].QueryString as string;
    expect(sql).toMatch(/^INSERT INTO analytics_prices\b/);
    for (const alias of ["r", "a"]) {
      expect(sql).toContain(`${alias}.year = 2024`);
      expect(sql).toContain(`${alias}.month = 9`);
      expect(sql).toContain(`${alias}.day = 3`);
      expect(sql).toContain(`${alias}.hour = 7`);
    }
    expect(sql).not.toContain("${");
  });

  it("writes each hour's manifest to the analytics bucket after its statement succeeded", async () => {
    const buckets = seedLake();
    fakeAthena();

    await settle(createTransformHandler()({}, context()));

    expect(puts().map((p) => [p.Bucket, p.Key, p.ContentType])).toEqual([
      [ANALYTICS, manifestKey(hourOf(7)), "application/json"],
      [ANALYTICS, manifestKey(hourOf(8)), "application/json"],
    ]);
    expect(JSON.parse(buckets.get(ANALYTICS)?.get(manifestKey(hourOf(7))) ?? "")).toMatchObject({
      snapshots: slots(7, 0, 5),
      queryId: "q-hour-7",
    });
    // Each manifest is written only after the statement's results were read.
    const resultsCalls = athena.commandCalls(GetQueryResultsCommand);
    const putCalls = s3.commandCalls(PutObjectCommand);
    expect(resultsCalls.map((c) => c.args[0].input.QueryExecutionId)).toEqual(["q-hour-7", "q-hour-8"]);
    resultsCalls.forEach((r, i) => expect(putCalls[i].calledAfter(r)).toBe(true));
  });

  it("emits EMF metrics under the configured namespace and pipeline, and logs every query id", async () => {
    seedLake();
    fakeAthena();

    await settle(createTransformHandler()({}, context()));

    const emf = jsonLines().filter((l) => l._aws !== undefined);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      Pipeline: "crypto-dev",
      RowsMaterialised: 500,
      HoursMaterialised: 2,
      HoursCaughtUp: 1,
      TransformLagHours: 0,
    });
    expect((emf[0]._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0].Namespace).toBe("CryptoAnalyticsTest");
    const started = jsonLines().filter((l) => l.message === "athena query started");
    expect(started.map((l) => [l.queryId, l.pipeline, l.service])).toEqual([
      ["q-hour-7", "crypto-dev", "transform"],
      ["q-hour-8", "crypto-dev", "transform"],
    ]);
  });

  it("FAILED: the handler throws with the AthenaError and writes no manifest for that hour", async () => {
    seedLake();
    fakeAthena((sql) => (sql.includes("r.hour = 7") ? "FAILED" : "SUCCEEDED"));

    const error = await settle(createTransformHandler()({}, context())).catch((err: Error) => err);

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain("year=2024/month=9/day=3/hour=7");
    expect((error as Error).message).toContain(
      "Athena query q-hour-7 FAILED; ErrorCategory=2 (USER) ErrorType=1002: HIVE_PARTITION_SCHEMA_MISMATCH",
    );
    expect(puts().map((p) => p.Key)).toEqual([manifestKey(hourOf(8))]);
    expect(jsonLines()).toContainEqual(expect.objectContaining({ level: "error", queryId: "q-hour-7", state: "FAILED" }));
  });

  it("bounds every Athena wait by the invocation's remaining time: a query still running is stopped before Lambda's end", async () => {
    seedLake();
    fakeAthena(() => "RUNNING");

    const error = await settle(createTransformHandler()({}, context(TRANSFORM_DEADLINE_MARGIN_MS + 4_000))).catch((err: Error) => err);

    expect((error as Error).message).toContain("Athena query q-hour-7 timed out while RUNNING after 4000 ms");
    expect(athena.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input)).toEqual([{ QueryExecutionId: "q-hour-7" }]);
    // Hour 8 found the deadline already passed and started nothing; no manifest was written.
    expect(startInputs()).toHaveLength(1);
    expect(puts()).toEqual([]);
  });

  it("an SSM failure is not cached: the next invocation reads the parameter again", async () => {
    seedLake();
    fakeAthena();
    ssm.reset();
    ssm
      .on(GetParameterCommand)
      .rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }))
      .resolves({ Parameter: { Name: TEMPLATE_PARAMETER, Value: TEMPLATE } });
    const handler = createTransformHandler();

    await expect(settle(handler({}, context()))).rejects.toThrow("Rate exceeded");
    expect(startInputs()).toEqual([]);
    await settle(handler({}, context()));

    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
    expect(startInputs()).toHaveLength(2);
  });

  it.each([
    ["empty", "", "${year}, ${month}, ${day}, ${hour}"],
    [
      "without the hour placeholder",
      "INSERT INTO analytics_prices SELECT 1 WHERE year = ${year} AND month = ${month} AND day = ${day}",
      "${hour}",
    ],
  ])("a template parameter that is %s fails the invocation with its name and starts nothing", async (_name, value, missing) => {
    seedLake();
    fakeAthena();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: TEMPLATE_PARAMETER, Value: value } });

    await expect(settle(createTransformHandler()({}, context()))).rejects.toThrow(
      `SSM parameter ${TEMPLATE_PARAMETER} holds no INSERT template: missing ${missing}`,
    );
    expect(startInputs()).toEqual([]);
  });

  it.each([
    ["no archive bucket", { [TRANSFORM_ENV.archiveBucket]: undefined }, "ARCHIVE_BUCKET is not set"],
    [
      "no workgroup and a blank database",
      { [TRANSFORM_ENV.workGroup]: undefined, [TRANSFORM_ENV.database]: " " },
      "ATHENA_WORKGROUP is not set; GLUE_DATABASE is not set",
    ],
    ["a non-numeric lookback", { [TRANSFORM_ENV.lookbackHours]: "24h" }, 'LOOKBACK_HOURS must be a positive integer, got "24h"'],
    ["a zero lookback", { [TRANSFORM_ENV.lookbackHours]: "0" }, 'LOOKBACK_HOURS must be a positive integer, got "0"'],
  ])("a container with %s fails at cold start, before any AWS call", (_name, change, message) => {
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }

    expect(() => createTransformHandler()).toThrow(`transform function misconfigured: ${message}`);
    expect([athena.calls(), s3.calls(), ssm.calls()].flat()).toEqual([]);
  });
});

describe("manual re-run event", () => {
  // Two days before NOW: far outside the 3-hour lookback.
  const OLD = { year: 2024, month: 9, day: 1, hour: 10 };
  const manualEvent = (...hours: unknown[]) => ({ hours });
  const noAwsCalls = () => expect([athena.calls(), s3.calls(), ssm.calls()].flat()).toEqual([]);

  /** seedLake plus four snapshots of {@link OLD}, which no scheduled run would look at. */
  function seedWithOldHour() {
    const buckets = seedLake();
    for (const t of slots(OLD, 0, 15)) buckets.get(ARCHIVE)?.set(processedKey(t), "gz");
    return buckets;
  }

  it("materialises exactly the named hours, oldest first: one outside the lookback, duplicates collapsed, the current hour included", async () => {
    seedWithOldHour();
    fakeAthena();

    // 08:00Z and 08:30 are one hour; 11:20+02:00 is 09:20 UTC, the current hour.
    const summary = await settle(
      createTransformHandler()(manualEvent("2024-09-03T08:00Z", "2024-09-01T10", "2024-09-03T08:30", "2024-09-03T11:20+02:00"), context()),
    );

    const named = [OLD, hourOf(8), hourOf(9)];
    expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix)).toEqual(
      named.map((p) => `processed/${partitionPath(p)}/`),
    );
    expect(startInputs()).toEqual(
      [
        [OLD, slots(OLD, 0, 15)],
        [hourOf(8), slots(8)],
        [hourOf(9), slots(9, 0, 15)],
      ].map(([p, snapshots]) => ({
        QueryString: renderTemplate(TEMPLATE, p as HourPartition),
        ClientRequestToken: transformIdempotencyKey(p as HourPartition, snapshots as number[], NOW / 1000),
        WorkGroup: "crypto_wg",
        QueryExecutionContext: { Database: "crypto_data" },
      })),
    );
    // Hour 7 has a pending snapshot but was not named: untouched.
    expect(puts().map((p) => p.Key)).toEqual(named.map(manifestKey));
    expect(summary).toMatchObject({ hours: named.map((partition) => ({ partition, rowsWritten: 250 })), rowsMaterialised: 750 });
    expect(jsonLines()).toContainEqual(
      expect.objectContaining({ message: "manual re-run", hours: named.map(partitionPath), pipeline: "crypto-dev" }),
    );
  });

  it("skips a named hour whose manifest lists every snapshot; deleting the manifest object makes the next run redo it", async () => {
    const buckets = seedLake();
    fakeAthena();
    const handler = createTransformHandler();

    const skipped = await settle(handler(manualEvent("2024-09-03T06"), context()));
    expect(skipped.hours).toEqual([]);
    expect(startInputs()).toEqual([]);

    buckets.get(ANALYTICS)?.delete(manifestKey(hourOf(6)));
    const redone = await settle(handler(manualEvent("2024-09-03T06"), context()));

    expect(startInputs().map((i) => i.QueryString)).toEqual([renderTemplate(TEMPLATE, hourOf(6))]);
    expect(redone.hours).toEqual([{ partition: hourOf(6), snapshots: 12, rowsWritten: 250, queryId: "q-hour-6" }]);
    expect(JSON.parse(buckets.get(ANALYTICS)?.get(manifestKey(hourOf(6))) ?? "")).toMatchObject({ snapshots: slots(6) });
  });

  it.each([
    ["the Scheduler's event", { scheduledTime: "2024-09-03T09:05:00Z" }],
    ["an empty event", {}],
    ["an event that is not an object", null],
  ])("%s runs the lookback catch-up", async (_name, event) => {
    seedWithOldHour();
    fakeAthena();

    const summary = await settle(createTransformHandler()(event, context()));

    expect(startInputs().map((i) => i.QueryString)).toEqual([7, 8].map((h) => renderTemplate(TEMPLATE, hourOf(h))));
    expect(summary.hours.map((h) => h.partition)).toEqual([hourOf(7), hourOf(8)]);
    expect(jsonLines().filter((l) => l.message === "manual re-run")).toEqual([]);
  });

  const tooMany = Array.from({ length: MAX_MANUAL_HOURS + 1 }, (_, i) =>
    new Date((partitionStart(hourOf(9)) - i * HOUR_SECONDS) * 1000).toISOString(),
  );
  it.each([
    [
      "hours that is not an array",
      { hours: "2024-09-03T07" },
      'manual transform event: hours must be a non-empty array of ISO-8601 times such as "2024-09-03T07", got string',
    ],
    ["null hours", { hours: null }, 'hours must be a non-empty array of ISO-8601 times such as "2024-09-03T07", got null'],
    ["empty hours", manualEvent(), 'hours must be a non-empty array of ISO-8601 times such as "2024-09-03T07", got an empty array'],
    [
      "too many distinct hours",
      { hours: tooMany },
      `manual transform event: at most ${MAX_MANUAL_HOURS} distinct hours per invocation, got ${MAX_MANUAL_HOURS + 1}; split them over several events`,
    ],
    [
      "a string that is no time",
      manualEvent("yesterday"),
      'manual transform event: hours[0] must be an ISO-8601 time such as 2024-09-03T07:00Z, got "yesterday"',
    ],
    [
      "a day that does not exist, after a valid hour",
      manualEvent("2024-09-03T07", "2024-02-30T00"),
      'hours[1] must be an ISO-8601 time such as 2024-09-03T07:00Z, got "2024-02-30T00"',
    ],
    [
      "an hour that has not started",
      manualEvent("2024-09-03T10:00Z"),
      'hours[0] "2024-09-03T10:00Z" is in the future (now 2024-09-03T09:20:00.000Z)',
    ],
    [
      "an hour before the tables' year range",
      manualEvent("2001-01-01T00"),
      'hours[0] "2001-01-01T00" is out of range: hour partition year must be within 2009..2100, got 2001',
    ],
    ["a number", manualEvent(partitionStart(hourOf(7))), 'hours[0] must be an ISO-8601 time string such as "2024-09-03T07", got number'],
  ])("rejects an event with %s before any AWS call", async (_name, event, message) => {
    seedLake();
    fakeAthena();

    await expect(createTransformHandler()(event, context())).rejects.toThrow(message);
    noAwsCalls();
  });

  it(`accepts up to ${MAX_MANUAL_HOURS} distinct hours, however many times each is named`, () => {
    const distinct = tooMany.slice(1);
    const hours = manualHoursOf({ hours: [...distinct, ...distinct.map((iso) => iso.replace(":00:00.000Z", ":59Z"))] }, NOW);

    expect(hours).toEqual(distinct.map((iso) => partitionOf(Date.parse(iso) / 1000)).reverse());
  });
});
