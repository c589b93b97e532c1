/**
 * `crypto-analytics verify` end to end through the library (runVerify) against a mocked stack: every AWS
 * call is asserted (command and input, in order), and so is the promise that verify changes nothing but its
 * two invocations and its SELECTs. Time is virtual (IdleClock), so timeouts fire without waiting.
 */
import { GetQueryExecutionCommand, StartQueryExecutionCommand, StartQueryExecutionInput } from "@aws-sdk/client-athena";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { ListIngestionsCommand } from "@aws-sdk/client-quicksight";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { GetTopicAttributesCommand } from "@aws-sdk/client-sns";
import { DEFAULT_INGEST_TIMEOUT_SECONDS } from "../components/ingestLake";
import { DEFAULT_TRANSFORM_TIMEOUT_SECONDS } from "../components/analyticsLayer";
import { floorToSlot, hourPrefix, partitionOf, processedKey, rawKey } from "../functions/partitions";
import { manifestKey } from "../functions/transform";
import {
  CheckResult,
  createVerifyClients,
  DEFAULT_INGEST_CHECK_TIMEOUT_MS,
  DEFAULT_QUICKSIGHT_CHECK_TIMEOUT_MS,
  DEFAULT_TRANSFORM_CHECK_TIMEOUT_MS,
  formatCheckLine,
  QUICKSIGHT_POLL_MS,
  runVerify,
  VerifyReport,
} from "../verify/checks";
import { parseStackOutputs, VerifyTargets } from "../verify/stackOutputs";
import { IdleClock } from "./helpers/idleClock";
import {
  ACCOUNT,
  ANALYTICS,
  ARCHIVE,
  athena,
  changingCalls,
  DATA_SET_VIEWS,
  DATA_SOURCE_ID,
  dataSetId,
  healthyStack,
  INGEST_FN,
  ingestion,
  invokeResponse,
  lambda,
  queryIdOf,
  quicksight,
  RecordedCall,
  recordedCalls,
  REGION,
  selectExecution,
  serviceError,
  signalsOf,
  sns,
  s3,
  stackOutputs,
  stackOutputsWithoutQuickSight,
  TOPIC_ARN,
  TRANSFORM_FN,
  viewCalls,
  VIEWS,
  WORKGROUP,
} from "./helpers/verifyStack";

// 15:47:12 UTC: the current slot is 15:45, its hour 15:00.
const NOW = Date.UTC(2026, 11, 2, 15, 47, 12);
const SLOT = floorToSlot(NOW / 1000);
const SLOT_ISO = "2026-12-02T15:45:00Z";
const HOUR_ISO = "2026-12-02T15:00:00Z";
const HOUR = partitionOf(SLOT);

const targets = (outputs = stackOutputs()): VerifyTargets => parseStackOutputs(outputs, "test outputs");

async function verify(t: VerifyTargets = targets()): Promise<VerifyReport & { lines: string[]; clock: IdleClock }> {
  const clock = new IdleClock(NOW);
  const lines: string[] = [];
  const report = await runVerify(t, { clock, clients: createVerifyClients(t), onResult: (r) => lines.push(formatCheckLine(r)) });
  return { ...report, lines, clock };
}

function result(report: VerifyReport, name: string): CheckResult {
  const found = report.results.find((r) => r.name === name);
  if (found === undefined) throw new Error(`no check named ${name}: ${report.results.map((r) => r.name).join(", ")}`);
  return found;
}

const ingestCalls = (): RecordedCall[] => [
  { command: "InvokeCommand", input: { FunctionName: INGEST_FN, InvocationType: "RequestResponse", Payload: { scheduledTime: SLOT_ISO } } },
  {
    command: "ListObjectsV2Command",
    input: { Bucket: ARCHIVE, Prefix: `${hourPrefix("raw", HOUR)}${SLOT}`, ContinuationToken: undefined },
  },
  {
    command: "ListObjectsV2Command",
    input: { Bucket: ARCHIVE, Prefix: `${hourPrefix("processed", HOUR)}${SLOT}`, ContinuationToken: undefined },
  },
];
const transformCalls = (): RecordedCall[] => [
  { command: "InvokeCommand", input: { FunctionName: TRANSFORM_FN, InvocationType: "RequestResponse", Payload: { hours: [HOUR_ISO] } } },
  { command: "GetObjectCommand", input: { Bucket: ANALYTICS, Key: manifestKey(HOUR) } },
  { command: "ListObjectsV2Command", input: { Bucket: ANALYTICS, Prefix: hourPrefix("analytics", HOUR), ContinuationToken: undefined } },
];
const allViewCalls = (): RecordedCall[] => VIEWS.flatMap(viewCalls);
const topicCalls = (): RecordedCall[] => [{ command: "GetTopicAttributesCommand", input: { TopicArn: TOPIC_ARN } }];
const dataSourceCalls = (): RecordedCall[] => [
  { command: "DescribeDataSourceCommand", input: { AwsAccountId: ACCOUNT, DataSourceId: DATA_SOURCE_ID } },
];
const ingestionCalls = (view: string, pages: (string | undefined)[] = [undefined]): RecordedCall[] =>
  pages.map((NextToken) => ({
    command: "ListIngestionsCommand",
    input: { AwsAccountId: ACCOUNT, DataSetId: dataSetId(view), MaxResults: 100, NextToken },
  }));
