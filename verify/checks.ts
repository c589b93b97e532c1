/**
 * `crypto-analytics verify`: checks a deployed stack end to end, one line per check.
 *
 * 1. ingest: invokes the ingest function with the event EventBridge Scheduler sends for the current
 *    5-minute slot, then looks for that slot's `raw/` and `processed/` objects.
 * 2. transform: invokes the transform function with a manual re-run event for the slot's hour, then reads
 *    the hour's manifest (it must list the slot) and lists its `analytics/` objects (the Parquet files).
 * 3. view <name>: runs `SELECT * ... LIMIT` on every view through the stack's workgroup; each must succeed
 *    and return rows (after 1 and 2 every view has data to show; an empty view means the views do not
 *    reach the partitions the transform wrote).
 * 4. alarm topic: the SNS topic exists and no subscription waits for confirmation.
 * 5. quicksight data source and spice <view>, when the stack has a dashboard: the data source's status and
 *    each SPICE data set's latest ingestion (waiting while one runs).
 *
 * What it changes: the two invocations (whose writes are idempotent: conditional writes per slot, dedup per
 * hour) and the Athena SELECTs' result files in the workgroup's results location. Everything else is a
 * read. Lambda is invoked RequestResponse, not Event: the function's result and error come back in the
 * response (FunctionError, https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), a synchronous
 * invocation is never retried by Lambda (unlike an async one, which Lambda retries twice and then sends to
 * the failure destination, https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html),
 * and the client is built with `maxAttempts: 1` so the SDK never sends a second Invoke either.
 */
import { AthenaClient } from "@aws-sdk/client-athena";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { DescribeDataSourceCommand, Ingestion, ListIngestionsCommand, QuickSightClient } from "@aws-sdk/client-quicksight";
import { S3Client } from "@aws-sdk/client-s3";
import { GetTopicAttributesCommand, SNSClient } from "@aws-sdk/client-sns";
import { AthenaQueryEngine } from "../functions/athenaQueryEngine";
import { IngestResult } from "../functions/ingest";
import { floorToSlot, hourPrefix, partitionOf, partitionStart, processedKey, rawKey } from "../functions/partitions";
import { S3ObjectStore } from "../functions/s3ObjectStore";
import { createLogger, Logger } from "../functions/telemetry";
import { manifestKey, readManifest, TransformSummary } from "../functions/transform";
import { Clock, SYSTEM_CLOCK } from "../local/scheduler";
import { accessDeniedFix, describeAwsError, FailedCall, Failure } from "./awsFailures";
import { EXIT_CHECK_FAILED, EXIT_OK, VerifyTargets } from "./stackOutputs";

/** Limit of the ingest check: the ingest function's default 180 s timeout plus 30 s for the S3 look-ups. */
export const DEFAULT_INGEST_CHECK_TIMEOUT_MS = 210_000;
/** Limit of the transform check: the transform function's default 600 s timeout plus 30 s. */
export const DEFAULT_TRANSFORM_CHECK_TIMEOUT_MS = 630_000;
/** Limit of each view's query; a query still running then is stopped. */
export const DEFAULT_VIEW_CHECK_TIMEOUT_MS = 120_000;
/** Limit of the alarm topic check (one read). */
export const DEFAULT_TOPIC_CHECK_TIMEOUT_MS = 30_000;
/** Limit of each QuickSight check, including the wait for a data source update or a SPICE ingestion that is running. */
export const DEFAULT_QUICKSIGHT_CHECK_TIMEOUT_MS = 300_000;
/** Wait between two looks at a QuickSight data source or ingestion that is still in progress. */
export const QUICKSIGHT_POLL_MS = 5_000;
/** Rows each view query asks for: one proves the view reaches data, a few show it is not a fluke. */
export const VIEW_SAMPLE_ROWS = 10;
/**
 * Time a view check allows beyond its query limit: the engine stops a query at the limit itself
 * (StopQueryExecution) and needs a moment for that call before the check gives up on it.
 */
export const VIEW_STOP_GRACE_MS = 30_000;
/** ListIngestions page size (the API's maximum). */
export const INGESTIONS_PAGE_SIZE = 100;

