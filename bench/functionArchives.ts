/**
 * Deployment archive sizes: each function's zip exactly as its component builds it (components/functionCode.ts)
 * (IngestLake and AnalyticsLayer constructed under the shared Pulumi mocks, the recorded `code` archive
 * expanded, as the archive tests do), zipped with fflate at deflate level 6; next to the same handler
 * factory module bundled and minified by esbuild (platform node, target node22, `@aws-sdk/*` external as
 * the nodejs22.x runtime provides it), the practical floor of a Lambda zip.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { build } from "esbuild";
import { AnalyticsLayer, IngestLake } from "../components";
import { zipOf, zippedSize } from "../__tests__/helpers/functionZip";
import { installPulumiMocks } from "../__tests__/helpers/pulumiMocks";
import { Figure, single } from "./stats";

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
}

/** Result of {@link measureArchives}. */
export interface ArchiveBench {
  figures: Figure[];
  sizes: ArchiveSizes[];
}

/**
 * Builds both components under Pulumi mocks (in this process: call it once, after every other group,
 * as it installs the mocks for the rest of the process) and measures each function's archive and bundle.
 */
export async function measureArchives(repoRoot: string): Promise<ArchiveBench> {
  const mocks = installPulumiMocks();
  try {
    new IngestLake("bench", { coingeckoPlan: "keyless" });
    new AnalyticsLayer("bench", { archiveBucketName: "bench-archive", archiveBucketArn: "arn:aws:s3:::bench-archive" });
    await mocks.settled();
    const sizes: ArchiveSizes[] = [];
    for (const fn of FUNCTION_MODULES) {
      const files = await zipOf(mocks, fn.logicalName);
      const bundle = await bundleOf(path.join(repoRoot, fn.module));
      sizes.push({
        function: fn.function,
        zipped: zippedSize(files),
        unzipped: [...files.values()].reduce((sum, b) => sum + b.length, 0),
        files: files.size,
        bundle: bundle.length,
        bundleZipped: zippedSize(new Map([["index.js", bundle]])),
      });
    }
    const figures = sizes.flatMap((s) => [
      single(`archive ${s.function}: function zip (fflate deflate level 6)`, "bytes", s.zipped),
      single(`archive ${s.function}: function zip unzipped (${s.files} files)`, "bytes", s.unzipped),
      single(`archive ${s.function}: esbuild bundle, minified, zipped (level 6)`, "bytes", s.bundleZipped),
      single(`archive ${s.function}: esbuild bundle, minified, unzipped`, "bytes", s.bundle),
      single(`archive ${s.function}: function zip / esbuild zip`, "x", s.zipped / s.bundleZipped),
    ]);
    return { figures, sizes };
  } finally {
    await pulumi.runtime.disconnect();
  }
}

/** The handler factory module bundled and minified as a Lambda `index.js` would be. */
async function bundleOf(entry: string): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    external: ["@aws-sdk/*"],
    write: false,
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error(`esbuild produced no output for ${entry}`);
  return output.contents;
}
