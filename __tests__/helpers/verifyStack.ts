/**
 * A deployed stack for `crypto-analytics verify` tests, behind aws-sdk-client-mock: the stack's outputs as
 * `pulumi stack output --json` prints them, every client mocked with a healthy default, and the record of
 * every call made, in order, across all five clients.
 */
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StartQueryExecutionInput,
} from "@aws-sdk/client-athena";
import { InvokeCommand, InvokeCommandInput, InvokeCommandOutput, LambdaClient } from "@aws-sdk/client-lambda";
import { DescribeDataSourceCommand, ListIngestionsCommand, QuickSightClient } from "@aws-sdk/client-quicksight";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { GetTopicAttributesCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { IngestResult } from "../../functions/ingest";
import { HourPartition, hourPrefix, partitionOf, partitionStart, processedKey, rawKey, rawRequestKey } from "../../functions/partitions";
import { viewNames } from "../../functions/sqlFiles";
import { manifestKey, TransformSummary } from "../../functions/transform";

export const REGION = "eu-west-1";
export const ACCOUNT = "123456789012";
export const INGEST_FN = "crypto-ingest-5f2a9c1";
export const TRANSFORM_FN = "crypto-transform-8d41b0e";
export const ARCHIVE = "crypto-archive-7e0c2d1";
export const ANALYTICS = "crypto-analytics-3b9f6a4";
export const DATABASE = "crypto_data_dev";
export const WORKGROUP = "crypto-workgroup-2c7e1f0";
export const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:crypto-topic-91ac3e2`;
export const DATA_SOURCE_ID = "crypto-1a2b3c4d-athena";
/** The dashboard's data sets (a subset of the views, as Dashboards creates them). */
export const DATA_SET_VIEWS = ["v_top_100", "v_total_market_cap"];
export const dataSetId = (view: string): string => `crypto-1a2b3c4d-${view}`;
/** Every view the repository defines, as the stack exports them. */
export const VIEWS = viewNames();

/** `pulumi stack output --json` of a stack with a SPICE dashboard. */
export function stackOutputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    alarmTopicArn: TOPIC_ARN,
    analyticsBucketName: ANALYTICS,
    archiveBucketName: ARCHIVE,
    athenaWorkGroup: WORKGROUP,
    coingeckoKeyParameterName: "/crypto-analytics/dev/coingecko-key",
    dashboardUrl: `https://${REGION}.quicksight.aws.amazon.com/sn/dashboards/crypto-1a2b3c4d-crypto_market`,
    glueDatabase: DATABASE,
    ingestFunctionName: INGEST_FN,
    opsDashboardUrl: `https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#dashboards/dashboard/crypto-ops`,
    queryResultsBucketName: "crypto-results-0d9e8f7",
    quicksightDataSourceArn: `arn:aws:quicksight:${REGION}:${ACCOUNT}:datasource/${DATA_SOURCE_ID}`,
    quicksightDataSetArns: Object.fromEntries(
      DATA_SET_VIEWS.map((v) => [v, `arn:aws:quicksight:${REGION}:${ACCOUNT}:dataset/${dataSetId(v)}`]),
    ),
    quicksightImportMode: "SPICE",
    transformFunctionName: TRANSFORM_FN,
    viewNames: VIEWS,
    ...overrides,
  };
}

/** The outputs of a stack without QuickSight (no quicksightPrincipalArns): Pulumi omits undefined exports. */
export function stackOutputsWithoutQuickSight(): Record<string, unknown> {
  const outputs = stackOutputs();
  for (const key of ["dashboardUrl", "quicksightDataSourceArn", "quicksightDataSetArns", "quicksightImportMode"]) delete outputs[key];
  return outputs;
}

export const lambda = mockClient(LambdaClient);
export const s3 = mockClient(S3Client);
export const athena = mockClient(AthenaClient);
export const sns = mockClient(SNSClient);
export const quicksight = mockClient(QuickSightClient);
const MOCKS = [lambda, s3, athena, sns, quicksight];