/** Per-check limits in milliseconds; each defaults to the constant of the same name. */
export interface VerifyTimeouts {
  /** Defaults to {@link DEFAULT_INGEST_CHECK_TIMEOUT_MS}. */
  ingestMs?: number;
  /** Defaults to {@link DEFAULT_TRANSFORM_CHECK_TIMEOUT_MS}. */
  transformMs?: number;
  /** Per view. Defaults to {@link DEFAULT_VIEW_CHECK_TIMEOUT_MS}. */
  viewMs?: number;
  /** Defaults to {@link DEFAULT_TOPIC_CHECK_TIMEOUT_MS}. */
  topicMs?: number;
  /** Per QuickSight check. Defaults to {@link DEFAULT_QUICKSIGHT_CHECK_TIMEOUT_MS}. */
  quicksightMs?: number;
}

/** The SDK clients verify uses. */
export interface VerifyClients {
  lambda: LambdaClient;
  s3: S3Client;
  athena: AthenaClient;
  sns: SNSClient;
  quicksight: QuickSightClient;
}

/** Outcome of one check. */
export type CheckStatus = "pass" | "fail" | "skip";

/** One line of the report. */
export interface CheckResult {
  /** e.g. `ingest`, `view v_top_100`, `spice v_top_100`. */
  name: string;
  status: CheckStatus;
  /** Time the check took. */
  seconds: number;
  /** What was found. */
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

/** Outcome of {@link runVerify}. */
export interface VerifyReport {
  /** Every check, in the order run. */
  results: CheckResult[];
  /** {@link EXIT_OK} when nothing failed, else {@link EXIT_CHECK_FAILED}. */
  exitCode: number;
}

/** Options of {@link runVerify}. */
export interface VerifyOptions {
  /** SDK clients. Defaults to {@link createVerifyClients} for the stack's region. */
  clients?: VerifyClients;
  /** Per-check limits. Defaults to the DEFAULT_*_CHECK_TIMEOUT_MS constants. */
  timeouts?: VerifyTimeouts;
  /** Time source and waits. Defaults to the system clock. */
  clock?: Clock;
  /** Log of the Athena engine's query ids. Defaults to none. */
  logger?: Logger;
  /** Called with each result as soon as its check ends (the CLI prints it). Defaults to none. */
  onResult?: (result: CheckResult) => void;
}

/**
 * The clients for a stack: everything in the stack's region, QuickSight in the data source's region.
 * Lambda gets `maxAttempts: 1`, so a dropped connection never makes the SDK send a second Invoke.
 */
export function createVerifyClients(targets: VerifyTargets): VerifyClients {
  const region = targets.region;
  return {
    lambda: new LambdaClient({ region, maxAttempts: 1 }),
    s3: new S3Client({ region }),
    athena: new AthenaClient({ region }),
    sns: new SNSClient({ region }),
    quicksight: new QuickSightClient({ region: targets.quicksight?.region ?? region }),
  };
}

/** `STATUS name (N.N s): detail; fix: ...`, one line. */
export function formatCheckLine(r: CheckResult): string {
  const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim();
  return `${r.status.toUpperCase()} ${r.name} (${r.seconds.toFixed(1)} s): ${oneLine(r.detail)}${r.fix === undefined ? "" : `; fix: ${oneLine(r.fix)}`}`;
}

/**
 * Runs every check against a deployed stack (see the module comment) and reports each; never throws for a
 * failed check. Checks run one after another; the transform check is skipped when the ingest check failed.
 */
export async function runVerify(targets: VerifyTargets, options: VerifyOptions = {}): Promise<VerifyReport> {
  const run = new VerifyRun(targets, options);
  const results = await run.all();
  return { results, exitCode: results.some((r) => r.status === "fail") ? EXIT_CHECK_FAILED : EXIT_OK };
}

/** A failure raised inside a check, already described. */
interface CheckFailure extends Error {
  failure: Failure;
}

function checkFailure(failure: Failure): CheckFailure {
  return Object.assign(new Error(failure.detail), { failure });
}

function isCheckFailure(err: unknown): err is CheckFailure {
  return err instanceof Error && typeof (err as Partial<CheckFailure>).failure === "object";
}

/** What a check body returns when it did not fail. */
interface Outcome {
  status: Exclude<CheckStatus, "fail">;
  detail: string;
}

/** Where a check is: the step it is in (for the line of a check that times out) and its abort signal. */
interface Step {
  current: string;
  /** Aborted when the check is over: a body still running after its timeout must start no further call. */
  signal: AbortSignal;
}

/** `2026-12-02T15:45:00Z`: an epoch-seconds time as EventBridge Scheduler writes `<aws.scheduler.scheduled-time>`. */
function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

class VerifyRun {
  private readonly clients: VerifyClients;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly timeouts: Required<VerifyTimeouts>;
  private readonly results: CheckResult[] = [];

