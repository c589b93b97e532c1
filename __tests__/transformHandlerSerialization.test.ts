/**
 * The transform handler as Lambda will run it: serialized by Pulumi's closure serializer and bundled
 * (exactly what components/functionCode.ts deploys), written out as `__index.js` and run in a fresh Node
 * process, with only the runtime's AWS SDK on its module path, against a loopback AWS stand-in (S3, SSM
 * and Athena over real HTTP).
 */
import * as pulumi from "@pulumi/pulumi";
import { bundledHandler } from "../components/functionCode";
import { LAMBDA_RUNTIME } from "../components/scheduledFunction";
import { floorToHour, HOUR_SECONDS, partitionOf, partitionPath, processedKey } from "../functions/partitions";
import { athenaInsertTemplate } from "../functions/sqlFiles";
import { renderTemplate } from "../functions/sqlTemplate";
import { manifestKey } from "../functions/transform";
import { createTransformHandler, TRANSFORM_ENV } from "../functions/transformHandler";
import { createAthenaStandIn } from "./helpers/athenaStandIn";
import { AwsStandIn, startAwsStandIn } from "./helpers/awsStandIn";
import { removeTempDir } from "./helpers/factories";
import { runSerializedHandler, serializedHandlerEnv, writeSerializedHandler } from "./helpers/serializedHandler";

const ARCHIVE = "archive-bucket-serialized";
const ANALYTICS = "analytics-bucket-serialized";
const TEMPLATE_PARAMETER = "/crypto-analytics/test/transform/insert-template";
const SECRET_SENTINEL = "CG-sentinel-secret-9f8e7d6c5b4a";

const TRANSFORM_SETTINGS = {
  [TRANSFORM_ENV.archiveBucket]: ARCHIVE,
  [TRANSFORM_ENV.analyticsBucket]: ANALYTICS,
  [TRANSFORM_ENV.workGroup]: "crypto_wg_serialized",
  [TRANSFORM_ENV.database]: "crypto_data_serialized",
  [TRANSFORM_ENV.templateParameter]: TEMPLATE_PARAMETER,
  // Two hours: the seeded hour stays inside the window even if the clock crosses an hour during the test.
  [TRANSFORM_ENV.lookbackHours]: "2",
  [TRANSFORM_ENV.pipeline]: "crypto-serialized",
};

let text: string;
let dir: string;

beforeAll(async () => {
  // Set while serializing: a factory that captured process.env (or a value read from it at import time)
  // would carry these into the function text.
  const saved = { ...process.env };
  Object.assign(process.env, TRANSFORM_SETTINGS, { COINGECKO_API_KEY: SECRET_SENTINEL });
  try {
    text = await bundledHandler("transform", createTransformHandler, LAMBDA_RUNTIME);
  } finally {
    process.env = saved;
  }
  dir = writeSerializedHandler(text, "transform-serialized");
});

afterAll(async () => {
  removeTempDir(dir);
  await pulumi.runtime.disconnect();
});