/** A Lambda response carrying `body` as its payload, as Invoke returns it. */
export function invokeResponse(body: unknown, functionError?: string): Partial<InvokeCommandOutput> {
  // The SDK wraps the bytes in a Uint8ArrayBlobAdapter; verify reads them as plain bytes.
  const Payload = new Uint8Array(Buffer.from(JSON.stringify(body))) as InvokeCommandOutput["Payload"];
  return { StatusCode: 200, ExecutedVersion: "$LATEST", Payload, ...(functionError !== undefined ? { FunctionError: functionError } : {}) };
}

/** An SDK service error as the clients throw it. */
export function serviceError(name: string, message: string, status: number): Error {
  return Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: status } });
}

/** The ingest function's result for a slot. */
export function ingestResult(slot: number, status: IngestResult["status"] = "written"): IngestResult {
  return { timestamp: slot, status, coins: 250, dropped: 0, rawKeys: [rawKey(slot)], processedKey: processedKey(slot) };
}

/** Rows each view query returns: Athena's header row, then two data rows. */
const VIEW_ROWS = [{ Data: [{ VarCharValue: "id" }] }, { Data: [{ VarCharValue: "bitcoin" }] }, { Data: [{ VarCharValue: "ethereum" }] }];

/**
 * Mocks a healthy stack at `slot`: both functions succeed and leave their objects, every view returns two
 * rows, the topic has one confirmed subscription, the data source was created and each data set's latest
 * ingestion completed.
 */
export function healthyStack(slot: number): void {
  MOCKS.forEach((m) => m.reset());
  // The slot of the latest ingest invocation: a run that crosses a slot boundary after setup still finds its objects.
  let current = slot;
  const hour = (): HourPartition => partitionOf(current);
  lambda.on(InvokeCommand, { FunctionName: INGEST_FN }).callsFake((input: InvokeCommandInput) => {
    current = Date.parse(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString("utf8")).scheduledTime) / 1000;
    return invokeResponse(ingestResult(current));
  });
  lambda.on(InvokeCommand, { FunctionName: TRANSFORM_FN }).callsFake(() =>
    invokeResponse({
      hours: [{ partition: hour(), snapshots: 1, rowsWritten: 250, queryId: "q-insert" }],
      rowsMaterialised: 250,
      hoursCaughtUp: 0,
      lagHours: 0,
    } satisfies TransformSummary),
  );
  const objects = (bucket: string): string[] =>
    bucket === ARCHIVE
      ? [rawKey(current), rawRequestKey(current), processedKey(current)]
      : bucket === ANALYTICS
        ? [`${hourPrefix("analytics", hour())}20261202_154801_00012_abcde_6f1c2d3e`, manifestKey(hour())]
        : [];
  s3.on(ListObjectsV2Command).callsFake((input: { Bucket: string; Prefix: string }) => ({
    Contents: objects(input.Bucket)
      .filter((k) => k.startsWith(input.Prefix))
      .map((Key) => ({ Key })),
    IsTruncated: false,
  }));
  s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string }) => {
    if (input.Bucket !== ANALYTICS || input.Key !== manifestKey(hour()))
      throw serviceError("NoSuchKey", "The specified key does not exist.", 404);
    const manifest = {
      version: 1,
      partition: "",
      snapshots: [partitionStart(hour()), current],
      updatedAt: new Date(current * 1000).toISOString(),
    };
    return { Body: { transformToByteArray: async () => new Uint8Array(Buffer.from(JSON.stringify(manifest))) } };
  });
  athena
    .on(StartQueryExecutionCommand)
    .callsFake((input: StartQueryExecutionInput) => ({ QueryExecutionId: queryIdOf(input.QueryString ?? "") }));
  athena
    .on(GetQueryExecutionCommand)
    .callsFake((input: { QueryExecutionId: string }) => selectExecution(input.QueryExecutionId, "SUCCEEDED"));
  athena
    .on(GetQueryResultsCommand)
    .resolves({ ResultSet: { ResultSetMetadata: { ColumnInfo: [{ Name: "id", Type: "varchar" }] }, Rows: VIEW_ROWS } } as never);
  sns
    .on(GetTopicAttributesCommand)
    .resolves({ Attributes: { TopicArn: TOPIC_ARN, SubscriptionsConfirmed: "1", SubscriptionsPending: "0", SubscriptionsDeleted: "0" } });
  quicksight.on(DescribeDataSourceCommand).resolves({ DataSource: { DataSourceId: DATA_SOURCE_ID, Status: "CREATION_SUCCESSFUL" } });
  quicksight
    .on(ListIngestionsCommand)
    .callsFake((input: { DataSetId: string }) => ({ Ingestions: [ingestion(`${input.DataSetId}-hourly`, "COMPLETED", slot)] }));
}

