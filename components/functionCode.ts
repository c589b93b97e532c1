/**
 * A Lambda function's deployment archive made the way `aws.lambda.CallbackFunction` makes it (the
 * handler factory serialized by Pulumi into `__index.js`, plus the package folders Pulumi walks from the
 * deploying project's package.json `dependencies`), except that each package folder is expanded file by
 * file and the files Node never loads at run time are left out: source maps, Markdown documentation,
 * TypeScript sources and declarations, and dot-named tool configuration.
 */
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Module name of the serialized handler factory in the archive (as CallbackFunction names it). */
const SERIALIZED_MODULE = "__index";
/** Export of that module Lambda calls. */
const HANDLER_EXPORT = "handler";

/** Lambda `handler` setting for a {@link functionCode} archive: `__index.handler`. */
export const FUNCTION_CODE_HANDLER = `${SERIALIZED_MODULE}.${HANDLER_EXPORT}`;

/**
 * File name endings Node never loads at run time: source maps (read only with `--enable-source-maps`,
 * and then a missing one is skipped), Markdown documentation, and TypeScript (Node refuses to strip
 * types from files under node_modules, so `.ts`/`.cts`/`.mts` there, declarations included, are for
 * the compiler only).
 */
export const UNLOADED_FILE_ENDINGS: readonly string[] = Object.freeze([
  ".map",
  ".md",
  ".markdown",
  ".ts",
  ".cts",
  ".mts",
  ".tsx",
  ".tsbuildinfo",
]);

/** License, copying and notice files stay whatever their ending: the licence travels with the code. */
const LICENSE_FILE = /^(licen[cs]e|copying|notice)/i;

/**
 * Whether a file of a package folder goes into the archive. `relativePath` is relative to the package
 * folder, `/`-separated. Kept: license files (`LICENSE*`, `COPYING*`, `NOTICE*`, even `LICENSE.md`) and
 * everything not ending in one of {@link UNLOADED_FILE_ENDINGS}, so every `package.json` and every
 * `.js`/`.cjs`/`.mjs`/`.json`/`.node` file. Dropped besides: anything under or named with a leading dot
 * (`.github/`, `.eslintrc`, `.nycrc`, a nested `node_modules/.bin/`), which only tools read.
 */
export function isRuntimeFile(relativePath: string): boolean {
  const segments = relativePath.split("/");
  const name = segments[segments.length - 1];
  if (segments.some((segment) => segment.startsWith("."))) return false;
  if (LICENSE_FILE.test(name)) return true;
  const lower = name.toLowerCase();
  return !UNLOADED_FILE_ENDINGS.some((ending) => lower.endsWith(ending));
}

/**
 * The runtime files of one package folder as archive entries: `archivePath/<relative path>` → a
 * FileAsset of the file, in sorted order. The same archive paths a FileArchive of the folder nested at
 * `archivePath` gives, minus what {@link isRuntimeFile} drops. Like Pulumi's own folder archives, a
 * symbolic link to a file is followed and one to a folder is skipped.
 */
export function packageFolderAssets(archivePath: string, folder: string): Record<string, pulumi.asset.FileAsset> {
  const assets: Record<string, pulumi.asset.FileAsset> = {};
  const walk = (dir: string, relative: string): void => {
    const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      const key = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) walk(file, key);
      else if (fs.statSync(file).isFile() && isRuntimeFile(key)) assets[`${archivePath}/${key}`] = new pulumi.asset.FileAsset(file);
    }
  };
  walk(folder, "");
  return assets;
}

/**
 * The deployment archive of a function whose handler `callbackFactory` returns: `__index.js` (the
 * factory serialized by Pulumi, exporting `handler`, see {@link FUNCTION_CODE_HANDLER}) and the runtime
 * files ({@link packageFolderAssets}) of every package Pulumi's `computeCodePaths` walks from the
 * deploying project's `dependencies`, except `excludePackages` and `aws-sdk` (as CallbackFunction
 * excludes it). A closure that captures a Pulumi secret is refused: the secret would sit in plain text in
 * the zip that anyone allowed `lambda:GetFunction` can download. `name` identifies the function in that
 * error; `logResource` is the resource Pulumi's messages are attached to (none by default).
 */
export function functionCode<E, R>(
  name: string,
  callbackFactory: aws.lambda.CallbackFactory<E, R>,
  excludePackages: readonly string[],
  logResource?: pulumi.Resource,
): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive(codeAssets(name, callbackFactory, excludePackages, logResource));
}

async function codeAssets<E, R>(
  name: string,
  callbackFactory: aws.lambda.CallbackFactory<E, R>,
  excludePackages: readonly string[],
  logResource: pulumi.Resource | undefined,
): Promise<pulumi.asset.AssetMap> {
  // Secrets are allowed through serialization only so that the refusal below can name the function.
  const serialized = await pulumi.runtime.serializeFunction(callbackFactory, {
    exportName: HANDLER_EXPORT,
    isFactoryFunction: true,
    allowSecrets: true,
    logResource,
  });
  if (serialized.containsSecrets) {
    throw new pulumi.ResourceError(
      `${name}: the handler factory's closure captures a Pulumi secret, which would be written in plain text into the ` +
        `function's deployment zip; read it at cold start instead (e.g. from an SSM SecureString parameter).`,
      logResource,
    );
  }
  const assets: pulumi.asset.AssetMap = { [`${SERIALIZED_MODULE}.js`]: new pulumi.asset.StringAsset(serialized.text) };
  // CallbackFunction always leaves out `aws-sdk` (v2, which older Lambda runtimes provided); so does this,
  // so that a project depending on it gets the same packages as before.
  const codePaths = await pulumi.runtime.computeCodePaths({ extraExcludePackages: [...excludePackages, "aws-sdk"], logResource });
  for (const [archivePath, entry] of codePaths) {
    if (!(entry instanceof pulumi.asset.FileArchive)) throw new Error(`${name}: package path ${archivePath} is not a folder`);
    Object.assign(assets, packageFolderAssets(archivePath, await entry.path));
  }
  return assets;
}