  constructor(
    private readonly targets: VerifyTargets,
    private readonly options: VerifyOptions,
  ) {
    this.clients = options.clients ?? createVerifyClients(targets);
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.logger = options.logger ?? createLogger("verify", { sink: () => undefined });
    const t = options.timeouts ?? {};
    this.timeouts = {
      ingestMs: t.ingestMs ?? DEFAULT_INGEST_CHECK_TIMEOUT_MS,
      transformMs: t.transformMs ?? DEFAULT_TRANSFORM_CHECK_TIMEOUT_MS,
      viewMs: t.viewMs ?? DEFAULT_VIEW_CHECK_TIMEOUT_MS,
      topicMs: t.topicMs ?? DEFAULT_TOPIC_CHECK_TIMEOUT_MS,
      quicksightMs: t.quicksightMs ?? DEFAULT_QUICKSIGHT_CHECK_TIMEOUT_MS,
    };
  }

  async all(): Promise<CheckResult[]> {
    const slot = floorToSlot(Math.floor(this.clock.now() / 1000));
    const ingest = await this.check("ingest", this.timeouts.ingestMs, "raise --ingest-timeout if the function needs longer", (step) =>
      this.ingest(slot, step),
    );
    if (ingest.status === "pass") {
      await this.check("transform", this.timeouts.transformMs, "raise --transform-timeout if the function needs longer", (step) =>
        this.transform(slot, step),
      );
    } else {
      this.skip("transform", "the ingest check failed, so the hour has no new snapshot to materialise");
    }
    const engine = this.viewEngine();
    for (const view of this.targets.viewNames) {
      await this.check(`view ${view}`, this.timeouts.viewMs + VIEW_STOP_GRACE_MS, "raise --view-timeout", (step) =>
        this.view(engine, view, step),
      );
    }
    await this.check("alarm topic", this.timeouts.topicMs, "raise --topic-timeout", (step) => this.topic(step));
    await this.quicksight();
    return this.results;
  }

  /**
   * Runs one check body within `timeoutMs` and records its line: a failure it raises, any other error, or
   * the timeout (naming the step it was in) make a `fail` line.
   */
  private async check(name: string, timeoutMs: number, timeoutFix: string, body: (step: Step) => Promise<Outcome>): Promise<CheckResult> {
    const started = this.clock.now();
    const controller = new AbortController();
    const step: Step = { current: "starting", signal: controller.signal };
    const timedOut = Symbol("timed out");
    const work = body(step);
    // A body still running after its timeout ends in an abort; its late rejection is of no interest.
    work.catch(() => undefined);
    let result: Omit<CheckResult, "seconds">;
    try {
      const outcome = await Promise.race([work, this.clock.sleepUntil(started + timeoutMs, controller.signal).then(() => timedOut)]);
      result =
        outcome === timedOut
          ? { name, status: "fail", detail: `timed out after ${Math.round(timeoutMs / 1000)} s during ${step.current}`, fix: timeoutFix }
          : { name, ...(outcome as Outcome) };
    } catch (err) {
      const failure = isCheckFailure(err)
        ? err.failure
        : { detail: err instanceof Error ? err.message : String(err), fix: "see the error above" };
      result = { name, status: "fail", ...failure };
    } finally {
      controller.abort();
    }
    return this.record({ ...result, seconds: (this.clock.now() - started) / 1000 });
  }

  private skip(name: string, detail: string): void {
    this.record({ name, status: "skip", seconds: 0, detail });
  }

  private record(result: CheckResult): CheckResult {
    this.results.push(result);
    this.options.onResult?.(result);
    return result;
  }

  /** Runs one AWS call as a step of a check; its error becomes a described failure. */
  private async aws<T>(step: Step, call: Omit<FailedCall, "region">, what: string, fn: () => Promise<T>): Promise<T> {
    // A poll loop abandoned at its timeout wakes from its sleep and would call again: it stops here instead.
    if (step.signal.aborted) throw checkFailure({ detail: `abandoned after the timeout, before ${call.action} (${what})`, fix: "" });
    step.current = `${call.action} (${what})`;
    try {
      return await fn();
    } catch (err) {
      if (isCheckFailure(err)) throw err;
      throw checkFailure(describeAwsError(err, { ...call, region: this.targets.region }));
    }
  }

