/**
 * What `crypto-analytics verify` checks, read from a deployed stack's outputs: `pulumi stack output --json`
 * (run as a child process, never with `--show-secrets`) or a file holding that command's output. The
 * output names are the exports of the repository's Pulumi program (index.ts); they are part of the
 * command's contract, so renaming one there breaks verify's tests.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";

/** A usage or configuration problem: verify checked nothing, and the CLI exits with {@link EXIT_USAGE}. */
export interface VerifyConfigError extends Error {
  name: "VerifyConfigError";
  /** The CLI's exit code for it. */
  exitCode: typeof EXIT_USAGE;
}

/** Exit code of `verify` when every check passed (or was skipped, saying why). */
export const EXIT_OK = 0;
/** Exit code of `verify` when any check failed. */
export const EXIT_CHECK_FAILED = 1;
/** Exit code of `verify` for a usage or configuration error (bad flags, no stack, missing outputs). */
export const EXIT_USAGE = 2;

/** Creates a {@link VerifyConfigError}. */
export function verifyConfigError(message: string): VerifyConfigError {
  const error = new Error(message) as VerifyConfigError;
  error.name = "VerifyConfigError";
  error.exitCode = EXIT_USAGE;
  return error;
}

/** Stack outputs verify needs: each names the index.ts export it is read from. */
export const REQUIRED_OUTPUTS = {
  ingestFunctionName: "ingestFunctionName",
  transformFunctionName: "transformFunctionName",
  archiveBucketName: "archiveBucketName",
  analyticsBucketName: "analyticsBucketName",
  glueDatabase: "glueDatabase",
  athenaWorkGroup: "athenaWorkGroup",
  viewNames: "viewNames",
  alarmTopicArn: "alarmTopicArn",
} as const;

/** Stack outputs present only when the QuickSight dashboard is deployed (`quicksightPrincipalArns` set). */
export const QUICKSIGHT_OUTPUTS = {
  dataSourceArn: "quicksightDataSourceArn",
  dataSetArns: "quicksightDataSetArns",
  importMode: "quicksightImportMode",
} as const;

/** QuickSight import modes (Dashboards' `dashboardMode`). */
const IMPORT_MODES = ["SPICE", "DIRECT_QUERY"] as const;

/** How `pulumi stack output --json` shows a secret output unless asked to decrypt it. */
const SECRET_PLACEHOLDER = "[secret]";

/** Glue view names as AnalyticsLayer creates them: checked before they are put into SQL. */
const VIEW_NAME = /^[a-z_][a-z0-9_]*$/;

/** `arn:<partition>:<service>:<region>:<account>:<resource>`. */
const ARN = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]+):(\d{12}):(.+)$/;

/** The parts of an ARN verify needs. */
export interface ArnParts {
  partition: string;
  region: string;
  account: string;
  /** What follows the account, e.g. `datasource/<id>`. */
  resource: string;
}

/** The QuickSight part of the stack. */
export interface QuickSightTargets {
  /** Region of the data source (from its ARN). */
  region: string;
  /** Account of the data source (from its ARN). */
  account: string;
  /** QuickSight id of the Athena data source. */
  dataSourceId: string;
  /** QuickSight data set id by view name. */
  dataSetIds: Record<string, string>;
  /** SPICE data sets have ingestions to check; DIRECT_QUERY ones have none. */
  importMode: (typeof IMPORT_MODES)[number];
}

/** Everything verify checks, resolved from the stack outputs. */
export interface VerifyTargets {
  /** Partition, region and account of the stack, from the alarm topic's ARN (every resource shares them). */
  partition: string;
  region: string;
  account: string;
  ingestFunctionName: string;
  transformFunctionName: string;
  archiveBucketName: string;
  analyticsBucketName: string;
  glueDatabase: string;
  athenaWorkGroup: string;
  /** The views the stack created, in the stack's order. */
  viewNames: string[];
  alarmTopicArn: string;
  /** Undefined when the stack has no QuickSight dashboard. */
  quicksight?: QuickSightTargets;
}

/** Splits an ARN; undefined when `value` is not one. */
export function parseArn(value: string): ArnParts | undefined {
  const m = ARN.exec(value);
  return m === null ? undefined : { partition: m[1], region: m[3], account: m[4], resource: m[5] };
}

