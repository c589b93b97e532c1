/**
 * The transform function's deployment zip, as AnalyticsLayer's ScheduledFunction builds it: only the
 * serialized handler (the transform makes no HTTP calls of its own, so axios stays out too), requiring
 * nothing but the AWS SDK clients the nodejs22.x runtime provides; under the 1 MB (10^6 bytes) budget; the same code
 * the serialization test runs; and loadable in a fresh Node process.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { AnalyticsLayer } from "../components";
import { createTransformHandler, TRANSFORM_ENV } from "../functions/transformHandler";
import { makeTempDir, removeTempDir } from "./helpers/factories";
import { FORBIDDEN_ZIP_PATHS, packagesIn, requiredPackages, ZIP_BUDGET_BYTES, zipOf, zippedSize } from "./helpers/functionZip";
import { installPulumiMocks } from "./helpers/pulumiMocks";

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

test("holds the serialized handler alone: no node_modules at all, so no SDK, Smithy, Pulumi, DuckDB or HTTP client", () => {
  expect([...files.keys()]).toEqual(["__index.js"]);
  expect([...files.keys()].filter((k) => FORBIDDEN_ZIP_PATHS.test(k))).toEqual([]);
  expect(packagesIn(files).size).toBe(0);
});

test("requires only the Athena, S3 and SSM clients, which the nodejs22.x runtime provides", () => {
  expect(requiredPackages(files)).toEqual(["@aws-sdk/client-athena", "@aws-sdk/client-s3", "@aws-sdk/client-ssm"]);
});

test("stays under the 1 MB (10^6 bytes) budget", () => {
  const size = zippedSize(files);
  const unzipped = [...files.values()].reduce((sum, b) => sum + b.length, 0);
  console.info(`transform function zip: ${size} bytes (${(size / 1024).toFixed(1)} KiB) zipped at deflate level 6; ${(unzipped / 1024).toFixed(1)} KiB unzipped`);
  expect(size).toBeLessThan(ZIP_BUDGET_BYTES);
});

test("is exactly the code the serialization test runs against the loopback AWS stand-in", async () => {
  const serialized = await pulumi.runtime.serializeFunction(createTransformHandler, { isFactoryFunction: true });
  expect(Buffer.from(files.get("__index.js") as Uint8Array).toString("utf8")).toBe(serialized.text);
  expect(serialized.exportName).toBe("handler");
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
  // NODE_PATH stands for the runtime's bundled SDK (the zip requires nothing else, as tested above).
  const load = (env: Record<string, string>): string =>
    execFileSync(process.execPath, ["-e", 'console.log(typeof require("./__index.js").handler)'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", NODE_PATH: path.resolve(__dirname, "..", "node_modules"), AWS_REGION: "us-east-1", ...env },
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
