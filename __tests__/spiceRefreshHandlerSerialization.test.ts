/**
 * The SPICE refresh handler as Lambda will run it: serialized by Pulumi's closure serializer (what
 * components/functionCode.ts deploys), written out as `__index.js` and run in a fresh Node process against
 * a loopback QuickSight (CreateIngestion over real HTTP, REST-JSON as the SDK sends it).
 */
import * as pulumi from "@pulumi/pulumi";
import { createSpiceRefreshHandler, SPICE_REFRESH_ENV } from "../functions/spiceRefreshHandler";
import { AwsStandIn, jsonError, RecordedRequest, StandInResponse, startAwsStandIn } from "./helpers/awsStandIn";
import { removeTempDir } from "./helpers/factories";
import { runSerializedHandler, serializedHandlerEnv, writeSerializedHandler } from "./helpers/serializedHandler";

const ACCOUNT = "210987654321";
const DATA_SETS = ["bi-0a1b2c3d-v_top_100", "bi-0a1b2c3d-v_trending"];
const SETTINGS = {
  [SPICE_REFRESH_ENV.accountId]: ACCOUNT,
  [SPICE_REFRESH_ENV.dataSetIds]: DATA_SETS.join(","),
  [SPICE_REFRESH_ENV.pipeline]: "crypto-serialized-refresh",
};
const INGESTION_PATH = /^\/accounts\/(\d{12})\/data-sets\/([^/]+)\/ingestions\/([^/?]+)/;

let serialized: pulumi.runtime.SerializedFunction;
let dir: string;

beforeAll(async () => {
  // Set while serializing: a factory that captured process.env would carry these into the function text.
  const saved = { ...process.env };
  Object.assign(process.env, SETTINGS);
  try {
    serialized = await pulumi.runtime.serializeFunction(createSpiceRefreshHandler, { isFactoryFunction: true });
  } finally {
    process.env = saved;
  }
  dir = writeSerializedHandler(serialized.text, "spice-refresh-serialized");
});

afterAll(async () => {
  removeTempDir(dir);
  await pulumi.runtime.disconnect();
});

describe("SPICE refresh handler serialization", () => {
  it("exports the factory's handler, requires only the QuickSight client, and captures no configuration value", () => {
    const required = [...serialized.text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(serialized.exportName).toBe("handler");
    expect([...new Set(required.filter((r) => r.startsWith("@")))]).toEqual(["@aws-sdk/client-quicksight/dist-cjs/index.js"]);
    for (const value of [ACCOUNT, ...DATA_SETS]) expect(serialized.text).not.toContain(value);
  });
});

describe("the serialized handler in a fresh Node process", () => {
  let aws: AwsStandIn;
  const started = new Set<string>();
  const ingestions: RecordedRequest[] = [];
  // QuickSight's CreateIngestion: 201 for a new ingestion id, 409 ResourceExistsException for one seen before.
  const quicksight = (request: RecordedRequest): StandInResponse | undefined => {
    const match = INGESTION_PATH.exec(request.url);
    if (request.method !== "PUT" || match === null) return undefined;
    ingestions.push(request);
    const key = `${match[2]}/${match[3]}`;
    if (started.has(key)) return jsonError(409, "ResourceExistsException", `Ingestion ${match[3]} already exists`);
    started.add(key);
    return {
      status: 201,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ IngestionId: match[3], IngestionStatus: "INITIALIZED", RequestId: "r-1" }),
    };
  };

  beforeAll(async () => {
    aws = await startAwsStandIn({ routes: [quicksight] });
  });
  afterAll(() => aws.close());

  it("a transform success record starts one FULL_REFRESH per dataset; its redelivery starts nothing twice; a failure record starts nothing", async () => {
    const success = {
      id: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
      source: "lambda",
      "detail-type": "Lambda Function Invocation Result - Success",
      detail: {
        requestContext: { condition: "Success" },
        responsePayload: { hours: [{ partition: { year: 2024, month: 9, day: 3, hour: 8 } }] },
      },
    };
    const failure = {
      ...success,
      id: "0b0c0d0e-1111-4222-8333-444455556666",
      detail: { requestContext: { condition: "RetriesExhausted" } },
    };

    const run = await runSerializedHandler(dir, [success, success, failure], {
      ...serializedHandlerEnv(dir, aws, SETTINGS),
      AWS_ENDPOINT_URL_QUICKSIGHT: aws.url,
    });

    const ingestionId = `transform-${success.id}`;
    expect(run.outcomes).toEqual([
      { result: { ingestionId, started: DATA_SETS, alreadyStarted: [], busy: [] } },
      { result: { ingestionId, started: [], alreadyStarted: DATA_SETS, busy: [] } },
      { result: { skipped: "the transform invocation ended RetriesExhausted, not Success", started: [], alreadyStarted: [], busy: [] } },
    ]);
    const expected = DATA_SETS.map((id) => `/accounts/${ACCOUNT}/data-sets/${id}/ingestions/${ingestionId}`);
    expect(ingestions.map((r) => r.url.split("?")[0])).toEqual([...expected, ...expected]);
    expect(ingestions.map((r) => JSON.parse(r.body.toString("utf8")))).toEqual(Array(4).fill({ IngestionType: "FULL_REFRESH" }));
    expect(run.jsonLines()).toContainEqual(
      expect.objectContaining({ message: "refresh requested", pipeline: "crypto-serialized-refresh", ingestionId }),
    );
  });
});
