/**
 * Function archives bundled at deploy time: esbuild's target for a Lambda runtime, the project root the
 * bundle resolves from, the ingest function's archive (one unminified `__index.js`, the same bytes on every
 * build and in any checkout) served from a fresh Node process with nothing but the runtime's AWS SDK
 * besides, the refusals (a captured secret, a module the bundler cannot resolve) and the bundler's
 * warnings passed on to Pulumi's log.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { bundleTarget, FUNCTION_CODE_HANDLER, functionCode, LAMBDA_PROVIDED_MODULES, projectRoot } from "../components/functionCode";
import { LAMBDA_RUNTIME } from "../components/scheduledFunction";
import { createIngestHandler, INGEST_ENV } from "../functions/ingestHandler";
import { floorToSlot, processedKey, rawKey } from "../functions/partitions";
import { AwsStandIn, startAwsStandIn } from "./helpers/awsStandIn";
import { CoinGeckoStandIn, startCoinGeckoStandIn } from "./helpers/coingeckoStandIn";
import { fixturePage, scheduledEvent, tempDirsRemovedAfterAll } from "./helpers/factories";
import { filesOf, indexText } from "./helpers/functionZip";
import { ChildRun, runSerializedHandler, serializedHandlerEnv, writeSerializedHandler } from "./helpers/serializedHandler";

// Serializing and bundling the ingest handler twice, and a cold start in a child process.
jest.setTimeout(90_000);
afterAll(() => pulumi.runtime.disconnect());
const tempDir = tempDirsRemovedAfterAll();
const REPO = path.resolve(__dirname, "..");

/** The error an archive's assets reject with (undefined when they resolve). */
async function archiveError(archive: pulumi.asset.AssetArchive): Promise<Error | undefined> {
  return archive.assets.then(
    () => undefined,
    (err: Error) => err,
  );
}

describe("bundleTarget", () => {
  test.each([
    ["nodejs22.x", "node22"],
    ["nodejs24.x", "node24"],
  ])("%s → %s", (runtime, target) => {
    expect(bundleTarget(runtime)).toBe(target);
  });

  test.each(["python3.12", "nodejs22", "provided.al2023", "nodejsx.x", ""])("refuses %p, naming it", (runtime) => {
    expect(() => bundleTarget(runtime)).toThrow(`${runtime} is not a Lambda Node.js runtime`);
  });
});

describe("projectRoot", () => {
  test("is the nearest folder at or above the start holding a package.json", () => {
    const root = tempDir("project-root");
    fs.writeFileSync(path.join(root, "package.json"), "{}");
    const nested = path.join(root, "infra", "stacks");
    fs.mkdirSync(nested, { recursive: true });
    expect(projectRoot(nested)).toBe(root);
    expect(projectRoot(root)).toBe(root);
    expect(projectRoot()).toBe(REPO);
  });

  test("throws, naming the start, when no folder up to the file system root holds one", () => {
    const bare = tempDir("no-project");
    // The check below is only meaningful where nothing above the temporary folder is a project.
    expect(fs.existsSync(path.join(os.tmpdir(), "package.json"))).toBe(false);
    expect(() => projectRoot(bare)).toThrow(`no package.json in ${bare} or any folder above it`);
  });
});

