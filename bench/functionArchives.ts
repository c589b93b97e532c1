/**
 * Deployment archives: each function's zip exactly as its component builds it (components/functionCode.ts:
 * the serialized handler bundled by esbuild, unminified), with IngestLake and AnalyticsLayer constructed
 * under the shared Pulumi mocks and the recorded `code` archive expanded, as the archive tests do, zipped
 * with fflate at deflate level 6; next to the same handler factory module bundled and minified by esbuild
 * for the same runtime, the practical floor of a Lambda zip; and how long a fresh Node process takes to
 * `require` the archive's `__index.js`.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { build } from "esbuild";
import { AnalyticsLayer } from "../components/analyticsLayer";
import { IngestLake } from "../components/ingestLake";
import { LAMBDA_RUNTIME } from "../components/scheduledFunction";
import { bundleTarget, LAMBDA_PROVIDED_MODULES } from "../components/functionCode";
import { zipOf, zippedSize } from "../__tests__/helpers/functionZip";
import { installPulumiMocks } from "../__tests__/helpers/pulumiMocks";
import { lambdaRuntimeNodePath, writeArchiveFiles } from "../__tests__/helpers/serializedHandler";
import { makeTempDir, removeTempDir } from "../__tests__/helpers/factories";
import { Figure, single, summarize } from "./stats";

/** Fresh Node processes that each load one function's archive once (a full run; see {@link measureArchives}). */
export const MODULE_LOAD_RUNS = 15;

/** Prints the wall time of loading the archive's module, ms, and nothing else. */
const LOAD_SCRIPT =
  'const t = process.hrtime.bigint(); require("./__index.js"); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));';

/** The functions measured: the component-made logical name and the module holding the handler factory. */
export const FUNCTION_MODULES = [
  { function: "ingest", logicalName: "bench-ingest-function", module: "functions/ingestHandler.ts" },
  { function: "transform", logicalName: "bench-transform-function", module: "functions/transformHandler.ts" },
] as const;

/** One function's sizes. */
export interface ArchiveSizes {
  /** `ingest` or `transform`. */
  function: string;
  /** The function's zip, deflate level 6, bytes. */
  zipped: number;
  /** Sum of the files in that zip, bytes. */
  unzipped: number;
  /** Files in that zip. */
  files: number;
  /** esbuild bundle, minified, bytes. */
  bundle: number;
  /** That bundle alone in a zip, deflate level 6, bytes. */
  bundleZipped: number;
  /** `require("./__index.js")` of the function's archive in a fresh process, one sample per process, ms. */
  loadMs: number[];
}

/** Result of {@link measureArchives}. */
export interface ArchiveBench {
  figures: Figure[];
  sizes: ArchiveSizes[];
}

/**
 * Builds both components under Pulumi mocks (in this process: call it once, after every other group,
 * as it installs the mocks for the rest of the process) and measures each function's archive and bundle,
 * loading each archive in `loadRuns` fresh processes (default {@link MODULE_LOAD_RUNS}).
 */
export async function measureArchives(repoRoot: string, loadRuns = MODULE_LOAD_RUNS): Promise<ArchiveBench> {
  const mocks = installPulumiMocks();
  try {
    new IngestLake("bench", { coingeckoPlan: "keyless" });
    new AnalyticsLayer("bench", { archiveBucketName: "bench-archive", archiveBucketArn: "arn:aws:s3:::bench-archive" });
    await mocks.settled();
    const sizes: ArchiveSizes[] = [];
    for (const fn of FUNCTION_MODULES) {
      const files = await zipOf(mocks, fn.logicalName);
      const environment = (
        mocks.one("aws:lambda/function:Function", fn.logicalName).inputs.environment as { variables: Record<string, string> }
      ).variables;
      const bundle = await bundleOf(path.join(repoRoot, fn.module));
      sizes.push({
        function: fn.function,
        zipped: zippedSize(files),
        unzipped: [...files.values()].reduce((sum, b) => sum + b.length, 0),
        files: files.size,
        bundle: bundle.length,
        bundleZipped: zippedSize(new Map([["index.js", bundle]])),
        loadMs: moduleLoadSamples(files, environment, loadRuns),
      });
    }
    const figures = sizes.flatMap((s) => [
      single(`archive ${s.function}: function zip (fflate deflate level 6)`, "bytes", s.zipped),
      single(`archive ${s.function}: function zip unzipped (${s.files} files)`, "bytes", s.unzipped),
      single(`archive ${s.function}: esbuild bundle, minified, zipped (level 6)`, "bytes", s.bundleZipped),
      single(`archive ${s.function}: esbuild bundle, minified, unzipped`, "bytes", s.bundle),
      single(`archive ${s.function}: function zip / esbuild zip`, "x", s.zipped / s.bundleZipped),
      summarize(`archive ${s.function}: require("./__index.js") in a fresh process`, "ms", s.loadMs),
    ]);
    return { figures, sizes };
  } finally {
    await pulumi.runtime.disconnect();
  }
}

/**
 * Wall times of `require("./__index.js")`, one fresh Node process each: the archive's files written to a
 * temporary folder, the function's environment variables set, and only the AWS SDK on the module path, as
 * the nodejs22.x runtime provides it. What loading the archive adds to a cold start, Node's own start-up
 * excluded.
 */
export function moduleLoadSamples(files: Map<string, Uint8Array>, environment: Record<string, string>, runs: number): number[] {
  const dir = makeTempDir("bench-module-load");
  try {
    const code = path.join(dir, "code");
    writeArchiveFiles(code, files);
    const env = {
      PATH: process.env.PATH ?? "",
      NODE_PATH: lambdaRuntimeNodePath(path.join(dir, "runtime")),
      AWS_REGION: "us-east-1",
      ...environment,
    };
    const load = (): number =>
      Number(execFileSync(process.execPath, ["-e", LOAD_SCRIPT], { cwd: code, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
    return Array.from({ length: runs }, load);
  } finally {
    removeTempDir(dir);
  }
}

/** The handler factory module bundled and minified as a Lambda `index.js` would be. */
async function bundleOf(entry: string): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    platform: "node",
    target: bundleTarget(LAMBDA_RUNTIME),
    format: "cjs",
    external: [...LAMBDA_PROVIDED_MODULES],
    write: false,
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error(`esbuild produced no output for ${entry}`);
  return output.contents;
}
