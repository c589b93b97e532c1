/**
 * The hourly transform Lambda: wires S3, Athena and the SSM-held INSERT template into the
 * engine-agnostic transform core (transform.ts). Exported as a zero-argument factory that Pulumi's
 * function serialization inlines into the archive (components/functionCode.ts), so clients are built and the template read once per container.
 * Besides the schedule's catch-up it takes a manual re-run event naming hours (see {@link manualHoursOf}).
 */
import { AthenaClient } from "@aws-sdk/client-athena";
import { S3Client } from "@aws-sdk/client-s3";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { AthenaQueryEngine } from "./athenaQueryEngine";
import { S3ObjectStore } from "./s3ObjectStore";
import { HourPartition, parseHour, partitionPath, partitionStart } from "./partitions";
import { checkHourPartition, HOUR_PLACEHOLDERS, placeholdersIn, renderTemplate } from "./sqlTemplate";
import { createLogger, createMetrics } from "./telemetry";
import { runTransform, TransformSummary } from "./transform";

/** Names of the environment variables the transform function reads (the component sets them). */
export const TRANSFORM_ENV = {
  /** Bucket holding `processed/` snapshots (the IngestLake archive). Required. */
  archiveBucket: "ARCHIVE_BUCKET",
  /** Bucket holding `analytics/` and the transform manifests. Required. */
  analyticsBucket: "ANALYTICS_BUCKET",
  /** Athena workgroup the INSERT runs in. Required. */
  workGroup: "ATHENA_WORKGROUP",
  /** Glue database of the lake tables. Required. */
  database: "GLUE_DATABASE",
  /** Name of the SSM parameter holding the rendered INSERT template. Required. */
  templateParameter: "INSERT_TEMPLATE_PARAMETER",
  /** Hours back to look for unmaterialised snapshots; a positive integer. Optional: the transform core's default. */
  lookbackHours: "LOOKBACK_HOURS",
  /** Pipeline name: the metrics dimension and a field of every log line. Required. */
  pipeline: "PIPELINE_NAME",
  /** CloudWatch namespace of the EMF metrics. Optional: DEFAULT_METRICS_NAMESPACE. */
  namespace: "METRICS_NAMESPACE",
} as const;

/**
 * Time kept back from the invocation's remaining time when bounding Athena waits: enough to stop a
 * still-running query, log and emit metrics before Lambda kills the function.
 */
export const TRANSFORM_DEADLINE_MARGIN_MS = 15_000;

/**
 * Most distinct hours one manual re-run event may name: two days. Hours run one Athena INSERT after
 * another, and at the default 600 s timeout this leaves about 12 s per hour; name a longer gap in several
 * events. Hours the invocation has no time left for fail and its error names them; sending the same event
 * again skips the hours it finished (their manifests list every snapshot).
 */
export const MAX_MANUAL_HOURS = 48;

/**
 * The hours a manual re-run event names, e.g. `{"hours": ["2026-11-20T07:00Z", "2026-11-20T08"]}`, oldest
 * first; undefined for any event without an `hours` field (the Scheduler's `{"scheduledTime": ...}`, `{}`),
 * which runs the lookback catch-up. `hours` must be a non-empty array of strings, each an ISO-8601 time
 * ({@link parseHour}; UTC unless it has an offset) in an hour that has started by `nowMs` (the current,
 * still-filling hour is allowed) and lies in the tables' year range; times in the same hour collapse into
 * one, and at most {@link MAX_MANUAL_HOURS} distinct hours are accepted. Throws an Error naming the first
 * problem otherwise.
 */
export function manualHoursOf(event: unknown, nowMs: number): HourPartition[] | undefined {
  if (typeof event !== "object" || event === null || !Object.prototype.hasOwnProperty.call(event, "hours")) return undefined;
  const hours = (event as { hours: unknown }).hours;
  if (!Array.isArray(hours) || hours.length === 0) {
    const got = Array.isArray(hours) ? "an empty array" : hours === null ? "null" : typeof hours;
    throw new Error(`manual transform event: hours must be a non-empty array of ISO-8601 times such as "2024-09-03T07", got ${got}`);
  }
  const byStart = new Map<number, HourPartition>();
  for (const [index, value] of hours.entries()) {
    const what = `manual transform event: hours[${index}]`;
    if (typeof value !== "string")
      throw new Error(`${what} must be an ISO-8601 time string such as "2024-09-03T07", got ${value === null ? "null" : typeof value}`);
    const partition = parseHour(value, what);
    try {
      checkHourPartition(partition);
    } catch (err) {
      throw new Error(`${what} ${JSON.stringify(value)} is out of range: ${(err as Error).message}`, { cause: err });
    }
    const start = partitionStart(partition);
    if (start * 1000 > nowMs) throw new Error(`${what} ${JSON.stringify(value)} is in the future (now ${new Date(nowMs).toISOString()})`);
    byStart.set(start, partition);
  }
  if (byStart.size > MAX_MANUAL_HOURS) {
    throw new Error(
      `manual transform event: at most ${MAX_MANUAL_HOURS} distinct hours per invocation, got ${byStart.size}; split them over several events`,
    );
  }
  return [...byStart.keys()].sort((a, b) => a - b).map((start) => byStart.get(start) as HourPartition);
}

