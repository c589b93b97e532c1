/**
 * `crypto-analytics verify` through the CLI entry (main): flags, where the outputs come from (a file, or a
 * real `pulumi` child process: a fake executable on PATH), exit codes 0/1/2 and the printed lines. AWS is
 * aws-sdk-client-mock (helpers/verifyStack); configuration errors must make no AWS call at all.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { main } from "../cli/main";
import { verifyCommand } from "../cli/verifyCommand";
import { floorToSlot } from "../functions/partitions";
import { createVerifyClients } from "../verify/checks";
import { EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, parseStackOutputs, pulumiOutputArgs, readStackOutputs } from "../verify/stackOutputs";
import { captureStdout, tempDirsRemovedAfterAll } from "./helpers/factories";
import { IdleClock } from "./helpers/idleClock";
import {
  changingCalls,
  healthyStack,
  lambda,
  recordedCalls,
  stackOutputs,
  stackOutputsWithoutQuickSight,
  TRANSFORM_FN,
} from "./helpers/verifyStack";

const tempDir = tempDirsRemovedAfterAll();
// Real time here (main builds its own clock): one view and no QuickSight keep the run to one Athena poll.
const ONE_VIEW = { ...stackOutputsWithoutQuickSight(), viewNames: ["v_top_100"] };

let stdout: string[];
let stderr: string[];
const originalPath = process.env.PATH;

beforeEach(() => {
  healthyStack(floorToSlot(Date.now() / 1000));
  stdout = captureStdout();
  stderr = [];
  jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  jest.restoreAllMocks();
  process.exitCode = undefined;
  process.env.PATH = originalPath;
  expect(changingCalls(recordedCalls()).every((c) => c.command === "InvokeCommand" || c.command === "StartQueryExecutionCommand")).toBe(
    true,
  );
});

/** Runs `crypto-analytics verify ...args` in-process; returns the exit code it set. */
async function cli(...args: string[]): Promise<number> {
  await main(["node", "crypto-analytics", "verify", ...args]);
  return Number(process.exitCode ?? 0);
}

function outputsFile(outputs: unknown): string {
  const file = path.join(tempDir("verify-outputs"), "outputs.json");
  fs.writeFileSync(file, JSON.stringify(outputs));
  return file;
}

/**
 * A fake `pulumi` on PATH: records its arguments, prints `outputs` for stack `dev` and fails like the real
 * CLI for any other stack.
 */
function fakePulumi(outputs: unknown): { argsFile: string } {
  const dir = tempDir("fake-pulumi");
  const argsFile = path.join(dir, "args.txt");
  fs.writeFileSync(path.join(dir, "outputs.json"), JSON.stringify(outputs));
  const script = [
    "#!/bin/sh",
    `printf '%s\\n' "$@" > "${argsFile}"`,
    `if [ "$5" = "dev" ]; then cat "${path.join(dir, "outputs.json")}"; exit 0; fi`,
    `echo "error: no stack named '$5' found" >&2`,
    "exit 255",
  ].join("\n");
  fs.writeFileSync(path.join(dir, "pulumi"), script + "\n", { mode: 0o755 });
  process.env.PATH = `${dir}${path.delimiter}${originalPath}`;
  return { argsFile };
}

describe("verify --outputs FILE", () => {
  it("prints one line per check and a summary, and exits 0 when all pass", async () => {
    expect(await cli("--outputs", outputsFile(ONE_VIEW))).toBe(EXIT_OK);
    const lines = stdout.join("").trimEnd().split("\n");
    expect(lines.map((l) => l.split(" (")[0])).toEqual([
      "PASS ingest",
      "PASS transform",
      "PASS view v_top_100",
      "PASS alarm topic",
      "SKIP quicksight",
      "verify: 4 passed, 0 failed, 1 skipped",
    ]);
    expect(lines.every((l) => !l.includes("\n"))).toBe(true);
    expect(stderr.join("")).not.toContain("crypto-analytics:");
  });

  it("exits 1 when a check fails, the failing line saying what to fix", async () => {
    lambda.on(InvokeCommand, { FunctionName: TRANSFORM_FN }).resolves({
      StatusCode: 200,
      FunctionError: "Unhandled",
      Payload: Buffer.from('{"errorType":"Error","errorMessage":"boom"}') as never,
    });
    expect(await cli("--outputs", outputsFile(ONE_VIEW))).toBe(EXIT_CHECK_FAILED);
    expect(stdout.join("")).toContain(`FAIL transform`);
    expect(stdout.join("")).toContain(
      `returned FunctionError Unhandled: Error: boom; fix: see the function's log group /aws/lambda/${TRANSFORM_FN} in CloudWatch Logs`,
    );
    expect(stdout.join("")).toContain("verify: 3 passed, 1 failed, 1 skipped");
  });
});