describe("transform handler serialization", () => {
  it("exports the factory's handler and requires only the SDK clients and Node built-ins", () => {
    const required = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    const packages = [...new Set(required.filter((r) => !r.startsWith("node:") && !["crypto", "timers/promises"].includes(r)))].sort();

    expect(text).toMatch(/^exports\.handler = /m);
    expect(packages).toEqual([
      "@aws-sdk/client-athena/dist-cjs/index.js",
      "@aws-sdk/client-s3/dist-cjs/index.js",
      "@aws-sdk/client-ssm/dist-cjs/index.js",
    ]);
    expect(text).not.toMatch(/require\("@duckdb/);
    expect(text).not.toMatch(/require\("@pulumi/);
  });

  it("captures no secret and no configuration value: they are read from the environment and SSM at run time", () => {
    expect(text).not.toContain(SECRET_SENTINEL);
    const names = Object.values(TRANSFORM_SETTINGS).filter((v) => v.length > 2);
    expect(names).toHaveLength(6);
    for (const value of names) expect(text).not.toContain(value);
    expect(text).not.toContain("INSERT INTO analytics_prices");
  });
});

describe("the serialized handler in a fresh Node process", () => {
  let aws: AwsStandIn;
  /** INSERTs to answer FAILED before the stand-in lets them succeed again. */
  let failingInserts = 0;
  const athena = createAthenaStandIn((sql) => {
    if (!/^INSERT/.test(sql)) return {};
    if (failingInserts > 0) {
      failingInserts -= 1;
      return {
        states: ["RUNNING", "FAILED"],
        athenaError: { ErrorCategory: 1, ErrorType: 401, ErrorMessage: "GENERIC_INTERNAL_ERROR: worker lost" },
      };
    }
    return { states: ["RUNNING", "SUCCEEDED"], updateCount: 250 };
  });

  beforeAll(async () => {
    aws = await startAwsStandIn({ routes: [athena.route] });
  });
  afterAll(() => aws.close());

  it("materialises the last completed hour through S3, SSM and Athena over HTTP, and a second invocation finds nothing to do", async () => {
    const hourStart = floorToHour(Math.floor(Date.now() / 1000)) - HOUR_SECONDS;
    const hour = partitionOf(hourStart);
    const snapshots = [hourStart, hourStart + 300, hourStart + 600];
    aws.buckets.set(ARCHIVE, new Map(snapshots.map((t) => [processedKey(t), { body: Buffer.from("gz") }])));
    aws.buckets.set(ANALYTICS, new Map());
    const template = athenaInsertTemplate();
    aws.parameters.set(TEMPLATE_PARAMETER, template);
    const event = { source: "aws.scheduler" };

    const run = await runSerializedHandler(dir, [event, event], serializedHandlerEnv(dir, aws, TRANSFORM_SETTINGS));

    const queryId = athena.queries[0]?.id;
    // lagHours/hoursCaughtUp are left out: they depend on whether the wall clock crossed an hour meanwhile.
    expect(run.outcomes).toEqual([
      { result: expect.objectContaining({ hours: [{ partition: hour, snapshots: 3, rowsWritten: 250, queryId }], rowsMaterialised: 250 }) },
      { result: expect.objectContaining({ hours: [], rowsMaterialised: 0 }) },
    ]);
    // One container: the template was read once for both invocations.
    expect(aws.ops("GetParameter").map((r) => r.input)).toEqual([{ Name: TEMPLATE_PARAMETER }]);
    expect(athena.queries.map((q) => [q.sql, q.workGroup, q.database, q.token.length])).toEqual([
      [renderTemplate(template, hour), "crypto_wg_serialized", "crypto_data_serialized", 64],
    ]);
    const manifest = aws.buckets.get(ANALYTICS)?.get(manifestKey(hour));
    expect(JSON.parse(manifest?.body.toString("utf8") ?? "null")).toMatchObject({ snapshots, queryId });
    expect(manifest?.contentType).toBe("application/json");
    // S3 calls went path-style to the IP endpoint: /<bucket>/<key>.
    expect(aws.ops("PutObject").map((r) => r.url.split("?")[0])).toEqual([
      `/${ANALYTICS}/${manifestKey(hour).split("/").map(encodeURIComponent).join("/")}`,
    ]);
    expect(run.jsonLines()).toContainEqual(
      expect.objectContaining({ message: "athena query started", queryId, pipeline: "crypto-serialized" }),
    );
    expect(run.jsonLines()).toContainEqual(
      expect.objectContaining({ Pipeline: "crypto-serialized", RowsMaterialised: 250, HoursMaterialised: 1 }),
    );
  });

  it("an INSERT that Athena FAILED is run again by the retry, under the next attempt token, and the hour is materialised once", async () => {
    // Like Lambda's async retries of one scheduled event: the same event three times in one container.
    const hourStart = floorToHour(Math.floor(Date.now() / 1000)) - HOUR_SECONDS;
    const hour = partitionOf(hourStart);
    aws.buckets.set(ARCHIVE, new Map([[processedKey(hourStart), { body: Buffer.from("gz") }]]));
    aws.buckets.set(ANALYTICS, new Map());
    aws.parameters.set(TEMPLATE_PARAMETER, athenaInsertTemplate());
    const queriesBefore = athena.queries.length;
    const putsBefore = aws.ops("PutObject").length;
    failingInserts = 1;
    const event = { scheduledTime: new Date().toISOString() };

    const run = await runSerializedHandler(dir, [event, event, event], serializedHandlerEnv(dir, aws, TRANSFORM_SETTINGS));

    const [failed, retried] = athena.queries.slice(queriesBefore);
    expect(athena.queries.slice(queriesBefore)).toHaveLength(2);
    expect(run.outcomes).toEqual([
      {
        error: expect.stringContaining(
          `Athena query ${failed.id} FAILED; ErrorCategory=1 (SYSTEM) ErrorType=401: GENERIC_INTERNAL_ERROR: worker lost`,
        ),
      },
      {
        result: expect.objectContaining({
          hours: [{ partition: hour, snapshots: 1, rowsWritten: 250, queryId: retried.id }],
          rowsMaterialised: 250,
        }),
      },
      { result: expect.objectContaining({ hours: [], rowsMaterialised: 0 }) },
    ]);
    // Same statement, a new token: the reused token would have returned the FAILED execution again.
    expect(retried.sql).toBe(failed.sql);
    expect(retried.token).not.toBe(failed.token);
    // Exactly one statement succeeded and one manifest was written, naming it.
    expect(aws.ops("PutObject").slice(putsBefore)).toHaveLength(1);
    expect(JSON.parse(aws.buckets.get(ANALYTICS)?.get(manifestKey(hour))?.body.toString("utf8") ?? "null")).toMatchObject({
      snapshots: [hourStart],
      queryId: retried.id,
    });
  });

  it("a manual re-run event materialises a named hour outside the lookback, and an invalid one fails with a clear error", async () => {
    // Three days back: far outside the two-hour lookback, so only the manual event can reach it.
    const hourStart = floorToHour(Math.floor(Date.now() / 1000)) - 72 * HOUR_SECONDS;
    const hour = partitionOf(hourStart);
    aws.buckets.set(ARCHIVE, new Map([[processedKey(hourStart), { body: Buffer.from("gz") }]]));
    aws.buckets.set(ANALYTICS, new Map());
    const template = athenaInsertTemplate();
    aws.parameters.set(TEMPLATE_PARAMETER, template);
    const queriesBefore = athena.queries.length;
    const listsBefore = aws.ops("ListObjectsV2").length;
    const iso = new Date(hourStart * 1000).toISOString().slice(0, 13);

    const run = await runSerializedHandler(
      dir,
      [{ hours: ["2024-02-30T00"] }, { hours: [iso, `${iso}:45Z`] }],
      serializedHandlerEnv(dir, aws, TRANSFORM_SETTINGS),
    );

    const newQueries = athena.queries.slice(queriesBefore);
    expect(run.outcomes).toEqual([
      { error: 'manual transform event: hours[0] must be an ISO-8601 time such as 2024-09-03T07:00Z, got "2024-02-30T00"' },
      {
        result: expect.objectContaining({
          hours: [{ partition: hour, snapshots: 1, rowsWritten: 250, queryId: newQueries[0]?.id }],
          rowsMaterialised: 250,
        }),
      },
    ]);
    expect(newQueries.map((q) => q.sql)).toEqual([renderTemplate(template, hour)]);
    // Only the named hour was listed: no lookback hour was looked at.
    expect(
      aws
        .ops("ListObjectsV2")
        .slice(listsBefore)
        .map((r) => new URL(r.url, aws.url).searchParams.get("prefix")),
    ).toEqual([`processed/${partitionPath(hour)}/`]);
    expect(aws.buckets.get(ANALYTICS)?.has(manifestKey(hour))).toBe(true);
  });
});