const quicksightCalls = (): RecordedCall[] => [...dataSourceCalls(), ...DATA_SET_VIEWS.flatMap((v) => ingestionCalls(v))];

beforeEach(() => healthyStack(SLOT));

afterEach(() => {
  // Whatever happened, verify changed nothing but its two invocations and read-only SELECTs of the views.
  for (const call of changingCalls(recordedCalls())) {
    if (call.command === "InvokeCommand") expect([INGEST_FN, TRANSFORM_FN]).toContain(call.input.FunctionName);
    else {
      expect(call.command).toBe("StartQueryExecutionCommand");
      expect(call.input.QueryString).toMatch(/^SELECT \* FROM "v_\w+" LIMIT 10$/);
    }
  }
  expect(changingCalls(recordedCalls()).filter((c) => c.command === "InvokeCommand").length).toBeLessThanOrEqual(2);
});

describe("a healthy stack", () => {
  it("passes every check, one line each, exit code 0, with exactly these calls in this order", async () => {
    const report = await verify();

    expect(report.exitCode).toBe(0);
    expect(report.results.map((r) => [r.name, r.status])).toEqual([
      ["ingest", "pass"],
      ["transform", "pass"],
      ...VIEWS.map((v) => [`view ${v}`, "pass"]),
      ["alarm topic", "pass"],
      ["quicksight data source", "pass"],
      ...DATA_SET_VIEWS.map((v) => [`spice ${v}`, "pass"]),
    ]);
    expect(recordedCalls()).toEqual([...ingestCalls(), ...transformCalls(), ...allViewCalls(), ...topicCalls(), ...quicksightCalls()]);
    expect(report.lines[0]).toBe(`PASS ingest (0.0 s): slot ${SLOT_ISO} written: ${rawKey(SLOT)} and ${processedKey(SLOT)} (250 coins)`);
    expect(report.lines[1]).toMatch(
      /^PASS transform \(0\.0 s\): hour 2026-12-02T15:00:00Z: manifest lists the slot \(2 snapshots\), 1 file\(s\) under analytics\/year=2026\/month=12\/day=2\/hour=15\/, 250 row\(s\) written now$/,
    );
    expect(report.lines).toContain(`PASS view v_top_100 (0.5 s): 2 row(s) (query q-v_top_100)`);
    expect(report.lines).toContain(`PASS alarm topic (0.0 s): ${TOPIC_ARN}: 1 confirmed subscription(s)`);
    expect(report.lines).toContain(
      `PASS spice v_top_100 (0.0 s): ingestion ${dataSetId("v_top_100")}-hourly of 2026-12-02T15:45:00.000Z COMPLETED, 250 row(s)`,
    );
  });

  it("invokes the ingest function exactly as EventBridge Scheduler would for the current slot, with a live abort signal per call", async () => {
    await verify();
    // The Scheduler target's input is {"scheduledTime":"<aws.scheduler.scheduled-time>"}, which Scheduler
    // fills with e.g. 2022-03-22T18:59:43Z (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html).
    expect(recordedCalls()[0].input.Payload).toEqual({ scheduledTime: SLOT_ISO });
    // Each check aborts its signal once it is over, so nothing of it lingers.
    expect(signalsOf("InvokeCommand").map((s) => s?.aborted)).toEqual([true, true]);
  });

  it("reports an already-written slot (the Scheduler got there first) as a pass", async () => {
    lambda.on(InvokeCommand, { FunctionName: INGEST_FN }).resolves(
      invokeResponse({
        ...JSON.parse('{"coins":250,"dropped":0}'),
        timestamp: SLOT,
        status: "already-written",
        rawKeys: [rawKey(SLOT)],
        processedKey: processedKey(SLOT),
      }),
    );
    const report = await verify();
    expect(result(report, "ingest")).toMatchObject({ status: "pass", detail: expect.stringContaining("already-written") });
    expect(report.exitCode).toBe(0);
  });
});

