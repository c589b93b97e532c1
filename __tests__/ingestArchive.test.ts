/**
 * The ingest function's deployment zip, as IngestLake's ScheduledFunction builds it: the serialized
 * handler bundled with what it requires. Checks what the bundle holds (the HTTP client, no SDK, Pulumi,
 * DuckDB or tooling), that it leaves nothing to the runtime but the AWS SDK clients nodejs22.x provides,
 * and its zipped size against the budget.
 */
import * as pulumi from "@pulumi/pulumi";
import { IngestLake } from "../components/ingestLake";
import { ScheduledFunction } from "../components/scheduledFunction";
import { bundledPackages, FORBIDDEN_PACKAGES, requiredPackages, ZIP_BUDGET_BYTES, zipOf, zippedSize } from "./helpers/functionZip";
import { installPulumiMocks } from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
// A function serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(90_000);
afterAll(() => pulumi.runtime.disconnect());

let files: Map<string, Uint8Array>;

beforeAll(async () => {
  new IngestLake("zip", { coingeckoPlan: "keyless" });
  // A function without HTTP calls (like the transform) bundles no HTTP client.
  new ScheduledFunction("nohttp", {
    callbackFactory: () => async () => "done",
    statements: [],
    scheduleExpression: "cron(5 * * * ? *)",
  });
  await mocks.settled();
  files = await zipOf(mocks, "zip-ingest-function");
});

test("is one file, __index.js, bundling axios and axios-retry and no AWS SDK, Smithy, Pulumi, DuckDB or tooling module", () => {
  expect([...files.keys()]).toEqual(["__index.js"]);
  const bundled = bundledPackages(files);
  expect(bundled).toEqual(expect.arrayContaining(["axios", "axios-retry"]));
  expect(bundled.filter((pkg) => FORBIDDEN_PACKAGES.test(pkg))).toEqual([]);
});

test("leaves to the runtime only the S3 and SSM clients, which nodejs22.x provides", () => {
  // @aws-sdk/* comes with the nodejs22.x runtime (its clients have no `exports` map, so the deep dist-cjs paths resolve).
  expect(requiredPackages(files)).toEqual(["@aws-sdk/client-s3", "@aws-sdk/client-ssm"]);
});

test(`the zip stays within the ${ZIP_BUDGET_BYTES}-byte budget`, () => {
  const size = zippedSize(files);
  expect(size).toBeLessThanOrEqual(ZIP_BUDGET_BYTES);
});

test("a function without HTTP calls bundles no package and requires nothing from the runtime", async () => {
  const nohttp = await zipOf(mocks, "nohttp-function");
  expect([...nohttp.keys()]).toEqual(["__index.js"]);
  expect(bundledPackages(nohttp)).toEqual([]);
  expect(requiredPackages(nohttp)).toEqual([]);
});
