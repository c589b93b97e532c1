/**
 * The SPICE refresh handler against a mocked QuickSight client: the exact CreateIngestion requests after a
 * successful transform, nothing after a failed or empty one, no retry storm when QuickSight is busy, and a
 * failure Lambda retries only for real errors.
 */
import { CreateIngestionCommand, QuickSightClient } from "@aws-sdk/client-quicksight";
import { mockClient } from "aws-sdk-client-mock";
import {
  createSpiceRefreshHandler,
  InvocationResultEvent,
  readSpiceRefreshSettings,
  SPICE_REFRESH_ENV,
} from "../functions/spiceRefreshHandler";
import { captureStdout } from "./helpers/factories";

const quicksight = mockClient(QuickSightClient);

const ACCOUNT = "123456789012";
const DATA_SETS = ["bi-1a2b3c4d-v_top_100", "bi-1a2b3c4d-v_btc_24h"];
const EVENT_ID = "5b6d2f0e-8c1a-4e7b-9d3f-0a1b2c3d4e5f";
const TRANSFORM_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:crypto-transform-1a2b3c4d`;
const ENV = {
  [SPICE_REFRESH_ENV.accountId]: ACCOUNT,
  [SPICE_REFRESH_ENV.dataSetIds]: DATA_SETS.join(","),
  [SPICE_REFRESH_ENV.pipeline]: "crypto-dev",
};

/** The EventBridge event Lambda sends for a transform invocation record. */
function invocationResult(
  condition: "Success" | "RetriesExhausted",
  hours: unknown[] = [{ partition: { year: 2024, month: 9, day: 3, hour: 8 } }],
): InvocationResultEvent {
  return {
    id: EVENT_ID,
    "detail-type": condition === "Success" ? "Lambda Function Invocation Result - Success" : "Lambda Function Invocation Result - Failure",
    detail: {
      requestContext: { condition, functionArn: `${TRANSFORM_ARN}:$LATEST` },
      responsePayload: condition === "Success" ? { hours, rowsMaterialised: 250 } : undefined,
    },
  };
}

const quicksightError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 409 } });
const requests = () => quicksight.commandCalls(CreateIngestionCommand).map((c) => c.args[0].input);
const expectedRequests = (dataSets: string[]) =>
  dataSets.map((DataSetId) => ({ AwsAccountId: ACCOUNT, DataSetId, IngestionId: `transform-${EVENT_ID}`, IngestionType: "FULL_REFRESH" }));

let stdout: string[];
const savedEnv = { ...process.env };
beforeEach(() => {
  quicksight.reset();
  quicksight.on(CreateIngestionCommand).resolves({ IngestionStatus: "INITIALIZED" });
  Object.assign(process.env, ENV);
  stdout = captureStdout();
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...savedEnv };
});

describe("createSpiceRefreshHandler", () => {
  it("after a transform that materialised hours: one FULL_REFRESH per dataset, with an ingestion id derived from the event", async () => {
    const outcome = await createSpiceRefreshHandler()(invocationResult("Success"));

    expect(requests()).toEqual(expectedRequests(DATA_SETS));
    expect(outcome).toEqual({ ingestionId: `transform-${EVENT_ID}`, started: DATA_SETS, alreadyStarted: [], busy: [] });
  });

  it("a redelivered event names the same ingestions: the ones already started answer ResourceExistsException and are not an error", async () => {
    quicksight
      .on(CreateIngestionCommand, { DataSetId: DATA_SETS[0] })
      .rejects(quicksightError("ResourceExistsException", "The ingestion transform-... already exists"));
    const handler = createSpiceRefreshHandler();

    const outcome = await handler(invocationResult("Success"));

    expect(requests()).toEqual(expectedRequests(DATA_SETS));
    expect(outcome).toMatchObject({ started: [DATA_SETS[1]], alreadyStarted: [DATA_SETS[0]], busy: [] });
  });

  it("an ingestion already running or queued (LimitExceededException): logged, not thrown, so Lambda does not retry into a storm", async () => {
    quicksight.on(CreateIngestionCommand).rejects(quicksightError("LimitExceededException", "An ingestion is already in progress"));

    const outcome = await createSpiceRefreshHandler()(invocationResult("Success"));

    expect(requests()).toEqual(expectedRequests(DATA_SETS));
    expect(outcome).toMatchObject({ started: [], busy: DATA_SETS });
    const warnings = stdout.flatMap((s) => s.split("\n")).filter((l) => l.includes('"level":"warn"'));
    expect(warnings).toHaveLength(DATA_SETS.length);
  });

  it.each([
    [
      "a failed transform (its record is a Failure)",
      invocationResult("RetriesExhausted"),
      "the transform invocation ended RetriesExhausted, not Success",
    ],
    ["a transform that materialised no hour", invocationResult("Success", []), "the transform materialised no hour"],
    ["an event that is no invocation record", {}, "the transform invocation ended without a condition, not Success"],
  ])("%s: no refresh at all", async (_name, event, reason) => {
    const outcome = await createSpiceRefreshHandler()(event);

    expect(requests()).toEqual([]);
    expect(outcome).toEqual({ skipped: reason, started: [], alreadyStarted: [], busy: [] });
  });

  it("any other error: every dataset is still tried, then the invocation fails naming the failed ones (Lambda retries, then the on-failure queue)", async () => {
    quicksight
      .on(CreateIngestionCommand, { DataSetId: DATA_SETS[0] })
      .rejects(quicksightError("AccessDeniedException", "not authorized to perform quicksight:CreateIngestion"));

    await expect(createSpiceRefreshHandler()(invocationResult("Success"))).rejects.toThrow(
      `SPICE refresh failed for 1 dataset(s): ${DATA_SETS[0]}: not authorized to perform quicksight:CreateIngestion`,
    );
    expect(requests()).toEqual(expectedRequests(DATA_SETS));
  });

  it("an event without an id (not from EventBridge) fails before any QuickSight call", async () => {
    await expect(createSpiceRefreshHandler()({ ...invocationResult("Success"), id: undefined })).rejects.toThrow(
      "SPICE refresh: the event has no usable id",
    );
    expect(requests()).toEqual([]);
  });
});

describe("readSpiceRefreshSettings", () => {
  it.each([
    ["no account", { [SPICE_REFRESH_ENV.accountId]: undefined }, 'QUICKSIGHT_ACCOUNT_ID must be a 12-digit account id, got ""'],
    ["no dataset", { [SPICE_REFRESH_ENV.dataSetIds]: " , " }, "DATA_SET_IDS names no dataset"],
    ["a malformed dataset id", { [SPICE_REFRESH_ENV.dataSetIds]: "ok-id,bad id" }, "DATA_SET_IDS holds malformed ids: bad id"],
    ["no pipeline", { [SPICE_REFRESH_ENV.pipeline]: "" }, "PIPELINE_NAME is not set"],
  ])("a container with %s fails at cold start, before any QuickSight call", (_name, change, message) => {
    const env: NodeJS.ProcessEnv = { ...ENV };
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    expect(() => readSpiceRefreshSettings(env)).toThrow(`SPICE refresh function misconfigured: ${message}`);
    expect(requests()).toEqual([]);
  });

  it("reads the dataset ids in order, trimmed", () => {
    expect(readSpiceRefreshSettings({ ...ENV, [SPICE_REFRESH_ENV.dataSetIds]: ` ${DATA_SETS[0]} ,${DATA_SETS[1]}` })).toEqual({
      accountId: ACCOUNT,
      dataSetIds: DATA_SETS,
      pipeline: "crypto-dev",
    });
  });
});