describe("failures, each as one clear line", () => {
  it("the ingest function never answers: timed out at the limit, the call aborted, the transform skipped, the rest still checked", async () => {
    lambda.on(InvokeCommand, { FunctionName: INGEST_FN }).callsFake(() => new Promise(() => undefined));

    const report = await verify();

    expect(report.exitCode).toBe(1);
    expect(result(report, "ingest")).toEqual({
      name: "ingest",
      status: "fail",
      seconds: DEFAULT_INGEST_CHECK_TIMEOUT_MS / 1000,
      detail: `timed out after 210 s during lambda:InvokeFunction (function ${INGEST_FN})`,
      fix: "raise --ingest-timeout if the function needs longer",
    });
    expect(result(report, "transform")).toMatchObject({
      status: "skip",
      detail: "the ingest check failed, so the hour has no new snapshot to materialise",
    });
    expect(report.lines[1]).toBe("SKIP transform (0.0 s): the ingest check failed, so the hour has no new snapshot to materialise");
    expect(signalsOf("InvokeCommand")[0]?.aborted).toBe(true);
    expect(recordedCalls()).toEqual([ingestCalls()[0], ...allViewCalls(), ...topicCalls(), ...quicksightCalls()]);
  });

  it("the ingest function fails: its FunctionError and message, and for AccessDenied the action and the function's role", async () => {
    const message =
      "User: arn:aws:sts::123456789012:assumed-role/crypto-ingest-role-4e1d2c3/crypto-ingest-5f2a9c1 is not authorized to perform: s3:PutObject on resource: " +
      `arn:aws:s3:::${ARCHIVE}/raw/year=2026/month=12/day=2/hour=15/${SLOT}.json because no identity-based policy allows the s3:PutObject action`;
    lambda
      .on(InvokeCommand, { FunctionName: INGEST_FN })
      .resolves(invokeResponse({ errorType: "AccessDenied", errorMessage: message, trace: [] }, "Unhandled"));

    const report = await verify();

    expect(result(report, "ingest")).toMatchObject({
      status: "fail",
      detail: `${INGEST_FN} returned FunctionError Unhandled: AccessDenied: ${message}`,
      fix: `grant s3:PutObject on arn:aws:s3:::${ARCHIVE}/raw/year=2026/month=12/day=2/hour=15/${SLOT}.json to role crypto-ingest-role-4e1d2c3 (the function's role belongs to the stack: \`pulumi up\` restores its policy)`,
    });
    expect(recordedCalls()).toEqual([ingestCalls()[0], ...allViewCalls(), ...topicCalls(), ...quicksightCalls()]);
  });

  it("the transform function fails: its error message and where its logs are", async () => {
    lambda
      .on(InvokeCommand, { FunctionName: TRANSFORM_FN })
      .resolves(
        invokeResponse(
          { errorType: "Error", errorMessage: "transform failed for 1 hour(s): year=2026/month=12/day=2/hour=15: HIVE_BAD_DATA" },
          "Unhandled",
        ),
      );
    const report = await verify();
    expect(result(report, "transform")).toMatchObject({
      status: "fail",
      detail: `${TRANSFORM_FN} returned FunctionError Unhandled: Error: transform failed for 1 hour(s): year=2026/month=12/day=2/hour=15: HIVE_BAD_DATA`,
      fix: `see the function's log group /aws/lambda/${TRANSFORM_FN} in CloudWatch Logs`,
    });
    expect(recordedCalls()).toEqual([...ingestCalls(), transformCalls()[0], ...allViewCalls(), ...topicCalls(), ...quicksightCalls()]);
  });

  it("the transform succeeds but its manifest does not list the slot", async () => {
    s3.on(GetObjectCommand).rejects(serviceError("NoSuchKey", "The specified key does not exist.", 404));
    const report = await verify();
    expect(result(report, "transform")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining(`s3://${ANALYTICS}/${manifestKey(HOUR)} does not exist`),
    });
    expect(recordedCalls()).toEqual([
      ...ingestCalls(),
      ...transformCalls().slice(0, 2),
      ...allViewCalls(),
      ...topicCalls(),
      ...quicksightCalls(),
    ]);
  });

  describe.each([
    [
      "with the principal in AWS's message",
      "User: arn:aws:sts::123456789012:assumed-role/ops-verify/alice is not authorized to perform: athena:StartQueryExecution on resource: " +
        `arn:aws:athena:${REGION}:${ACCOUNT}:workgroup/${WORKGROUP} because no identity-based policy allows the athena:StartQueryExecution action`,
      `grant athena:StartQueryExecution on arn:aws:athena:${REGION}:${ACCOUNT}:workgroup/${WORKGROUP} to role ops-verify`,
    ],
    [
      "without it",
      "Access denied",
      `grant athena:StartQueryExecution on arn:aws:athena:${REGION}:${ACCOUNT}:workgroup/${WORKGROUP} to the credentials verify runs with (see \`aws sts get-caller-identity\`)`,
    ],
  ])("AccessDenied on Athena %s", (_case, message, fix) => {
    it("fails every view naming the action, the workgroup and the role; the other checks still run", async () => {
      athena.on(StartQueryExecutionCommand).rejects(serviceError("AccessDeniedException", message, 400));

      const report = await verify();

      expect(report.exitCode).toBe(1);
      for (const view of VIEWS) {
        expect(result(report, `view ${view}`)).toMatchObject({
          status: "fail",
          detail: `athena:StartQueryExecution failed: AccessDeniedException: ${message}`,
          fix,
        });
      }
      expect(report.lines).toContain(
        `FAIL view v_top_100 (0.0 s): athena:StartQueryExecution failed: AccessDeniedException: ${message}; fix: ${fix}`,
      );
      expect(result(report, "ingest").status).toBe("pass");
      expect(result(report, "alarm topic").status).toBe("pass");
      expect(recordedCalls()).toEqual([
        ...ingestCalls(),
        ...transformCalls(),
        ...VIEWS.map((v) => viewCalls(v)[0]),
        ...topicCalls(),
        ...quicksightCalls(),
      ]);
    });
  });

  describe.each([
    [
      "a column the query cannot resolve",
      "line 4:3: Column 'p.price_change_pct_7d' cannot be resolved",
      "Athena says: line 4:3: Column 'p.price_change_pct_7d' cannot be resolved",
    ],
    [
      "a view older than its columns",
      "VIEW_IS_STALE: line 1:15: View 'awsdatacatalog.crypto_data_dev.v_trending' is stale or in invalid state",
      "the catalog does not match this version's views (VIEW_IS_STALE: line 1:15: View 'awsdatacatalog.crypto_data_dev.v_trending' is stale or in invalid state): run `pulumi up`",
    ],
  ])("a FAILED view query: %s", (_case, reason, fix) => {
    it("fails that view with Athena's StateChangeReason; the other views pass", async () => {
      athena.on(GetQueryExecutionCommand, { QueryExecutionId: "q-v_trending" }).resolves(
        selectExecution("q-v_trending", "FAILED", {
          StateChangeReason: reason,
          AthenaError: { ErrorCategory: 2, ErrorType: 1006, ErrorMessage: reason },
        }) as never,
      );

      const report = await verify();

      expect(result(report, "view v_trending")).toMatchObject({
        status: "fail",
        detail: `Athena query q-v_trending FAILED; ErrorCategory=2 (USER) ErrorType=1006: ${reason}; StateChangeReason: ${reason}`,
        fix,
      });
      expect(report.results.filter((r) => r.status === "fail").map((r) => r.name)).toEqual(["view v_trending"]);
      expect(report.exitCode).toBe(1);
      const calls = allViewCalls().filter((c) => !(c.command === "GetQueryResultsCommand" && c.input.QueryExecutionId === "q-v_trending"));
      expect(recordedCalls()).toEqual([...ingestCalls(), ...transformCalls(), ...calls, ...topicCalls(), ...quicksightCalls()]);
    });
  });

  it("a view that returns no rows fails, pointing at the partition layout", async () => {
    athena
      .on(StartQueryExecutionCommand)
      .callsFake((input: StartQueryExecutionInput) => ({ QueryExecutionId: queryIdOf(input.QueryString ?? "") }));
    const { GetQueryResultsCommand } = await import("@aws-sdk/client-athena");
    athena.on(GetQueryResultsCommand, { QueryExecutionId: "q-v_btc_24h" }).resolves({
      ResultSet: { ResultSetMetadata: { ColumnInfo: [{ Name: "timestamp" }] }, Rows: [{ Data: [{ VarCharValue: "timestamp" }] }] },
    } as never);
    const report = await verify();
    expect(result(report, "view v_btc_24h")).toMatchObject({
      status: "fail",
      detail: "v_btc_24h returned no rows (query q-v_btc_24h)",
      fix: expect.stringContaining("unpadded"),
    });
  });

  it("the topic is missing: says so, and to deploy", async () => {
    sns.on(GetTopicAttributesCommand).rejects(serviceError("NotFoundException", "Topic does not exist", 404));

    const report = await verify();

    expect(result(report, "alarm topic")).toMatchObject({
      status: "fail",
      detail: "sns:GetTopicAttributes failed: NotFoundException: Topic does not exist",
      fix: `${TOPIC_ARN} does not exist in ${REGION}: deploy the stack (\`pulumi up\`), or \`pulumi refresh\` if it was deleted outside Pulumi`,
    });
    expect(report.exitCode).toBe(1);
    expect(recordedCalls()).toEqual([...ingestCalls(), ...transformCalls(), ...allViewCalls(), ...topicCalls(), ...quicksightCalls()]);
  });

  it("a subscription still pending confirmation fails the topic check", async () => {
    sns.on(GetTopicAttributesCommand).resolves({ Attributes: { SubscriptionsConfirmed: "0", SubscriptionsPending: "1" } });
    const report = await verify();
    expect(result(report, "alarm topic")).toMatchObject({
      status: "fail",
      detail: `${TOPIC_ARN}: 1 subscription(s) pending confirmation, 0 confirmed`,
      fix: expect.stringContaining("confirmation link"),
    });
  });

  it("a SPICE ingestion FAILED: the data set, QuickSight's error type and message", async () => {
    quicksight.on(ListIngestionsCommand, { DataSetId: dataSetId("v_total_market_cap") }).resolves({
      Ingestions: [
        ingestion("older-ok", "COMPLETED", SLOT - 3600),
        ingestion("newest", "FAILED", SLOT - 60, {
          Type: "SQL_TABLE_NOT_FOUND",
          Message: "Table v_total_market_cap not found in crypto_data_dev",
        }),
      ],
    } as never);

    const report = await verify();

    expect(result(report, "spice v_total_market_cap")).toMatchObject({
      status: "fail",
      detail:
        "ingestion newest of 2026-12-02T15:44:00.000Z FAILED: SQL_TABLE_NOT_FOUND: Table v_total_market_cap not found in crypto_data_dev",
      fix: "fix the cause shown, then refresh the data set (QuickSight console: Datasets, Refresh now) or wait for the hourly refresh",
    });
    expect(result(report, "spice v_top_100").status).toBe("pass");
    expect(report.exitCode).toBe(1);
    expect(recordedCalls()).toEqual([...ingestCalls(), ...transformCalls(), ...allViewCalls(), ...topicCalls(), ...quicksightCalls()]);
  });

  it("a failed data source: its status and QuickSight's error", async () => {
    const { DescribeDataSourceCommand } = await import("@aws-sdk/client-quicksight");
    quicksight
      .on(DescribeDataSourceCommand)
      .resolves({ DataSource: { Status: "UPDATE_FAILED", ErrorInfo: { Type: "ACCESS_DENIED", Message: "Unable to assume role" } } });
    const report = await verify();
    expect(result(report, "quicksight data source")).toMatchObject({
      status: "fail",
      detail: `${DATA_SOURCE_ID}: UPDATE_FAILED (ACCESS_DENIED: Unable to assume role)`,
    });
  });
});

