/**
 * The ingest function's deployment zip, as IngestLake's CallbackFunction builds it: the serialized
 * handler plus the packages Pulumi walks from package.json `dependencies`, minus
 * LAMBDA_EXCLUDED_PACKAGES. Checks what it holds, that everything the handler requires is there (or
 * built into Node / the nodejs22.x runtime), and its zipped size against the 1 MB budget.
 */
import * as fs from "fs";
import { builtinModules } from "module";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { zipSync, Zippable } from "fflate";
import { IngestLake, LAMBDA_EXCLUDED_PACKAGES, ScheduledFunction } from "../components";
import { installPulumiMocks } from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
// A function serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(90_000);
afterAll(() => pulumi.runtime.disconnect());

/** Zip budget of one function: 1 MiB (DESIGN: 5.15 MB with the SDK, under 1 MB without). */
const ZIP_BUDGET_BYTES = 1024 * 1024;
const FORBIDDEN = /^node_modules\/(@aws-sdk|@smithy|@aws|@pulumi|@duckdb|chart\.js|@kurkle|commander|playwright-core)\//;

/** Archive path → bytes, exactly what Pulumi would upload (a FileArchive folder nests under its key). */
async function filesOf(archive: pulumi.asset.AssetArchive): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const addFolder = (dir: string, prefix: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const key = `${prefix}/${entry.name}`;
      if (entry.isDirectory()) addFolder(full, key);
      else if (entry.isFile()) files.set(key, fs.readFileSync(full));
      else throw new Error(`unexpected ${full}: neither file nor folder`);
    }
  };
  for (const [key, entry] of Object.entries(await archive.assets)) {
    if (entry instanceof pulumi.asset.StringAsset) files.set(key, Buffer.from(await entry.text));
    else if (entry instanceof pulumi.asset.FileArchive) addFolder(await entry.path, key);
    else if (entry instanceof pulumi.asset.FileAsset) files.set(key, fs.readFileSync(await entry.path));
    else throw new Error(`unexpected archive entry ${key}`);
  }
  return files;
}

/** Package names under node_modules/ in the zip (`axios`, `@scope/name`). */
function packagesIn(files: Map<string, Uint8Array>): Set<string> {
  const names = new Set<string>();
  for (const key of files.keys()) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(key);
    if (m) names.add(m[1]);
  }
  return names;
}

function zippedSize(files: Map<string, Uint8Array>): number {
  const tree: Zippable = {};
  for (const [key, bytes] of files) tree[key] = [bytes, { level: 6 }];
  return zipSync(tree).length;
}

async function zipOf(functionName: string): Promise<Map<string, Uint8Array>> {
  const code = mocks.one("aws:lambda/function:Function", functionName).inputs.code;
  if (!(code instanceof pulumi.asset.AssetArchive)) throw new Error(`${functionName}: code input is not an AssetArchive`);
  return filesOf(code);
}

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
  files = await zipOf("zip-ingest-function");
});

test("holds the serialized handler and axios/axios-retry, and no AWS SDK, Smithy, Pulumi, DuckDB or tooling files", () => {
  const keys = [...files.keys()];
  expect(keys).toContain("__index.js");
  expect(keys).toEqual(expect.arrayContaining(["node_modules/axios/package.json", "node_modules/axios-retry/package.json"]));
  expect(keys.filter((k) => FORBIDDEN.test(k))).toEqual([]);
  expect(keys.filter((k) => !k.startsWith("node_modules/") && k !== "__index.js")).toEqual([]);
});

test("every package the handler requires is built into Node, provided by the nodejs22.x runtime, or in the zip", () => {
  const source = Buffer.from(files.get("__index.js") as Uint8Array).toString("utf8");
  // The serializer writes resolved module paths, e.g. `axios/dist/node/axios.cjs`.
  const required = [...source.matchAll(/require\((["'])([^"']+)\1\)/g)].map((m) => m[2]);
  const external = required.filter((id) => !id.startsWith("node:") && !builtinModules.includes(id.split("/")[0]));
  const requiredPackages = new Set(external.map((id) => (id.startsWith("@") ? id.split("/").slice(0, 2).join("/") : id.split("/")[0])));
  expect([...requiredPackages].sort()).toEqual(["@aws-sdk/client-s3", "@aws-sdk/client-ssm", "axios", "axios-retry"]);
  const zipped = packagesIn(files);
  // @aws-sdk/* comes with the nodejs22.x runtime (its clients have no `exports` map, so the deep dist-cjs paths resolve).
  expect([...requiredPackages].filter((pkg) => !pkg.startsWith("@aws-sdk/") && !zipped.has(pkg))).toEqual([]);
});

test("the zip stays under the 1 MiB budget", () => {
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
  // CallbackFunction appends "aws-sdk" to the list it gets; the shared constant is passed as a copy and frozen.
  expect(Object.isFrozen(LAMBDA_EXCLUDED_PACKAGES)).toBe(true);
  expect(LAMBDA_EXCLUDED_PACKAGES).not.toContain("aws-sdk");
});

test("excludePackages drops further packages: a function without HTTP calls ships its handler alone", async () => {
  expect([...(await zipOf("nohttp-function")).keys()]).toEqual(["__index.js"]);
});