/**
 * Checks stack outputs (the parsed JSON of `pulumi stack output --json`) and resolves the targets. Throws
 * one {@link VerifyConfigError} naming every missing or malformed output, with what to do about it.
 * `source` names where the outputs came from, for the message.
 */
export function parseStackOutputs(outputs: unknown, source: string): VerifyTargets {
  if (typeof outputs !== "object" || outputs === null || Array.isArray(outputs)) {
    throw verifyConfigError(`${source} is not a JSON object of stack outputs (as printed by \`pulumi stack output --json\`)`);
  }
  const o = outputs as Record<string, unknown>;
  const problems: string[] = [];
  const text = (name: string): string => {
    const value = o[name];
    if (value === undefined || value === null) problems.push(`${name} is missing`);
    // What `pulumi stack output --json` prints for a secret without --show-secrets, which verify never passes.
    else if (value === SECRET_PLACEHOLDER)
      problems.push(`${name} is a secret in this stack; verify reads plain outputs only, so export it as a plain value`);
    else if (typeof value !== "string" || value.trim() === "")
      problems.push(`${name} must be a non-empty string, got ${JSON.stringify(value)}`);
    return typeof value === "string" ? value : "";
  };
  const views = o[REQUIRED_OUTPUTS.viewNames];
  const viewNames =
    Array.isArray(views) && views.length > 0 && views.every((v) => typeof v === "string" && VIEW_NAME.test(v)) ? (views as string[]) : [];
  if (viewNames.length === 0)
    problems.push(
      `${REQUIRED_OUTPUTS.viewNames} must be a non-empty list of view names, got ${views === undefined ? "nothing" : JSON.stringify(views)}`,
    );
  const topicArn = text(REQUIRED_OUTPUTS.alarmTopicArn);
  const topic = parseArn(topicArn);
  if (topicArn !== "" && topic === undefined) problems.push(`${REQUIRED_OUTPUTS.alarmTopicArn} is not an ARN: ${JSON.stringify(topicArn)}`);
  const targets: VerifyTargets = {
    partition: topic?.partition ?? "",
    region: topic?.region ?? "",
    account: topic?.account ?? "",
    ingestFunctionName: text(REQUIRED_OUTPUTS.ingestFunctionName),
    transformFunctionName: text(REQUIRED_OUTPUTS.transformFunctionName),
    archiveBucketName: text(REQUIRED_OUTPUTS.archiveBucketName),
    analyticsBucketName: text(REQUIRED_OUTPUTS.analyticsBucketName),
    glueDatabase: text(REQUIRED_OUTPUTS.glueDatabase),
    athenaWorkGroup: text(REQUIRED_OUTPUTS.athenaWorkGroup),
    viewNames,
    alarmTopicArn: topicArn,
    quicksight: quicksightTargets(o, problems),
  };
  if (problems.length > 0) {
    throw verifyConfigError(
      `${source}: ${problems.join("; ")}. Deploy this version of the program (\`pulumi up\`), whose index.ts exports them, then run verify again`,
    );
  }
  return targets;
}

/** The QuickSight targets, undefined when the data source output is absent; malformed values go to `problems`. */
function quicksightTargets(o: Record<string, unknown>, problems: string[]): QuickSightTargets | undefined {
  const sourceArn = o[QUICKSIGHT_OUTPUTS.dataSourceArn];
  if (sourceArn === undefined || sourceArn === null) return undefined;
  const source = typeof sourceArn === "string" ? parseArn(sourceArn) : undefined;
  const sourceId = source?.resource.startsWith("datasource/") ? source.resource.slice("datasource/".length) : undefined;
  if (source === undefined || sourceId === undefined) {
    problems.push(`${QUICKSIGHT_OUTPUTS.dataSourceArn} is not a QuickSight data source ARN: ${JSON.stringify(sourceArn)}`);
  }
  const dataSetIds: Record<string, string> = {};
  const sets = o[QUICKSIGHT_OUTPUTS.dataSetArns];
  if (typeof sets !== "object" || sets === null || Array.isArray(sets)) {
    problems.push(`${QUICKSIGHT_OUTPUTS.dataSetArns} must be an object of data set ARNs by view name, got ${JSON.stringify(sets ?? null)}`);
  } else {
    for (const [view, arn] of Object.entries(sets)) {
      const resource = typeof arn === "string" ? parseArn(arn)?.resource : undefined;
      if (resource?.startsWith("dataset/")) dataSetIds[view] = resource.slice("dataset/".length);
      else problems.push(`${QUICKSIGHT_OUTPUTS.dataSetArns}.${view} is not a QuickSight data set ARN: ${JSON.stringify(arn)}`);
    }
  }
  const mode = o[QUICKSIGHT_OUTPUTS.importMode];
  if (!IMPORT_MODES.includes(mode as QuickSightTargets["importMode"])) {
    problems.push(`${QUICKSIGHT_OUTPUTS.importMode} must be one of ${IMPORT_MODES.join(", ")}, got ${JSON.stringify(mode ?? null)}`);
  }
  return {
    region: source?.region ?? "",
    account: source?.account ?? "",
    dataSourceId: sourceId ?? "",
    dataSetIds,
    importMode: mode as QuickSightTargets["importMode"],
  };
}