/** What the handler needs from the Lambda context. */
export interface TransformContext {
  /** Milliseconds before Lambda ends this invocation. */
  getRemainingTimeInMillis(): number;
}

/** The transform settings read from {@link TRANSFORM_ENV}. */
export interface TransformSettings {
  archiveBucket: string;
  analyticsBucket: string;
  workGroup: string;
  database: string;
  templateParameter: string;
  /** Undefined when LOOKBACK_HOURS is unset. */
  lookbackHours?: number;
  pipeline: string;
  /** Undefined when METRICS_NAMESPACE is unset. */
  namespace?: string;
}

/** Reads and checks the settings; throws one error naming every missing or malformed variable. */
export function readTransformSettings(env: NodeJS.ProcessEnv): TransformSettings {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value.trim() === "") problems.push(`${name} is not set`);
    return value ?? "";
  };
  const settings: TransformSettings = {
    archiveBucket: required(TRANSFORM_ENV.archiveBucket),
    analyticsBucket: required(TRANSFORM_ENV.analyticsBucket),
    workGroup: required(TRANSFORM_ENV.workGroup),
    database: required(TRANSFORM_ENV.database),
    templateParameter: required(TRANSFORM_ENV.templateParameter),
    pipeline: required(TRANSFORM_ENV.pipeline),
  };
  const lookback = env[TRANSFORM_ENV.lookbackHours];
  if (lookback !== undefined && lookback !== "") {
    if (!/^[1-9]\d*$/.test(lookback)) problems.push(`${TRANSFORM_ENV.lookbackHours} must be a positive integer, got "${lookback}"`);
    settings.lookbackHours = Number(lookback);
  }
  const namespace = env[TRANSFORM_ENV.namespace];
  if (namespace !== undefined && namespace !== "") settings.namespace = namespace;
  if (problems.length > 0) throw new Error(`transform function misconfigured: ${problems.join("; ")}`);
  return settings;
}

/**
 * Builds the transform handler. Runs once per container: reads the settings (throwing at cold start if
 * any is missing), creates the SDK clients (region and credentials from the Lambda environment) and
 * prepares a cached read of the INSERT template from SSM. An invocation with a manual re-run event
 * ({@link manualHoursOf}; checked before any AWS call) materialises exactly those hours, inside the lookback
 * or not; any other event materialises every hour inside the lookback window whose processed snapshots are
 * not all in the manifests yet. Either way an hour whose manifest lists every snapshot is skipped (deleting
 * its manifest object makes the next run read the whole hour again; the SQL's dedup keeps the rows the
 * hour already holds from being written twice), and every Athena wait is bounded by the invocation's
 * remaining time minus {@link TRANSFORM_DEADLINE_MARGIN_MS}.
 */
export function createTransformHandler(): (event: unknown, context: TransformContext) => Promise<TransformSummary> {
  const settings = readTransformSettings(process.env);
  const athena = new AthenaClient({});
  const s3 = new S3Client({});
  const ssm = new SSMClient({});
  const logger = createLogger("transform", { base: { pipeline: settings.pipeline } });
  const metrics = createMetrics(settings.pipeline, { namespace: settings.namespace });
  const processed = new S3ObjectStore(s3, settings.archiveBucket);
  const state = new S3ObjectStore(s3, settings.analyticsBucket);

  let template: Promise<string> | undefined;
  const loadTemplate = (): Promise<string> => {
    template ??= ssm.send(new GetParameterCommand({ Name: settings.templateParameter })).then((out) => {
      const value = out.Parameter?.Value ?? "";
      // Checked once here so a wrong parameter (empty, a SecureString read without decryption, another
      // file) fails the invocation with its name instead of reaching Athena as garbage SQL.
      const found = new Set(placeholdersIn(value));
      const missing = HOUR_PLACEHOLDERS.filter((name) => !found.has(name));
      if (missing.length > 0) {
        throw new Error(
          `SSM parameter ${settings.templateParameter} holds no INSERT template: ` +
            `missing ${missing.map((name) => "${" + name + "}").join(", ")}`,
        );
      }
      return value;
    });
    // A failed read is not cached: the next invocation in this container tries again.
    template.catch(() => (template = undefined));
    return template;
  };

  return async (event: unknown, context: TransformContext): Promise<TransformSummary> => {
    const hours = manualHoursOf(event, Date.now());
    if (hours !== undefined) logger.info("manual re-run", { hours: hours.map(partitionPath) });
    const insertTemplate = await loadTemplate();
    const engine = new AthenaQueryEngine(athena, {
      workGroup: settings.workGroup,
      database: settings.database,
      deadlineMs: Date.now() + context.getRemainingTimeInMillis() - TRANSFORM_DEADLINE_MARGIN_MS,
      logger,
    });
    return runTransform(
      {
        processed,
        state,
        engine,
        renderInsert: (p) => renderTemplate(insertTemplate, p),
        logger,
        metrics,
        nowMs: Date.now,
        lookbackHours: settings.lookbackHours,
      },
      { hours },
    );
  };
}