  private arn(service: string, resource: string, region = this.targets.region): string {
    return `arn:${this.targets.partition}:${service}:${region}:${this.targets.account}:${resource}`;
  }

  private bucketArn(bucket: string, key?: string): string {
    return `arn:${this.targets.partition}:s3:::${bucket}${key === undefined ? "" : `/${key}`}`;
  }

  /**
   * Invokes a function synchronously with `event` and returns its parsed result. A function error
   * (FunctionError in the response) fails the check with the function's own errorType and errorMessage.
   */
  private async invoke(functionName: string, event: unknown, step: Step): Promise<unknown> {
    const call = { action: "lambda:InvokeFunction", resource: this.arn("lambda", `function:${functionName}`) };
    const out = await this.aws(step, call, `function ${functionName}`, () =>
      this.clients.lambda.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: "RequestResponse", Payload: Buffer.from(JSON.stringify(event)) }),
        { abortSignal: step.signal },
      ),
    );
    const text = out.Payload === undefined ? "" : Buffer.from(out.Payload).toString("utf8");
    const body = parseJsonOrText(text);
    if (out.FunctionError !== undefined) {
      const error = (typeof body === "object" && body !== null ? body : {}) as { errorType?: string; errorMessage?: string };
      const message = error.errorMessage ?? text;
      const denied = accessDeniedFix(message);
      throw checkFailure({
        detail: `${functionName} returned FunctionError ${out.FunctionError}: ${error.errorType ?? "Error"}: ${message}`,
        fix:
          denied !== undefined
            ? `${denied} (the function's role belongs to the stack: \`pulumi up\` restores its policy)`
            : `see the function's log group /aws/lambda/${functionName} in CloudWatch Logs`,
      });
    }
    return body;
  }

  private async ingest(slot: number, step: Step): Promise<Outcome> {
    const { ingestFunctionName: fn, archiveBucketName: bucket } = this.targets;
    // The Scheduler's input template ({"scheduledTime":"<aws.scheduler.scheduled-time>"}) filled in for this slot.
    const result = (await this.invoke(fn, { scheduledTime: isoSeconds(slot) }, step)) as Partial<IngestResult>;
    const expected = processedKey(slot);
    if (result?.timestamp !== slot || result.processedKey !== expected) {
      throw checkFailure({
        detail: `${fn} returned ${JSON.stringify(result)}, not slot ${slot} (${expected})`,
        fix: "deploy this version of the ingest function (`pulumi up`)",
      });
    }
    const archive = new S3ObjectStore(this.clients.s3, bucket);
    const hour = partitionOf(slot);
    const list = (area: "raw" | "processed"): Promise<string[]> =>
      this.aws(
        step,
        { action: "s3:ListBucket", resource: this.bucketArn(bucket) },
        `s3://${bucket}/${hourPrefix(area, hour)}${slot}*`,
        () => archive.list(`${hourPrefix(area, hour)}${slot}`),
      );
    const present = new Set([...(await list("raw")), ...(await list("processed"))]);
    const missing = [rawKey(slot), expected].filter((key) => !present.has(key));
    if (missing.length > 0) {
      throw checkFailure({
        detail: `${fn} reported slot ${isoSeconds(slot)} ${result.status}, but s3://${bucket}/${missing.join(` and s3://${bucket}/`)} is missing`,
        fix: `see the function's log group /aws/lambda/${fn}; the objects must exist after a successful run`,
      });
    }
    return {
      status: "pass",
      detail: `slot ${isoSeconds(slot)} ${result.status}: ${rawKey(slot)} and ${expected} (${result.coins ?? "?"} coins)`,
    };
  }

  private async transform(slot: number, step: Step): Promise<Outcome> {
    const { transformFunctionName: fn, analyticsBucketName: bucket } = this.targets;
    const hour = partitionOf(slot);
    const hourIso = isoSeconds(partitionStart(hour));
    // The manual re-run event the transform handler accepts (manualHoursOf): exactly this hour.
    const summary = (await this.invoke(fn, { hours: [hourIso] }, step)) as Partial<TransformSummary>;
    const state = new S3ObjectStore(this.clients.s3, bucket);
    const manifest = await this.aws(
      step,
      { action: "s3:GetObject", resource: this.bucketArn(bucket, manifestKey(hour)) },
      "the hour's manifest",
      () => readManifest(state, hour, this.logger),
    );
    if (manifest === undefined || !manifest.snapshots.includes(slot)) {
      throw checkFailure({
        detail: `${fn} returned ${JSON.stringify(summary)}, but s3://${bucket}/${manifestKey(hour)} ${manifest === undefined ? "does not exist" : `does not list slot ${slot}`}`,
        fix: `see the function's log group /aws/lambda/${fn}`,
      });
    }
    const prefix = hourPrefix("analytics", hour);
    const files = await this.aws(step, { action: "s3:ListBucket", resource: this.bucketArn(bucket) }, `s3://${bucket}/${prefix}`, () =>
      state.list(prefix),
    );
    if (files.length === 0) {
      throw checkFailure({
        detail: `the manifest lists slot ${slot}, but s3://${bucket}/${prefix} holds no Parquet file`,
        fix: "the transform's INSERT must write under analytics/ with unpadded year=/month=/day=/hour= paths: deploy this version (`pulumi up`)",
      });
    }
    const written = summary?.hours?.find((h) => partitionStart(h.partition) === partitionStart(hour))?.rowsWritten ?? 0;
    return {
      status: "pass",
      detail: `hour ${hourIso}: manifest lists the slot (${manifest.snapshots.length} snapshots), ${files.length} file(s) under ${prefix}, ${written} row(s) written now`,
    };
  }

  /** One engine for every view: the stack's workgroup and database, this run's clock and per-query limit. */
  private viewEngine(): AthenaQueryEngine {
    const never = new AbortController().signal;
    return new AthenaQueryEngine(this.clients.athena, {
      workGroup: this.targets.athenaWorkGroup,
      database: this.targets.glueDatabase,
      timeoutMs: this.timeouts.viewMs,
      now: () => this.clock.now(),
      sleep: (ms) => this.clock.sleepUntil(this.clock.now() + ms, never),
      logger: this.logger,
    });
  }

  private async view(engine: AthenaQueryEngine, view: string, step: Step): Promise<Outcome> {
    const { athenaWorkGroup: workGroup } = this.targets;
    // The name was checked to be a plain lower_snake identifier when the outputs were read.
    const result = await this.aws(
      step,
      { action: "athena:StartQueryExecution", resource: this.arn("athena", `workgroup/${workGroup}`) },
      `view ${view}`,
      () => engine.execute(`SELECT * FROM "${view}" LIMIT ${VIEW_SAMPLE_ROWS}`),
    );
    if (result.rows.length === 0) {
      throw checkFailure({
        detail: `${view} returned no rows (query ${result.queryId})`,
        fix: "the views read analytics_prices through partition projection: check that the transform check passed and that analytics/ paths are year=/month=/day=/hour= unpadded, as the tables project them",
      });
    }
    return { status: "pass", detail: `${result.rows.length} row(s) (query ${result.queryId})` };
  }

  private async topic(step: Step): Promise<Outcome> {
    const topicArn = this.targets.alarmTopicArn;
    const out = await this.aws(step, { action: "sns:GetTopicAttributes", resource: topicArn }, "the alarm topic", () =>
      this.clients.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }), { abortSignal: step.signal }),
    );
    const confirmed = Number(out.Attributes?.SubscriptionsConfirmed ?? 0);
    const pending = Number(out.Attributes?.SubscriptionsPending ?? 0);
    if (pending > 0) {
      throw checkFailure({
        detail: `${topicArn}: ${pending} subscription(s) pending confirmation, ${confirmed} confirmed`,
        fix: "click the confirmation link AWS Notifications sent to each alertEmails address; alarms reach nobody until then",
      });
    }
    return {
      status: "pass",
      detail: `${topicArn}: ${confirmed} confirmed subscription(s)${confirmed === 0 ? " (alarms notify nobody: set alertEmails)" : ""}`,
    };
  }

  private async quicksight(): Promise<void> {
    const qs = this.targets.quicksight;
    if (qs === undefined) {
      this.skip(
        "quicksight",
        "the stack has no QuickSight dashboard (no quicksightDataSourceArn output; set quicksightPrincipalArns to deploy one): data source and SPICE checks skipped",
      );
      return;
    }
    await this.check("quicksight data source", this.timeouts.quicksightMs, "raise --quicksight-timeout", (step) =>
      this.dataSource(qs.region, qs.account, qs.dataSourceId, step),
    );
    if (qs.importMode !== "SPICE") {
      this.skip("spice", `the data sets use ${qs.importMode}: no SPICE ingestions to check`);
      return;
    }
    for (const view of Object.keys(qs.dataSetIds).sort()) {
      await this.check(`spice ${view}`, this.timeouts.quicksightMs, "raise --quicksight-timeout", (step) =>
        this.ingestion(qs.region, qs.account, qs.dataSetIds[view], step),
      );
    }
  }

  private async dataSource(region: string, account: string, id: string, step: Step): Promise<Outcome> {
    const call = { action: "quicksight:DescribeDataSource", resource: this.arn("quicksight", `datasource/${id}`, region) };
    for (;;) {
      const out = await this.aws(step, call, `data source ${id}`, () =>
        this.clients.quicksight.send(new DescribeDataSourceCommand({ AwsAccountId: account, DataSourceId: id }), {
          abortSignal: step.signal,
        }),
      );
      const status = out.DataSource?.Status ?? "UNKNOWN";
      if (status.endsWith("_SUCCESSFUL")) return { status: "pass", detail: `${id}: ${status}` };
      if (!status.endsWith("_IN_PROGRESS")) {
        const info = out.DataSource?.ErrorInfo;
        throw checkFailure({
          detail: `${id}: ${status}${info === undefined ? "" : ` (${info.Type}: ${info.Message})`}`,
          fix: "QuickSight could not connect through the data source's role and workgroup: fix the cause shown, then `pulumi up` updates the data source",
        });
      }
      step.current = `waiting for data source ${id} (${status})`;
      await this.clock.sleepUntil(this.clock.now() + QUICKSIGHT_POLL_MS, step.signal);
    }
  }

  private async ingestion(region: string, account: string, dataSetId: string, step: Step): Promise<Outcome> {
    const call = { action: "quicksight:ListIngestions", resource: this.arn("quicksight", `dataset/${dataSetId}`, region) };
    for (;;) {
      const latest = await this.latestIngestion(account, dataSetId, call, step);
      if (latest === undefined) {
        throw checkFailure({
          detail: `data set ${dataSetId} has no SPICE ingestion`,
          fix: "refresh the data set once (QuickSight console: Datasets, Refresh now) or wait for the hourly refresh",
        });
      }
      const status = latest.IngestionStatus ?? "UNKNOWN";
      const what = `ingestion ${latest.IngestionId} of ${latest.CreatedTime?.toISOString() ?? "unknown time"}`;
      if (status === "COMPLETED") return { status: "pass", detail: `${what} COMPLETED, ${latest.RowInfo?.RowsIngested ?? "?"} row(s)` };
      if (status === "FAILED" || status === "CANCELLED") {
        const info = latest.ErrorInfo;
        const denied = info?.Message === undefined ? undefined : accessDeniedFix(info.Message);
        throw checkFailure({
          detail: `${what} ${status}${info === undefined ? "" : `: ${info.Type}: ${info.Message}`}`,
          fix: `${denied === undefined ? "fix the cause shown" : denied}, then refresh the data set (QuickSight console: Datasets, Refresh now) or wait for the hourly refresh`,
        });
      }
      step.current = `waiting for SPICE ${what} (${status})`;
      await this.clock.sleepUntil(this.clock.now() + QUICKSIGHT_POLL_MS, step.signal);
    }
  }

  /**
   * The newest ingestion by CreatedTime, reading every page: the API documents no order
   * (https://docs.aws.amazon.com/quicksight/latest/APIReference/API_ListIngestions.html).
   */
  private async latestIngestion(
    account: string,
    dataSetId: string,
    call: Omit<FailedCall, "region">,
    step: Step,
  ): Promise<Ingestion | undefined> {
    let latest: Ingestion | undefined;
    let token: string | undefined;
    do {
      const out = await this.aws(step, call, `data set ${dataSetId}`, () =>
        this.clients.quicksight.send(
          new ListIngestionsCommand({ AwsAccountId: account, DataSetId: dataSetId, MaxResults: INGESTIONS_PAGE_SIZE, NextToken: token }),
          { abortSignal: step.signal },
        ),
      );
      for (const ingestion of out.Ingestions ?? []) {
        if (latest === undefined || (ingestion.CreatedTime?.getTime() ?? 0) > (latest.CreatedTime?.getTime() ?? 0)) latest = ingestion;
      }
      token = out.NextToken;
    } while (token !== undefined);
    return latest;
  }
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
