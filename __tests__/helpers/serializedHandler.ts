/**
 * Runs a function's `__index.js` (the serialized and bundled handler factory components/functionCode.ts
 * deploys) the way Lambda would: in a fresh Node process, one process standing for one container, so
 * several events in one run share the factory's clients and caches. The child finds nothing on its module
 * path but the AWS SDK, as the nodejs22.x runtime provides it, so everything else must be in the bundle.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { AwsStandIn, isolatedSdkEnv } from "./awsStandIn";
import { makeTempDir } from "./factories";

/** Lambda's remaining time the runner reports to each invocation, ms. */
export const RUNNER_REMAINING_MS = 120_000;

/** Runs each event through the exported handler in order and prints the outcomes as one JSON line. */
const RUNNER = `
const { handler } = require("./__index.js");
(async () => {
  const outcomes = [];
  for (const event of JSON.parse(process.argv[2])) {
    try {
      outcomes.push({ result: await handler(event, { getRemainingTimeInMillis: () => ${RUNNER_REMAINING_MS} }) });
    } catch (err) {
      outcomes.push({ error: err.message });
    }
  }
  process.stdout.write("OUTCOMES " + JSON.stringify(outcomes) + "\\n");
})();
`;

/** What one child run printed. */
export interface ChildRun {
  stdout: string;
  stderr: string;
  /** One per event: the handler's result or its error message. */
  outcomes: { result?: Record<string, unknown>; error?: string }[];
  /** The JSON lines of stdout (logs and EMF records), parsed. */
  jsonLines(): Record<string, unknown>[];
}

/** Writes the handler's text as `__index.js` plus the runner into a fresh temporary folder; returns the folder. */
export function writeSerializedHandler(text: string, prefix: string): string {
  const dir = makeTempDir(prefix);
  fs.writeFileSync(path.join(dir, "__index.js"), text);
  fs.writeFileSync(path.join(dir, "run.js"), RUNNER);
  return dir;
}

/** Writes an archive's files (archive path → bytes) under `dir`, creating folders. */
export function writeArchiveFiles(dir: string, files: Map<string, Uint8Array>): void {
  for (const [key, bytes] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
    fs.writeFileSync(path.join(dir, key), bytes);
  }
}

/**
 * A module path holding what the nodejs22.x runtime provides and nothing else: AWS SDK v3 (`@aws-sdk/*`,
 * linked to this repository's copy). Creates `<dir>/node_modules` and returns it, for NODE_PATH.
 */
export function lambdaRuntimeNodePath(dir: string): string {
  const modules = path.join(dir, "node_modules");
  if (fs.existsSync(modules)) return modules;
  fs.mkdirSync(modules, { recursive: true });
  fs.symlinkSync(path.resolve(__dirname, "..", "..", "node_modules", "@aws-sdk"), path.join(modules, "@aws-sdk"), "dir");
  return modules;
}

/**
 * A child environment with nothing from this process but PATH: NODE_PATH holding only the runtime's AWS SDK
 * ({@link lambdaRuntimeNodePath}, under `dir`), the stand-in's AWS settings, no AWS config files.
 */
export function serializedHandlerEnv(dir: string, aws: AwsStandIn, extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    NODE_PATH: lambdaRuntimeNodePath(path.join(dir, "runtime")),
    ...isolatedSdkEnv(aws, dir),
    ...extra,
  };
}

/** Runs the events in one child process; rejects if the process fails or prints no outcomes. */
export function runSerializedHandler(dir: string, events: unknown[], env: Record<string, string>): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["run.js", JSON.stringify(events)], { cwd: dir, env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`child failed: ${err.message}\n${stderr}`));
        return;
      }
      const line = stdout.split("\n").find((l) => l.startsWith("OUTCOMES "));
      if (line === undefined) {
        reject(new Error(`child printed no outcomes:\n${stdout}\n${stderr}`));
        return;
      }
      resolve({
        stdout,
        stderr,
        outcomes: JSON.parse(line.slice("OUTCOMES ".length)),
        jsonLines: () =>
          stdout
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l) as Record<string, unknown>),
      });
    });
  });
}
