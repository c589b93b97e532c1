/**
 * The transform function's deployment zip, as AnalyticsLayer's ScheduledFunction builds it: the serialized
 * handler bundled, holding no package (the transform makes no HTTP calls of its own, so no HTTP client
 * either) and requiring nothing but the AWS SDK clients the nodejs22.x runtime provides; within the zip
 * budget; the same code the serialization test runs; and loadable in a fresh Node process.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { AnalyticsLayer } from "../components/analyticsLayer";
import { bundledHandler } from "../components/functionCode";
import { LAMBDA_RUNTIME } from "../components/scheduledFunction";
import { createTransformHandler, TRANSFORM_ENV } from "../functions/transformHandler";
import { makeTempDir, removeTempDir } from "./helpers/factories";
import { bundledPackages, indexText, requiredPackages, ZIP_BUDGET_BYTES, zipOf, zippedSize } from "./helpers/functionZip";
import { installPulumiMocks } from "./helpers/pulumiMocks";
import { lambdaRuntimeNodePath } from "./helpers/serializedHandler";

const mocks = installPulumiMocks();
// A function serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(90_000);
afterAll(() => pulumi.runtime.disconnect());

let files: Map<string, Uint8Array>;

beforeAll(async () => {
  new AnalyticsLayer("zip", { archiveBucketName: "zip-archive", archiveBucketArn: "arn:aws:s3:::zip-archive" });
  await mocks.settled();
  files = await zipOf(mocks, "zip-transform-function");
});

test("is one file, __index.js, bundling no package at all, so no SDK, Smithy, Pulumi, DuckDB or HTTP client", () => {
  expect([...files.keys()]).toEqual(["__index.js"]);
  expect(bundledPackages(files)).toEqual([]);
});

test("requires only the Athena, S3 and SSM clients, which the nodejs22.x runtime provides", () => {
  expect(requiredPackages(files)).toEqual(["@aws-sdk/client-athena", "@aws-sdk/client-s3", "@aws-sdk/client-ssm"]);
});

test(`stays within the ${ZIP_BUDGET_BYTES}-byte budget`, () => {
  const size = zippedSize(files);
  expect(size).toBeLessThanOrEqual(ZIP_BUDGET_BYTES);
});

test("is exactly the code the serialization test runs against the loopback AWS stand-in", async () => {
  expect(indexText(files)).toBe(await bundledHandler("transform", createTransformHandler, LAMBDA_RUNTIME));
});

describe("loaded in a fresh Node process (one cold start)", () => {
  let dir: string;
  const settings = {
    [TRANSFORM_ENV.archiveBucket]: "zip-archive",
    [TRANSFORM_ENV.analyticsBucket]: "zip-analytics",
    [TRANSFORM_ENV.workGroup]: "zip-workgroup",
    [TRANSFORM_ENV.database]: "crypto_data",
    [TRANSFORM_ENV.templateParameter]: "zip-insert-template",
    [TRANSFORM_ENV.pipeline]: "zip-test",
  };
  // NODE_PATH holds the runtime's SDK and nothing else (the zip requires nothing else, as tested above).
  const load = (env: Record<string, string>): string =>
    execFileSync(process.execPath, ["-e", 'console.log(typeof require("./__index.js").handler)'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", NODE_PATH: lambdaRuntimeNodePath(path.join(dir, "runtime")), AWS_REGION: "us-east-1", ...env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();

  beforeAll(() => {
    dir = makeTempDir("transform-zip-");
    fs.writeFileSync(path.join(dir, "__index.js"), files.get("__index.js") as Uint8Array);
  });
  afterAll(() => removeTempDir(dir));

  test("with the component's environment variables it exports a handler function", () => {
    expect(load(settings)).toBe("function");
  });

  test("without them the cold start fails, naming every missing variable", () => {
    let message = "";
    try {
      load({});
    } catch (err) {
      message = String((err as { stderr?: string }).stderr);
    }
    expect(message).toContain("transform function misconfigured");
    for (const name of Object.keys(settings)) expect(message).toContain(`${name} is not set`);
  });
});