describe("functionCode of the ingest handler", () => {
  let files: Map<string, Uint8Array>;
  let text: string;

  beforeAll(async () => {
    files = await filesOf(functionCode("ingest", createIngestHandler, LAMBDA_RUNTIME));
    text = indexText(files);
  });

  test("is one file, __index.js, exporting the handler Lambda is told to call", () => {
    expect([...files.keys()]).toEqual(["__index.js"]);
    expect(FUNCTION_CODE_HANDLER).toBe("__index.handler");
    expect(text).toMatch(/^exports\.handler = __createIngestHandler\(\);$/m);
  });

  test("leaves the AWS SDK to the runtime and nothing else", () => {
    expect(LAMBDA_PROVIDED_MODULES).toEqual(["@aws-sdk/*"]);
    expect(text).toContain('require("@aws-sdk/client-s3/dist-cjs/index.js")');
    expect(text).not.toMatch(/require\("(axios|axios-retry)[/"]/);
  });

  test("is not minified: the serialized functions keep their names, one statement a line", () => {
    expect(text).toMatch(/^function __createIngestHandler\(/m);
    expect(text).toMatch(/^\/\/ node_modules\/axios\//m);
    expect(text.split("\n").length).toBeGreaterThan(10_000);
  });

  test("is the same bytes when built again, and names no absolute path of this checkout or machine", async () => {
    const again = indexText(await filesOf(functionCode("ingest", createIngestHandler, LAMBDA_RUNTIME)));
    expect(again).toBe(text);
    for (const local of [REPO, os.tmpdir(), os.homedir()]) expect(text).not.toContain(local);
  });

  describe("written out and served from a fresh Node process with only the runtime's AWS SDK besides", () => {
    const BUCKET = "function-code-archive";
    const SLOT = floorToSlot(Math.floor(Date.now() / 1000)) - 300;
    let aws: AwsStandIn;
    let coingecko: CoinGeckoStandIn;
    let child: ChildRun;

    beforeAll(async () => {
      const dir = writeSerializedHandler(text, "function-code-ingest");
      aws = await startAwsStandIn();
      aws.buckets.set(BUCKET, new Map());
      coingecko = await startCoinGeckoStandIn({ fallback: fixturePage("recorded-5-coins.json") });
      try {
        child = await runSerializedHandler(
          dir,
          [scheduledEvent(new Date((SLOT + 60) * 1000).toISOString())],
          serializedHandlerEnv(dir, aws, {
            [INGEST_ENV.bucket]: BUCKET,
            [INGEST_ENV.plan]: "keyless",
            [INGEST_ENV.baseUrl]: coingecko.baseUrl,
            [INGEST_ENV.pipeline]: "function-code-test",
          }),
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    afterAll(async () => {
      await coingecko?.close();
      await aws?.close();
    });

    test("fetches through the bundled axios and writes the snapshot", () => {
      expect(child.outcomes).toEqual([
        { result: expect.objectContaining({ timestamp: SLOT, status: "written", coins: 5, processedKey: processedKey(SLOT) }) },
      ]);
      expect(coingecko.requests).toHaveLength(1);
      expect([...(aws.buckets.get(BUCKET) as Map<string, unknown>).keys()]).toEqual(
        expect.arrayContaining([rawKey(SLOT), processedKey(SLOT)]),
      );
    });
  });
});

describe("a handler factory whose closure captures a Pulumi secret", () => {
  test("is refused: the archive fails with an error naming the function and not the secret", async () => {
    const key = pulumi.secret("CG-capturedSecret42");
    const factory = () => async () => key.get();
    const error = await archiveError(functionCode('ScheduledFunction "leaky"', factory, LAMBDA_RUNTIME));
    expect(error).toBeInstanceOf(pulumi.ResourceError);
    expect(error?.message).toMatch(/^ScheduledFunction "leaky": the handler factory's closure captures a Pulumi secret/);
    expect(error?.message).not.toContain("CG-capturedSecret42");
  });
});

describe("a handler factory that requires a module the deploying project does not have", () => {
  test("is refused: the archive fails with an error naming the function and the module", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundler must meet a require it cannot resolve
    const factory = () => async () => require("no-such-package-for-function-code");
    const error = await archiveError(functionCode('ScheduledFunction "missing"', factory, LAMBDA_RUNTIME));
    expect(error).toBeInstanceOf(pulumi.ResourceError);
    expect(error?.message).toMatch(
      /^ScheduledFunction "missing": bundling the serialized handler failed: __index\.js:\d+: Could not resolve "no-such-package-for-function-code"/,
    );
  });
});

describe("a handler the bundler warns about", () => {
  test("still bundles, and the warning is logged as a Pulumi warning naming the function and the line", async () => {
    const warn = jest.spyOn(pulumi.log, "warn").mockResolvedValue();
    try {
      // `=== -0` also matches 0, which esbuild warns about.
      // eslint-disable-next-line no-compare-neg-zero -- the comparison esbuild warns about is the point
      const factory = () => async (x: number) => x === -0;
      const files = await filesOf(functionCode('ScheduledFunction "zero"', factory, LAMBDA_RUNTIME));
      expect([...files.keys()]).toEqual(["__index.js"]);
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(/^ScheduledFunction "zero": bundling the serialized handler: __index\.js:\d+: Comparison with -0/),
        undefined,
      );
    } finally {
      warn.mockRestore();
    }
  });
});
