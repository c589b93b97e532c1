/**
 * A Lambda function's deployment archive: the handler factory serialized by Pulumi into `__index.js` (as
 * `aws.lambda.CallbackFunction` serializes it), then bundled at deploy time by esbuild with everything it
 * requires into that one file, except the AWS SDK, which the runtime provides. Pulumi's own packing walks
 * the deploying project's package.json `dependencies` and zips every package it reaches, whether the
 * handler loads it or not; the bundle holds exactly the modules the handler reaches.
 */
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { BuildFailure, BuildResult, buildSync, Message, OutputFile } from "esbuild";

/** Module name of the serialized handler factory in the archive (as CallbackFunction names it). */
const SERIALIZED_MODULE = "__index";
/** Export of that module Lambda calls. */
const HANDLER_EXPORT = "handler";

/** Lambda `handler` setting for a {@link functionCode} archive: `__index.handler`. */
export const FUNCTION_CODE_HANDLER = `${SERIALIZED_MODULE}.${HANDLER_EXPORT}`;

/**
 * Module paths the bundle leaves as `require` calls for the runtime to satisfy: AWS SDK v3 (`@aws-sdk/*`).
 * "Your code runs in an environment that includes the AWS SDK for JavaScript"
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html; v3 since nodejs18.x). The SDK loads its
 * own `@smithy/*` dependencies from where the runtime installed it; the handlers import no `@smithy`
 * module themselves, so the bundle never reaches one.
 */
export const LAMBDA_PROVIDED_MODULES: readonly string[] = Object.freeze(["@aws-sdk/*"]);

/** A Lambda Node.js runtime identifier, e.g. `nodejs22.x`. */
const NODE_RUNTIME = /^nodejs(\d+)\.x$/;

/** esbuild's `target` for a Lambda Node.js runtime: `nodejs22.x` → `node22`. Throws for any other runtime. */
export function bundleTarget(runtime: string): string {
  const major = NODE_RUNTIME.exec(runtime)?.[1];
  if (major === undefined) throw new Error(`${runtime} is not a Lambda Node.js runtime (nodejs<major>.x)`);
  return `node${major}`;
}

/**
 * The deploying project's root: the nearest folder at or above `from` (the working directory, where Pulumi
 * runs the program) holding a package.json, as Pulumi's `computeCodePaths` finds it. The serializer names
 * installed modules by package path (`axios/dist/node/axios.cjs`, or the library's own
 * `crypto-analytics-pipeline/dist/functions/ingestHandler.js` when it is installed as a package) for Node
 * to resolve from there, so the bundle resolves them from there too.
 */
export function projectRoot(from: string = process.cwd()): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir)
      throw new Error(`no package.json in ${from} or any folder above it: run the Pulumi program from its project`);
  }
}

/**
 * The deployment archive of a function whose handler `callbackFactory` returns, for Lambda runtime
 * `runtime` (e.g. `nodejs22.x`): one file, `__index.js`, the factory serialized by Pulumi (exporting
 * `handler`, see {@link FUNCTION_CODE_HANDLER}) and bundled as CommonJS for that runtime's Node version
 * with every module it requires, resolved from the deploying project ({@link projectRoot}), except
 * {@link LAMBDA_PROVIDED_MODULES}. The bundle is not minified: names and code stay readable in stack traces
 * without a source map. The same project gives the same bytes, so a redeploy shows no code change.
 *
 * Fails the deployment, with an error naming the function (`name`): a closure that captures a Pulumi
 * secret (the secret would sit in plain text in the zip that anyone allowed `lambda:GetFunction` can
 * download), and a module the bundler cannot resolve or load. Bundler warnings are logged on
 * `logResource` (none by default), which Pulumi's messages are attached to.
 */
export function functionCode<E, R>(
  name: string,
  callbackFactory: aws.lambda.CallbackFactory<E, R>,
  runtime: string,
  logResource?: pulumi.Resource,
): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive(
    bundledHandler(name, callbackFactory, runtime, logResource).then((text) => ({
      [`${SERIALIZED_MODULE}.js`]: new pulumi.asset.StringAsset(text),
    })),
  );
}

/** The text of {@link functionCode}'s `__index.js`. */
export async function bundledHandler<E, R>(
  name: string,
  callbackFactory: aws.lambda.CallbackFactory<E, R>,
  runtime: string,
  logResource?: pulumi.Resource,
): Promise<string> {
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
  const target = bundleTarget(runtime);
  const root = projectRoot();
  let result: BuildResult & { outputFiles: OutputFile[] };
  try {
    // The synchronous API: the asynchronous one keeps a long-lived esbuild process that outlives a test
    // runner's worker (jest reports it as a leak and force-exits the worker); one bundle takes well under a second.
    result = buildSync({
      stdin: { contents: serialized.text, sourcefile: `${SERIALIZED_MODULE}.js`, resolveDir: root, loader: "js" },
      // The bundle's module comments name files relative to this folder, not by absolute path, so the
      // bytes do not depend on where the project is checked out.
      absWorkingDir: root,
      bundle: true,
      platform: "node",
      format: "cjs",
      target,
      external: [...LAMBDA_PROVIDED_MODULES],
      // Licence comments (`/*!`, `@license`) of the bundled packages travel with their code.
      legalComments: "eof",
      write: false,
      logLevel: "silent",
    });
  } catch (err) {
    const { errors } = err as Partial<BuildFailure>;
    const details = errors === undefined ? String(err) : errors.map(describeMessage).join("; ");
    throw new pulumi.ResourceError(`${name}: bundling the serialized handler failed: ${details}`, logResource);
  }
  for (const warning of result.warnings)
    pulumi.log.warn(`${name}: bundling the serialized handler: ${describeMessage(warning)}`, logResource);
  const [output] = result.outputFiles;
  return output.text;
}

/** `file:line: text` of an esbuild message (just the text when it has no location). */
function describeMessage(message: Message): string {
  return message.location === null ? message.text : `${message.location.file}:${message.location.line}: ${message.text}`;
}
