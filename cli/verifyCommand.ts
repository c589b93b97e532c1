/**
 * `crypto-analytics verify (--stack NAME | --outputs FILE)`: checks a deployed stack end to end (the checks
 * live in verify/checks.ts). This module only reads the flags, the stack outputs and prints the lines.
 */
import { createLogger } from "../functions/telemetry";
import { Clock } from "../local/scheduler";
import { CheckResult, formatCheckLine, runVerify, VerifyClients, VerifyTimeouts } from "../verify/checks";
import { ProcessRunner, readStackOutputs, spawnProcess, verifyConfigError } from "../verify/stackOutputs";

/** The flags of `verify`, as commander hands them over, plus injection points for tests. */
export interface VerifyCommandOptions {
  /** `--stack NAME`: read the outputs with `pulumi stack output --json --stack NAME`. */
  stack?: string;
  /** `--outputs FILE`: read the outputs from a file saved with `pulumi stack output --json`. */
  outputs?: string;
  /** `--ingest-timeout SECONDS`. Defaults to DEFAULT_INGEST_CHECK_TIMEOUT_MS. */
  ingestTimeout?: string;
  /** `--transform-timeout SECONDS`. Defaults to DEFAULT_TRANSFORM_CHECK_TIMEOUT_MS. */
  transformTimeout?: string;
  /** `--view-timeout SECONDS`, per view. Defaults to DEFAULT_VIEW_CHECK_TIMEOUT_MS. */
  viewTimeout?: string;
  /** `--topic-timeout SECONDS`. Defaults to DEFAULT_TOPIC_CHECK_TIMEOUT_MS. */
  topicTimeout?: string;
  /** `--quicksight-timeout SECONDS`, per QuickSight check. Defaults to DEFAULT_QUICKSIGHT_CHECK_TIMEOUT_MS. */
  quicksightTimeout?: string;
  /** `--verbose`: the Athena engine's JSON log lines (query ids) on stderr. */
  verbose?: boolean;
  /** Runs `pulumi`. Defaults to a child process. */
  runProcess?: ProcessRunner;
  /** SDK clients. Defaults to clients for the stack's region. */
  clients?: VerifyClients;
  /** Clock. Defaults to the system clock. */
  clock?: Clock;
  /** Where report lines go. Defaults to stdout. */
  write?: (line: string) => void;
}

/** The timeout flags and the {@link VerifyTimeouts} field each sets. */
const TIMEOUT_FLAGS = {
  ingestTimeout: ["--ingest-timeout", "ingestMs"],
  transformTimeout: ["--transform-timeout", "transformMs"],
  viewTimeout: ["--view-timeout", "viewMs"],
  topicTimeout: ["--topic-timeout", "topicMs"],
  quicksightTimeout: ["--quicksight-timeout", "quicksightMs"],
} as const;

/**
 * Runs verify and returns its exit code: EXIT_OK or EXIT_CHECK_FAILED. Throws a VerifyConfigError (exit
 * code EXIT_USAGE) for bad flags, an unreadable outputs source or missing outputs, before any AWS call.
 */
export async function verifyCommand(o: VerifyCommandOptions): Promise<number> {
  const timeouts = parseTimeouts(o);
  const targets = await readStackOutputs({ stack: o.stack, outputsFile: o.outputs }, o.runProcess ?? spawnProcess);
  const write = o.write ?? ((line: string) => process.stdout.write(line + "\n"));
  const report = await runVerify(targets, {
    clients: o.clients,
    clock: o.clock,
    timeouts,
    logger: o.verbose === true ? createLogger("verify", { sink: (line) => process.stderr.write(line + "\n") }) : undefined,
    onResult: (r) => write(formatCheckLine(r)),
  });
  write(summaryLine(report.results));
  return report.exitCode;
}

/** `verify: 14 passed, 1 failed, 1 skipped`. */
function summaryLine(results: readonly CheckResult[]): string {
  const count = (status: CheckResult["status"]): number => results.filter((r) => r.status === status).length;
  return `verify: ${count("pass")} passed, ${count("fail")} failed, ${count("skip")} skipped`;
}

function parseTimeouts(o: VerifyCommandOptions): VerifyTimeouts {
  const timeouts: VerifyTimeouts = {};
  for (const [option, [flag, field]] of Object.entries(TIMEOUT_FLAGS) as [
    keyof typeof TIMEOUT_FLAGS,
    (typeof TIMEOUT_FLAGS)[keyof typeof TIMEOUT_FLAGS],
  ][]) {
    const value = o[option];
    if (value === undefined) continue;
    const seconds = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(seconds > 0))
      throw verifyConfigError(`${flag} must be a positive number of seconds, got ${JSON.stringify(value)}`);
    timeouts[field] = seconds * 1000;
  }
  return timeouts;
}