/** A GetQueryExecution response of a view's SELECT. */
export function selectExecution(id: string, State: string, status: object = {}): object {
  return { QueryExecution: { QueryExecutionId: id, StatementType: "DML", SubstatementType: "SELECT", Status: { State, ...status } } };
}

/** The query id the fake Athena gives a view's SELECT: `q-<view>`. */
export function queryIdOf(sql: string): string {
  return `q-${/FROM "(\w+)"/.exec(sql)?.[1] ?? "other"}`;
}

/** A SPICE ingestion created at `createdSeconds`. */
export function ingestion(id: string, status: string, createdSeconds: number, errorInfo?: { Type: string; Message: string }): object {
  return {
    IngestionId: id,
    IngestionStatus: status,
    CreatedTime: new Date(createdSeconds * 1000),
    RowInfo: { RowsIngested: 250 },
    ...(errorInfo ? { ErrorInfo: errorInfo } : {}),
  };
}

/** A call as sinon records it: its global sequence number and the arguments of `send`. */
interface SentCall {
  callId: number;
  args: unknown[];
}

/** Every call sent to any of the five mocked clients, in the order sent. */
function sentCalls(): SentCall[] {
  return MOCKS.flatMap((m) => m.calls() as unknown as SentCall[]).sort((a, b) => a.callId - b.callId);
}

/** One recorded SDK call: the command's class name and its input (an Invoke payload decoded from JSON). */
export interface RecordedCall {
  command: string;
  input: Record<string, unknown>;
}

/** Every call sent to any of the five mocked clients, in the order sent. */
export function recordedCalls(): RecordedCall[] {
  return sentCalls().map((call) => {
    const command = call.args[0] as { constructor: { name: string }; input: Record<string, unknown> };
    const input = { ...command.input };
    if (command.constructor.name === "InvokeCommand")
      input.Payload = JSON.parse(Buffer.from((command.input as InvokeCommandInput).Payload as Uint8Array).toString("utf8"));
    return { command: command.constructor.name, input };
  });
}

/** The abort signal passed with each call of a command, in order. */
export function signalsOf(commandName: string): (AbortSignal | undefined)[] {
  return sentCalls()
    .filter((call) => (call.args[0] as { constructor: { name: string } }).constructor.name === commandName)
    .map((call) => (call.args[1] as { abortSignal?: AbortSignal } | undefined)?.abortSignal);
}

/** Commands that only read. */
export const READ_ONLY_COMMANDS = new Set([
  "ListObjectsV2Command",
  "GetObjectCommand",
  "GetQueryExecutionCommand",
  "GetQueryResultsCommand",
  "GetTopicAttributesCommand",
  "DescribeDataSourceCommand",
  "ListIngestionsCommand",
]);

/**
 * The calls that change something: every call but the read-only ones. verify may make only the two Invoke
 * calls and Athena SELECTs (whose results Athena writes to the workgroup's results location).
 */
export function changingCalls(calls: readonly RecordedCall[]): RecordedCall[] {
  return calls.filter((c) => !READ_ONLY_COMMANDS.has(c.command));
}

/** Athena's ClientRequestToken of a verify query: a random UUID per statement. */
export const ANY_TOKEN = expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

/** The calls one view's successful query makes. */
export function viewCalls(view: string): RecordedCall[] {
  const id = `q-${view}`;
  return [
    {
      command: "StartQueryExecutionCommand",
      input: {
        QueryString: `SELECT * FROM "${view}" LIMIT 10`,
        ClientRequestToken: ANY_TOKEN,
        WorkGroup: WORKGROUP,
        QueryExecutionContext: { Database: DATABASE },
      },
    },
    { command: "GetQueryExecutionCommand", input: { QueryExecutionId: id } },
    { command: "GetQueryResultsCommand", input: { QueryExecutionId: id, MaxResults: 1000, NextToken: undefined } },
  ];
}
