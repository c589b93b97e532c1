/**
 * A mocked function's deployment zip, as Pulumi would upload it: the `code` AssetArchive of a recorded
 * `aws:lambda/function:Function` expanded into archive path → bytes, with helpers for what it holds and
 * its zipped size.
 */
import * as fs from "fs";
import { builtinModules } from "module";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { zipSync, Zippable } from "fflate";
import { PulumiMockRecorder } from "./pulumiMocks";

/**
 * Zip budget of one function: 1 MB read strictly as 10^6 bytes (1 MiB would be 1,048,576; DESIGN: 5.15 MB
 * with the SDK, under 1 MB without). The archive tests enforce it and the benchmark reports against it.
 */
export const ZIP_BUDGET_BYTES = 1_000_000;

/** Archive paths no function zip may hold: SDK, Smithy, Pulumi, DuckDB and local tooling. */
export const FORBIDDEN_ZIP_PATHS = /^node_modules\/(@aws-sdk|@smithy|@aws|@pulumi|@duckdb|chart\.js|@kurkle|commander|playwright-core)\//;

/** Archive path → bytes of an AssetArchive (a FileArchive folder nests under its key). */
export async function filesOf(archive: pulumi.asset.AssetArchive): Promise<Map<string, Uint8Array>> {
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

/** The zip of the recorded function with this logical name. */
export async function zipOf(mocks: PulumiMockRecorder, functionName: string): Promise<Map<string, Uint8Array>> {
  const code = mocks.one("aws:lambda/function:Function", functionName).inputs.code;
  if (!(code instanceof pulumi.asset.AssetArchive)) throw new Error(`${functionName}: code input is not an AssetArchive`);
  return filesOf(code);
}

/** Package names under node_modules/ in the zip (`axios`, `@scope/name`). */
export function packagesIn(files: Map<string, Uint8Array>): Set<string> {
  const names = new Set<string>();
  for (const key of files.keys()) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(key);
    if (m) names.add(m[1]);
  }
  return names;
}

/** Packages (not Node built-ins) the serialized `__index.js` requires, sorted. */
export function requiredPackages(files: Map<string, Uint8Array>): string[] {
  const index = files.get("__index.js");
  if (index === undefined) throw new Error("the zip has no __index.js");
  // The serializer writes resolved module paths, e.g. `axios/dist/node/axios.cjs`.
  const required = [...Buffer.from(index).toString("utf8").matchAll(/require\((["'])([^"']+)\1\)/g)].map((m) => m[2]);
  const external = required.filter((id) => !id.startsWith("node:") && !builtinModules.includes(id.split("/")[0]));
  return [...new Set(external.map((id) => (id.startsWith("@") ? id.split("/").slice(0, 2).join("/") : id.split("/")[0])))].sort();
}

/** Size of the files zipped at deflate level 6, in bytes. */
export function zippedSize(files: Map<string, Uint8Array>): number {
  const tree: Zippable = {};
  for (const [key, bytes] of files) tree[key] = [bytes, { level: 6 }];
  return zipSync(tree).length;
}
