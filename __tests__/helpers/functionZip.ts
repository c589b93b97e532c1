/**
 * A mocked function's deployment zip, as Pulumi would upload it: the `code` AssetArchive of a recorded
 * `aws:lambda/function:Function` expanded into archive path → bytes, with helpers for what its bundled
 * `__index.js` holds and requires, and its zipped size.
 */
import { builtinModules } from "module";
import * as pulumi from "@pulumi/pulumi";
import { zipSync, Zippable } from "fflate";
import { PulumiMockRecorder } from "./pulumiMocks";

/**
 * Zip budget of one function, bytes: within twice the floor of 84,500 B, the ingest handler bundled and
 * minified by esbuild (DESIGN), for a bundle left unminified so stack traces stay readable. The archive
 * tests enforce it and the benchmark reports against it.
 */
export const ZIP_BUDGET_BYTES = 150_000;

/** Packages no function bundle may hold: SDK, Smithy, Pulumi, DuckDB and local tooling. */
export const FORBIDDEN_PACKAGES = /^(@aws-sdk\/|@smithy\/|@aws\/|@pulumi\/|@duckdb\/|@kurkle\/|chart\.js$|commander$|playwright-core$)/;

/** Archive path → bytes of an AssetArchive of text files (what functionCode builds); any other entry throws. */
export async function filesOf(archive: pulumi.asset.AssetArchive): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const [key, entry] of Object.entries(await archive.assets)) {
    if (!(entry instanceof pulumi.asset.StringAsset)) throw new Error(`unexpected archive entry ${key}: not a string asset`);
    files.set(key, Buffer.from(await entry.text));
  }
  return files;
}

/** The zip of the recorded function with this logical name. */
export async function zipOf(mocks: PulumiMockRecorder, functionName: string): Promise<Map<string, Uint8Array>> {
  const code = mocks.one("aws:lambda/function:Function", functionName).inputs.code;
  if (!(code instanceof pulumi.asset.AssetArchive)) throw new Error(`${functionName}: code input is not an AssetArchive`);
  return filesOf(code);
}

/** The text of the zip's `__index.js`; throws when there is none. */
export function indexText(files: Map<string, Uint8Array>): string {
  const index = files.get("__index.js");
  if (index === undefined) throw new Error("the zip has no __index.js");
  return Buffer.from(index).toString("utf8");
}

/**
 * Packages whose modules the bundled `__index.js` holds (`axios`, `@scope/name`), sorted. esbuild heads
 * each module it bundles with a `// <path>` comment, relative to the project root; a package's path runs
 * through node_modules (the last one, for a package nested in another).
 */
export function bundledPackages(files: Map<string, Uint8Array>): string[] {
  const headers = indexText(files).matchAll(/^\/\/ (?:\S*\/)?node_modules\/((?:@[^/\s]+\/)?[^/\s]+)\//gm);
  return [...new Set([...headers].map((m) => m[1]))].sort();
}

/** Packages (not Node built-ins) the bundled `__index.js` leaves to the runtime to `require`, sorted. */
export function requiredPackages(files: Map<string, Uint8Array>): string[] {
  // The serializer writes resolved module paths, e.g. `@aws-sdk/client-s3/dist-cjs/index.js`.
  const required = [...indexText(files).matchAll(/require\((["'])([^"']+)\1\)/g)].map((m) => m[2]);
  const external = required.filter((id) => !id.startsWith("node:") && !builtinModules.includes(id.split("/")[0]));
  return [...new Set(external.map((id) => (id.startsWith("@") ? id.split("/").slice(0, 2).join("/") : id.split("/")[0])))].sort();
}

/** Size of the files zipped at deflate level 6, in bytes. */
export function zippedSize(files: Map<string, Uint8Array>): number {
  const tree: Zippable = {};
  for (const [key, bytes] of files) tree[key] = [bytes, { level: 6 }];
  return zipSync(tree).length;
}