describe("QuickSight", () => {
  it("absent from the stack: one SKIP line says so and no QuickSight call is made", async () => {
    const report = await verify(targets(stackOutputsWithoutQuickSight()));

    expect(report.exitCode).toBe(0);
    expect(report.results.at(-1)).toEqual({
      name: "quicksight",
      status: "skip",
      seconds: 0,
      detail:
        "the stack has no QuickSight dashboard (no quicksightDataSourceArn output; set quicksightPrincipalArns to deploy one): data source and SPICE checks skipped",
    });
    expect(quicksight.calls()).toHaveLength(0);
    expect(recordedCalls()).toEqual([...ingestCalls(), ...transformCalls(), ...allViewCalls(), ...topicCalls()]);
  });

  it("direct query data sets: the data source is checked, SPICE is skipped", async () => {
    const report = await verify(targets(stackOutputs({ quicksightImportMode: "DIRECT_QUERY" })));
    expect(result(report, "spice")).toMatchObject({
      status: "skip",
      detail: "the data sets use DIRECT_QUERY: no SPICE ingestions to check",
    });
    expect(recordedCalls()).toEqual([...ingestCalls(), ...transformCalls(), ...allViewCalls(), ...topicCalls(), ...dataSourceCalls()]);
  });

  it("reads every page of ingestions and waits while the newest one runs", async () => {
    const view = "v_top_100";
    quicksight
      .on(ListIngestionsCommand, { DataSetId: dataSetId(view), NextToken: undefined })
      .resolvesOnce({ Ingestions: [ingestion("old", "COMPLETED", SLOT - 7200)], NextToken: "page-2" } as never)
      .resolves({ Ingestions: [ingestion("old", "COMPLETED", SLOT - 7200)], NextToken: "page-2" } as never);
    quicksight
      .on(ListIngestionsCommand, { DataSetId: dataSetId(view), NextToken: "page-2" })
      .resolvesOnce({ Ingestions: [ingestion("new", "RUNNING", SLOT)] } as never)
      .resolves({ Ingestions: [ingestion("new", "COMPLETED", SLOT)] } as never);

    const report = await verify();

    expect(result(report, `spice ${view}`)).toMatchObject({
      status: "pass",
      detail: "ingestion new of 2026-12-02T15:45:00.000Z COMPLETED, 250 row(s)",
      seconds: QUICKSIGHT_POLL_MS / 1000,
    });
    expect(recordedCalls().filter((c) => c.command === "ListIngestionsCommand")).toEqual([
      ...ingestionCalls(view, [undefined, "page-2", undefined, "page-2"]),
      ...ingestionCalls("v_total_market_cap"),
    ]);
  });

  it("an ingestion that keeps running times out at the QuickSight limit", async () => {
    quicksight
      .on(ListIngestionsCommand, { DataSetId: dataSetId("v_top_100") })
      .resolves({ Ingestions: [ingestion("slow", "RUNNING", SLOT)] } as never);
    const report = await verify();
    expect(result(report, "spice v_top_100")).toMatchObject({
      status: "fail",
      seconds: DEFAULT_QUICKSIGHT_CHECK_TIMEOUT_MS / 1000,
      detail: "timed out after 300 s during waiting for SPICE ingestion slow of 2026-12-02T15:45:00.000Z (RUNNING)",
      fix: "raise --quicksight-timeout",
    });
    // One look at the start and one after each 5 s wait that ends before the limit; none after it.
    const polls = DEFAULT_QUICKSIGHT_CHECK_TIMEOUT_MS / QUICKSIGHT_POLL_MS;
    expect(recordedCalls().filter((c) => c.input.DataSetId === dataSetId("v_top_100"))).toHaveLength(polls);
    expect(result(report, "spice v_total_market_cap").status).toBe("pass");
  });
});