describe("usage and configuration errors exit 2 before any AWS call", () => {
  it.each([
    ["neither --stack nor --outputs", [], "pass exactly one of --stack NAME"],
    ["both --stack and --outputs", ["--stack", "dev", "--outputs", "x.json"], "pass exactly one of --stack NAME"],
    [
      "a timeout that is not a number",
      ["--outputs", "x.json", "--ingest-timeout", "soon"],
      '--ingest-timeout must be a positive number of seconds, got "soon"',
    ],
    ["a zero timeout", ["--outputs", "x.json", "--view-timeout", "0"], '--view-timeout must be a positive number of seconds, got "0"'],
    ["an outputs file that does not exist", ["--outputs", "/nonexistent/outputs.json"], "cannot read --outputs /nonexistent/outputs.json"],
  ])("%s", async (_case, args, message) => {
    expect(await cli(...args)).toBe(EXIT_USAGE);
    expect(stderr.join("")).toContain(message);
    expect(recordedCalls()).toEqual([]);
  });

  it("an unknown flag (commander reports it)", async () => {
    expect(await cli("--outputs", "x.json", "--region", "us-east-1")).toBe(EXIT_USAGE);
    expect(stderr.join("")).toContain("unknown option '--region'");
    expect(recordedCalls()).toEqual([]);
  });

  it("outputs from an older deployment: names every missing output and says to deploy", async () => {
    const old = stackOutputs();
    delete old.alarmTopicArn;
    delete old.viewNames;
    expect(await cli("--outputs", outputsFile(old))).toBe(EXIT_USAGE);
    const message = stderr.join("");
    expect(message).toContain("viewNames must be a non-empty list of view names, got nothing");
    expect(message).toContain("alarmTopicArn is missing");
    expect(message).toContain("Deploy this version of the program (`pulumi up`)");
    expect(recordedCalls()).toEqual([]);
  });
});

describe("verify --stack NAME runs `pulumi stack output --json`", () => {
  it("reads the outputs from a real pulumi process, never asking for secrets", async () => {
    const { argsFile } = fakePulumi(ONE_VIEW);
    expect(await cli("--stack", "dev")).toBe(EXIT_OK);
    expect(fs.readFileSync(argsFile, "utf8").trimEnd().split("\n")).toEqual(["stack", "output", "--json", "--stack", "dev"]);
    expect(pulumiOutputArgs("dev")).not.toContain("--show-secrets");
    expect(stdout.join("")).toContain("verify: 4 passed, 0 failed, 1 skipped");
  });

  it("a stack that does not exist: pulumi's own message and how to find the right name, exit 2", async () => {
    fakePulumi(ONE_VIEW);
    expect(await cli("--stack", "nope")).toBe(EXIT_USAGE);
    expect(stderr.join("")).toContain(
      "`pulumi stack output --json --stack nope` failed: error: no stack named 'nope' found. Check the stack name with `pulumi stack ls`",
    );
    expect(recordedCalls()).toEqual([]);
  });

  it("no pulumi on PATH: says to install it or pass --outputs", async () => {
    process.env.PATH = tempDir("empty-path");
    await expect(readStackOutputs({ stack: "dev" })).rejects.toMatchObject({
      exitCode: EXIT_USAGE,
      message: expect.stringContaining("the pulumi CLI is not on PATH"),
    });
  });

  it("pulumi printing something that is not JSON", async () => {
    const run = async () => ({ code: 0, stdout: "Current stack outputs (3):", stderr: "" });
    await expect(readStackOutputs({ stack: "dev" }, run)).rejects.toMatchObject({
      exitCode: EXIT_USAGE,
      message: expect.stringContaining("did not give JSON"),
    });
  });
});

describe("stack outputs that cannot be trusted are refused", () => {
  it.each([
    ["not an object", [], "is not a JSON object of stack outputs"],
    [
      "a view name that is not an identifier (it would reach SQL)",
      { viewNames: ['v_top_100"; DROP TABLE x; --'] },
      "viewNames must be a non-empty list of view names",
    ],
    ["a topic that is not an ARN", { alarmTopicArn: "crypto-topic" }, 'alarmTopicArn is not an ARN: "crypto-topic"'],
    [
      "a data source ARN of another kind",
      { quicksightDataSourceArn: "arn:aws:quicksight:eu-west-1:123456789012:dataset/x" },
      "quicksightDataSourceArn is not a QuickSight data source ARN",
    ],
    [
      "a data set that is not an ARN",
      { quicksightDataSetArns: { v_top_100: "x" } },
      'quicksightDataSetArns.v_top_100 is not a QuickSight data set ARN: "x"',
    ],
    ["an unknown import mode", { quicksightImportMode: "CACHED" }, 'quicksightImportMode must be one of SPICE, DIRECT_QUERY, got "CACHED"'],
    [
      "a secret (pulumi prints [secret] without --show-secrets)",
      { ingestFunctionName: "[secret]" },
      "ingestFunctionName is a secret in this stack; verify reads plain outputs only",
    ],
    ["a number where a name belongs", { glueDatabase: 7 }, "glueDatabase must be a non-empty string, got 7"],
  ])("%s", (_case, overrides, message) => {
    const outputs = Array.isArray(overrides) ? overrides : stackOutputs(overrides);
    expect(() => parseStackOutputs(outputs, "outputs")).toThrow(message);
  });

  it("takes the region, account and partition from the alarm topic's ARN", () => {
    expect(parseStackOutputs(stackOutputs({ alarmTopicArn: "arn:aws-cn:sns:cn-north-1:210987654321:t" }), "outputs")).toMatchObject({
      partition: "aws-cn",
      region: "cn-north-1",
      account: "210987654321",
    });
  });
});

describe("timeout flags", () => {
  it("--transform-timeout sets the transform check's limit", async () => {
    lambda.on(InvokeCommand, { FunctionName: TRANSFORM_FN }).callsFake(() => new Promise(() => undefined));
    const lines: string[] = [];
    const targets = parseStackOutputs(ONE_VIEW, "outputs");
    const code = await verifyCommand({
      outputs: outputsFile(ONE_VIEW),
      transformTimeout: "7",
      clients: createVerifyClients(targets),
      clock: new IdleClock(Date.now()),
      write: (l) => lines.push(l),
    });
    expect(code).toBe(EXIT_CHECK_FAILED);
    expect(lines[1]).toBe(
      `FAIL transform (7.0 s): timed out after 7 s during lambda:InvokeFunction (function ${TRANSFORM_FN}); fix: raise --transform-timeout if the function needs longer`,
    );
  });
});