/** What a finished child process left behind. */
export interface ProcessOutcome {
  /** Exit code; null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program with arguments (no shell) and collects its output; rejects only when it cannot be started
 * (an `ENOENT` error when the program is not on PATH).
 */
export type ProcessRunner = (command: string, args: readonly string[]) => Promise<ProcessOutcome>;

/** The real {@link ProcessRunner}: `child_process.spawn` with the caller's environment and working directory. */
export const spawnProcess: ProcessRunner = (command, args) =>
  new Promise((resolve, reject) => {
    // env passed explicitly: the caller's view of process.env (a test's, under jest) is the one that counts.
    const child = spawn(command, [...args], { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
    );
  });

/** The Pulumi CLI, as looked up on PATH. */
export const PULUMI_COMMAND = "pulumi";

/**
 * The arguments verify passes to `pulumi`: plain `--json`, never `--show-secrets`, so no secret output is
 * ever decrypted for it (verify needs none: names and ARNs only).
 */
export function pulumiOutputArgs(stack: string): string[] {
  return ["stack", "output", "--json", "--stack", stack];
}

/** Where the outputs come from: exactly one of the two. */
export interface OutputsSource {
  /** `--stack NAME`: run `pulumi stack output --json --stack NAME` in the current directory. */
  stack?: string;
  /** `--outputs FILE`: a file holding that command's output. */
  outputsFile?: string;
}

/**
 * Reads and checks the stack outputs. Throws a {@link VerifyConfigError} when neither or both sources are
 * given, the file is missing or not JSON, `pulumi` is not installed, the stack does not exist (pulumi's own
 * message is kept), or outputs are missing.
 */
export async function readStackOutputs(source: OutputsSource, run: ProcessRunner = spawnProcess): Promise<VerifyTargets> {
  if ((source.stack === undefined) === (source.outputsFile === undefined)) {
    throw verifyConfigError(
      "pass exactly one of --stack NAME (reads `pulumi stack output --json`) or --outputs FILE (that command's saved output)",
    );
  }
  if (source.outputsFile !== undefined) {
    const file = source.outputsFile;
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      throw verifyConfigError(
        `cannot read --outputs ${file}: ${(err as Error).message}; write it with \`pulumi stack output --json > ${file}\``,
      );
    }
    return parseStackOutputs(parseJson(text, `--outputs ${file}`), `--outputs ${file}`);
  }
  const stack = source.stack as string;
  const args = pulumiOutputArgs(stack);
  let outcome: ProcessOutcome;
  try {
    outcome = await run(PULUMI_COMMAND, args);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw verifyConfigError(
      missing
        ? `the pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/), or save the outputs elsewhere and pass --outputs FILE`
        : `could not run pulumi: ${(err as Error).message}`,
    );
  }
  const command = `\`${PULUMI_COMMAND} ${args.join(" ")}\``;
  if (outcome.code !== 0) {
    const reason =
      outcome.stderr
        .trim()
        .split("\n")
        .filter((l) => l.trim() !== "")
        .pop() ?? `exit code ${outcome.code}`;
    throw verifyConfigError(
      `${command} failed: ${reason}. Check the stack name with \`pulumi stack ls\` (run verify in the Pulumi project's folder) and deploy it with \`pulumi up\``,
    );
  }
  return parseStackOutputs(parseJson(outcome.stdout, command), `stack ${stack}`);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw verifyConfigError(`${what} did not give JSON (${(err as Error).message})`);
  }
}