describe("clients and limits", () => {
  it("builds every client in the stack's region and never lets the SDK resend an Invoke", async () => {
    const clients = createVerifyClients(targets());
    expect(await clients.lambda.config.maxAttempts()).toBe(1);
    for (const client of Object.values(clients)) expect(await client.config.region()).toBe(REGION);
  });

  it("gives each function check more time than the function's own default timeout", () => {
    expect(DEFAULT_INGEST_CHECK_TIMEOUT_MS).toBeGreaterThan(DEFAULT_INGEST_TIMEOUT_SECONDS * 1000);
    expect(DEFAULT_TRANSFORM_CHECK_TIMEOUT_MS).toBeGreaterThan(DEFAULT_TRANSFORM_TIMEOUT_SECONDS * 1000);
  });

  it("honours a shorter ingest limit", async () => {
    lambda.on(InvokeCommand, { FunctionName: INGEST_FN }).callsFake(() => new Promise(() => undefined));
    const t = targets();
    const report = await runVerify(t, { clock: new IdleClock(NOW), clients: createVerifyClients(t), timeouts: { ingestMs: 5_000 } });
    expect(result(report, "ingest")).toMatchObject({
      seconds: 5,
      detail: `timed out after 5 s during lambda:InvokeFunction (function ${INGEST_FN})`,
    });
  });
});
