/**
 * Function archives without the files Node never loads: the file rule, a package folder expanded file by
 * file (real folders in a temporary directory), the ingest function's archive compared with the folder
 * archives CallbackFunction would have zipped, that archive written out file for file and served from a
 * fresh Node process with nothing but the runtime's AWS SDK besides, and the refusal of a captured secret.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { FUNCTION_CODE_HANDLER, functionCode, isRuntimeFile, packageFolderAssets } from "../components/functionCode";
import { LAMBDA_EXCLUDED_PACKAGES } from "../components/scheduledFunction";
import { createIngestHandler, INGEST_ENV } from "../functions/ingestHandler";
import { floorToSlot, processedKey, rawKey } from "../functions/partitions";
import { AwsStandIn, startAwsStandIn } from "./helpers/awsStandIn";
import { CoinGeckoStandIn, startCoinGeckoStandIn } from "./helpers/coingeckoStandIn";
import { fixturePage, scheduledEvent, tempDirsRemovedAfterAll } from "./helpers/factories";
import { filesOf } from "./helpers/functionZip";
import { ChildRun, runSerializedHandler, serializedHandlerEnv, writeSerializedHandler } from "./helpers/serializedHandler";

// Walking the repository's dependency tree and a cold start in a child process.
jest.setTimeout(90_000);
afterAll(() => pulumi.runtime.disconnect());
const tempDir = tempDirsRemovedAfterAll();

/** Writes `files` (relative path → content) under `root`, creating folders. */
function writeTree(root: string, files: Record<string, string>): void {
  for (const [relative, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    fs.writeFileSync(path.join(root, relative), content);
  }
}

/** Archive path → text of an archive's files. */
async function textsOf(archive: pulumi.asset.AssetArchive): Promise<Record<string, string>> {
  return Object.fromEntries([...(await filesOf(archive))].map(([key, bytes]) => [key, Buffer.from(bytes).toString("utf8")]));
}

describe("isRuntimeFile", () => {
  test.each([
    "package.json",
    "dist/esm/package.json",
    "LICENSE",
    "LICENSE.md",
    "license.txt",
    "LICENCE-MIT.markdown",
    "COPYING",
    "NOTICE.md",
    "index.js",
    "dist/node/axios.cjs",
    "dist/esm/index.mjs",
    "db.json",
    "build/Release/binding.node",
    "lib/types.js",
    "node_modules/dep/index.js",
  ])("keeps %s", (file) => {
    expect(isRuntimeFile(file)).toBe(true);
  });

  test.each([
    "dist/axios.js.map",
    "dist/index.cjs.map",
    "README.md",
    "CHANGELOG.md",
    "docs/Guide.MD",
    "HISTORY.markdown",
    "index.d.ts",
    "index.d.cts",
    "dist/index.d.mts",
    "src/index.ts",
    "src/index.cts",
    "src/index.mts",
    "src/view.tsx",
    "tsconfig.tsbuildinfo",
    ".eslintrc",
    ".nycrc",
    ".github/FUNDING.yml",
    "node_modules/.bin/tool",
    "node_modules/dep/README.md",
  ])("drops %s", (file) => {
    expect(isRuntimeFile(file)).toBe(false);
  });
});

describe("packageFolderAssets", () => {
  const PACKAGE_FILES = {
    "package.json": '{"name":"pkg","main":"dist/index.cjs"}',
    LICENSE: "MIT",
    "README.md": "# pkg",
    "CHANGELOG.md": "## 1.0.0",
    "index.d.ts": "export {};",
    "dist/index.cjs": "module.exports = require('./data.json');",
    "dist/index.cjs.map": "{}",
    "dist/index.d.cts": "export {};",
    "dist/esm/index.mjs": "export default 1;",
    "dist/esm/package.json": '{"type":"module"}',
    "dist/data.json": '{"answer":42}',
    "src/index.ts": "export default 1;",
    ".eslintrc": "{}",
    ".github/FUNDING.yml": "github: someone",
    "node_modules/dep/package.json": '{"name":"dep"}',
    "node_modules/dep/index.js": "module.exports = 1;",
    "node_modules/dep/README.md": "# dep",
    "node_modules/.bin/tool": "#!/bin/sh",
  };
  const KEPT = [
    "LICENSE",
    "dist/data.json",
    "dist/esm/index.mjs",
    "dist/esm/package.json",
    "dist/index.cjs",
    "node_modules/dep/index.js",
    "node_modules/dep/package.json",
    "package.json",
  ];
  let folder: string;

  beforeAll(() => {
    folder = path.join(tempDir("function-code-package"), "pkg");
    writeTree(folder, PACKAGE_FILES);
  });

  test("expands to exactly the kept files, in sorted order, under the package's archive path", () => {
    const assets = packageFolderAssets("node_modules/pkg", folder);
    expect(Object.keys(assets)).toEqual(KEPT.map((file) => `node_modules/pkg/${file}`));
    for (const asset of Object.values(assets)) expect(asset).toBeInstanceOf(pulumi.asset.FileAsset);
  });

  test("has the archive paths and bytes a FileArchive of the folder has, minus the dropped files", async () => {
    const whole = await textsOf(new pulumi.asset.AssetArchive({ "node_modules/pkg": new pulumi.asset.FileArchive(folder) }));
    expect(Object.keys(whole)).toHaveLength(Object.keys(PACKAGE_FILES).length);
    const kept = Object.fromEntries(Object.entries(whole).filter(([key]) => isRuntimeFile(key.slice("node_modules/pkg/".length))));
    expect(await textsOf(new pulumi.asset.AssetArchive(packageFolderAssets("node_modules/pkg", folder)))).toEqual(kept);
  });

  test("follows a symbolic link to a file and skips one to a folder, as Pulumi's folder archives do", () => {
    const linked = path.join(tempDir("function-code-links"), "pkg");
    writeTree(linked, { "package.json": "{}", "real/index.js": "module.exports = 1;" });
    fs.symlinkSync(path.join(linked, "real", "index.js"), path.join(linked, "alias.js"));
    fs.symlinkSync(path.join(linked, "real"), path.join(linked, "again"), "dir");
    const assets = packageFolderAssets("node_modules/linked", linked);
    expect(Object.keys(assets)).toEqual(["node_modules/linked/alias.js", "node_modules/linked/package.json", "node_modules/linked/real/index.js"]);
  });
});

describe("functionCode of the ingest handler", () => {
  let files: Map<string, Uint8Array>;

  beforeAll(async () => {
    files = await filesOf(functionCode("ingest", createIngestHandler, LAMBDA_EXCLUDED_PACKAGES));
  });

  test("__index.js is the handler factory serialized by Pulumi, exporting the handler Lambda is told to call", async () => {
    const serialized = await pulumi.runtime.serializeFunction(createIngestHandler, { isFactoryFunction: true });
    expect(Buffer.from(files.get("__index.js") as Uint8Array).toString("utf8")).toBe(serialized.text);
    expect(FUNCTION_CODE_HANDLER).toBe(`__index.${serialized.exportName}`);
  });

  test("holds exactly the runtime files of the package folders CallbackFunction would have zipped whole", async () => {
    const codePaths = await pulumi.runtime.computeCodePaths({ extraExcludePackages: [...LAMBDA_EXCLUDED_PACKAGES, "aws-sdk"] });
    const whole = await filesOf(new pulumi.asset.AssetArchive(Object.fromEntries(codePaths)));
    const folders = [...codePaths.keys()];
    const kept = [...whole.keys()].filter((key) => {
      const folder = folders.find((f) => key.startsWith(`${f}/`)) as string;
      return isRuntimeFile(key.slice(folder.length + 1));
    });
    expect([...files.keys()].filter((key) => key !== "__index.js").sort()).toEqual(kept.sort());
    // What was dropped is real weight: axios ships source maps, Markdown and declarations.
    expect(whole.size - kept.length).toBeGreaterThan(100);
    expect([...files.keys()].filter((key) => /\.(map|md|ts)$/.test(key) && !/\/LICENSE[^/]*$/i.test(key))).toEqual([]);
    for (const folder of folders) expect(files.has(`${folder}/package.json`)).toBe(true);
    expect(files.has("node_modules/axios/LICENSE")).toBe(true);
  });

  describe("written out file for file and served from a fresh Node process", () => {
    const BUCKET = "function-code-archive";
    const SLOT = floorToSlot(Math.floor(Date.now() / 1000)) - 300;
    let aws: AwsStandIn;
    let coingecko: CoinGeckoStandIn;
    let child: ChildRun;

    beforeAll(async () => {
      const dir = writeSerializedHandler(Buffer.from(files.get("__index.js") as Uint8Array).toString("utf8"), "function-code-ingest");
      for (const [key, bytes] of files) {
        fs.mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
        fs.writeFileSync(path.join(dir, key), bytes);
      }
      // The nodejs22.x runtime provides AWS SDK v3 on its module path and nothing else: so everything
      // else the handler loads (axios and its dependencies) must come from the archive.
      const runtime = path.join(tempDir("function-code-runtime"), "node_modules");
      fs.mkdirSync(runtime);
      fs.symlinkSync(path.resolve(__dirname, "..", "node_modules", "@aws-sdk"), path.join(runtime, "@aws-sdk"), "dir");

      aws = await startAwsStandIn();
      aws.buckets.set(BUCKET, new Map());
      coingecko = await startCoinGeckoStandIn({ fallback: fixturePage("recorded-5-coins.json") });
      try {
        child = await runSerializedHandler(dir, [scheduledEvent(new Date((SLOT + 60) * 1000).toISOString())], {
          ...serializedHandlerEnv(dir, aws, {
            [INGEST_ENV.bucket]: BUCKET,
            [INGEST_ENV.plan]: "keyless",
            [INGEST_ENV.baseUrl]: coingecko.baseUrl,
            [INGEST_ENV.pipeline]: "function-code-test",
          }),
          NODE_PATH: runtime,
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    afterAll(async () => {
      await coingecko?.close();
      await aws?.close();
    });

    test("fetches through axios from the archive and writes the snapshot", () => {
      expect(child.outcomes).toEqual([{ result: expect.objectContaining({ timestamp: SLOT, status: "written", coins: 5, processedKey: processedKey(SLOT) }) }]);
      expect(coingecko.requests).toHaveLength(1);
      expect([...(aws.buckets.get(BUCKET) as Map<string, unknown>).keys()]).toEqual(expect.arrayContaining([rawKey(SLOT), processedKey(SLOT)]));
    });
  });
});

describe("a handler factory whose closure captures a Pulumi secret", () => {
  test("is refused: the archive fails with an error naming the function and not the secret", async () => {
    const key = pulumi.secret("CG-capturedSecret42");
    const factory = () => async () => key.get();
    const error = await functionCode('ScheduledFunction "leaky"', factory, LAMBDA_EXCLUDED_PACKAGES).assets.then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error).toBeInstanceOf(pulumi.ResourceError);
    expect(error?.message).toMatch(/^ScheduledFunction "leaky": the handler factory's closure captures a Pulumi secret/);
    expect(error?.message).not.toContain("CG-capturedSecret42");
  });
});
