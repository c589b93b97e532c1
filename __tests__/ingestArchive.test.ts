/**
 * The ingest function's deployment zip, as IngestLake's ScheduledFunction builds it: the serialized
 * handler plus the packages Pulumi walks from package.json `dependencies`, minus
 * LAMBDA_EXCLUDED_PACKAGES. Checks what it holds, that everything the handler requires is there (or
 * built into Node / the nodejs22.x runtime), and its zipped size against the 1 MB budget.
 */
import * as pulumi from "@pulumi/pulumi";
import { IngestLake, LAMBDA_EXCLUDED_PACKAGES, ScheduledFunction } from "../components";
import { FORBIDDEN_ZIP_PATHS, packagesIn, requiredPackages, ZIP_BUDGET_BYTES, zipOf, zippedSize } from "./helpers/functionZip";
import { installPulumiMocks } from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
// A function serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(90_000);
afterAll(() => pulumi.runtime.disconnect());

let files: Map<string, Uint8Array>;

beforeAll(async () => {
  new IngestLake("zip", { coingeckoPlan: "keyless" });
  // A function without HTTP calls (like the transform) drops the HTTP client too.
  new ScheduledFunction("nohttp", {
    callbackFactory: () => async () => "done",
    statements: [],
    scheduleExpression: "cron(5 * * * ? *)",
    excludePackages: ["axios", "axios-retry"],
  });
  await mocks.settled();
  files = await zipOf(mocks, "zip-ingest-function");
});

test("holds the serialized handler and axios/axios-retry, and no AWS SDK, Smithy, Pulumi, DuckDB or tooling files", () => {
  const keys = [...files.keys()];
  expect(keys).toContain("__index.js");
  expect(keys).toEqual(expect.arrayContaining(["node_modules/axios/package.json", "node_modules/axios-retry/package.json"]));
  expect(keys.filter((k) => FORBIDDEN_ZIP_PATHS.test(k))).toEqual([]);
  expect(keys.filter((k) => !k.startsWith("node_modules/") && k !== "__index.js")).toEqual([]);
});

test("every package the handler requires is built into Node, provided by the nodejs22.x runtime, or in the zip", () => {
  const required = requiredPackages(files);
  expect(required).toEqual(["@aws-sdk/client-s3", "@aws-sdk/client-ssm", "axios", "axios-retry"]);
  const zipped = packagesIn(files);
  // @aws-sdk/* comes with the nodejs22.x runtime (its clients have no `exports` map, so the deep dist-cjs paths resolve).
  expect(required.filter((pkg) => !pkg.startsWith("@aws-sdk/") && !zipped.has(pkg))).toEqual([]);
});

test("the zip stays under the 1 MB (10^6 bytes) budget", () => {
  const size = zippedSize(files);
  const unzipped = [...files.values()].reduce((sum, b) => sum + b.length, 0);
  console.info(
    `ingest function zip: ${size} bytes (${(size / 1024).toFixed(1)} KiB) zipped at deflate level 6; ` +
      `${files.size} files, ${(unzipped / 1024).toFixed(1)} KiB unzipped; ` +
      `packages: ${[...packagesIn(files)].sort().join(", ")}`,
  );
  expect(size).toBeLessThan(ZIP_BUDGET_BYTES);
});

test("the exclusions are what keep the SDK and DuckDB out: without them Pulumi would zip both", async () => {
  const unfiltered = [...(await pulumi.runtime.computeCodePaths({ extraExcludePackages: [] })).keys()];
  expect(unfiltered).toEqual(expect.arrayContaining(["node_modules/@aws-sdk/client-s3", "node_modules/@duckdb/node-api"]));
  // The shared constant is frozen, so no caller can widen or narrow it for every other function.
  expect(Object.isFrozen(LAMBDA_EXCLUDED_PACKAGES)).toBe(true);
  expect(LAMBDA_EXCLUDED_PACKAGES).not.toContain("aws-sdk");
});

test("excludePackages drops further packages: a function without HTTP calls ships its handler alone", async () => {
  expect([...(await zipOf(mocks, "nohttp-function")).keys()]).toEqual(["__index.js"]);
});
