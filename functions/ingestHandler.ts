/**
 * The ingest Lambda: a zero-argument factory that Pulumi's function serialization inlines into the
 * function's archive (components/functionCode.ts). The
 * factory runs once per container: it reads the environment and builds the S3 and SSM clients. The handler
 * reads the CoinGecko key from SSM (SecureString, decrypted) on its first invocation and keeps it for the
 * container's life; the key never travels through environment variables or closures captured at deploy time.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { COINGECKO_PLANS, CoinGeckoPlan, createCoinGeckoSource, DEFAULT_VS_CURRENCY } from "./coingeckoClient";
import { IngestResult, runIngest, RunIngestArgs, scheduledTimeOf } from "./ingest";
import { DEFAULT_METRICS_NAMESPACE } from "./metricsCatalog";
import { floorToSlot } from "./partitions";
import { S3ObjectStore } from "./s3ObjectStore";
import { createLogger, createMetrics, errorFields } from "./telemetry";

/** Environment variables the ingest function reads (the IngestLake component sets them). */
export const INGEST_ENV = {
  /** Archive bucket name. Required. */
  bucket: "ARCHIVE_BUCKET",
  /** `demo`, `pro` or `keyless`; defaults to `demo` when a key parameter is set, else `keyless`. */
  plan: "COINGECKO_PLAN",
  /** CoinGecko base URL override; defaults to the plan's host. */
  baseUrl: "COINGECKO_BASE_URL",
  /** Name of the SSM SecureString parameter holding the key; unset means keyless. */
  keyParameter: "COINGECKO_KEY_PARAMETER",
  /** Quote currency; defaults to `usd`. */
  vsCurrency: "VS_CURRENCY",
  /** Coins per snapshot; defaults to 250. */
  topN: "TOP_N",
  /** Pipeline name, the metrics' dimension and a field of every log line; defaults to {@link DEFAULT_PIPELINE_NAME}. */
  pipeline: "PIPELINE_NAME",
  /** CloudWatch namespace of the EMF metrics; defaults to {@link DEFAULT_METRICS_NAMESPACE}. */
  namespace: "METRICS_NAMESPACE",
  /**
   * Oldest scheduled event the function still serves, in seconds; defaults to
   * {@link DEFAULT_MAX_SCHEDULED_EVENT_AGE_SECONDS}. Set it to the function's maximum event age.
   */
  maxEventAgeSeconds: "MAX_EVENT_AGE_SECONDS",
} as const;

/**
 * Default of {@link INGEST_ENV.maxEventAgeSeconds}: 15 minutes, IngestLake's default maximum event age.
 * Lambda's async retries (after about 1 and 2 minutes, plus the failed runs) arrive well within it, so a
 * retry still completes its slot. Anything older is a stale event, e.g. a message redriven by hand from the
 * failure queue hours later.
 */
export const DEFAULT_MAX_SCHEDULED_EVENT_AGE_SECONDS = 900;

/** How far in the future a scheduled time may lie (clock skew between the scheduler and Lambda). */
export const MAX_SCHEDULE_SKEW_SECONDS = 60;

/** Pipeline name used when {@link INGEST_ENV.pipeline} is unset. */
export const DEFAULT_PIPELINE_NAME = "crypto-analytics";

/**
 * Time kept back from the invocation's remaining time when budgeting the CoinGecko fetch, for writing the
 * objects and logging after it; the function's timeout should exceed this plus one 429 wait (~60 s).
 */
export const FETCH_SAFETY_MARGIN_MS = 10_000;

/** Service name on every log line. */
const SERVICE = "ingest";

/** The part of the Lambda context the handler uses. */
export interface IngestContext {
  /** Milliseconds until Lambda stops the invocation. */
  getRemainingTimeInMillis(): number;
}

/** The ingest function's configuration, read from {@link INGEST_ENV}. */
export interface IngestSettings {
  /** Archive bucket name. */
  bucket: string;
  /** CoinGecko plan; undefined lets the client choose (`demo` with a key, else `keyless`). */
  plan?: CoinGeckoPlan;
  /** Base URL override; undefined means the plan's host. */
  baseUrl?: string;
  /** SSM parameter holding the key; undefined means keyless. */
  keyParameter?: string;
  /** Quote currency; undefined means the client's default (`usd`). */
  vsCurrency?: string;
  /** Coins per snapshot; undefined means the client's default (250). */
  topN?: number;
  /** Pipeline name for metrics and logs. */
  pipeline: string;
  /** CloudWatch namespace of the metrics. */
  namespace: string;
  /** Oldest scheduled event served, in seconds. */
  maxEventAgeSeconds: number;
}

/** Reads and checks the function's environment; throws naming the variable that is missing or wrong. */
export function readIngestSettings(env: Record<string, string | undefined>): IngestSettings {
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const bucket = value(INGEST_ENV.bucket);
  if (bucket === undefined) throw new Error(`${INGEST_ENV.bucket} is not set: the ingest function needs the archive bucket name`);
  const plan = value(INGEST_ENV.plan);
  if (plan !== undefined && !COINGECKO_PLANS.includes(plan as CoinGeckoPlan)) {
    throw new Error(`${INGEST_ENV.plan} must be one of ${COINGECKO_PLANS.join(", ")}; got "${plan}"`);
  }
  const topNText = value(INGEST_ENV.topN);
  const topN = topNText === undefined ? undefined : Number(topNText);
  if (topN !== undefined && !Number.isInteger(topN)) throw new Error(`${INGEST_ENV.topN} must be an integer; got "${topNText}"`);
  const maxAgeText = value(INGEST_ENV.maxEventAgeSeconds);
  const maxEventAgeSeconds = maxAgeText === undefined ? DEFAULT_MAX_SCHEDULED_EVENT_AGE_SECONDS : Number(maxAgeText);
  if (!Number.isInteger(maxEventAgeSeconds) || maxEventAgeSeconds <= 0) {
    throw new Error(`${INGEST_ENV.maxEventAgeSeconds} must be a positive integer number of seconds; got "${maxAgeText}"`);
  }
  return {
    bucket,
    plan: plan as CoinGeckoPlan | undefined,
    baseUrl: value(INGEST_ENV.baseUrl),
    keyParameter: value(INGEST_ENV.keyParameter),
    vsCurrency: value(INGEST_ENV.vsCurrency),
    topN,
    pipeline: value(INGEST_ENV.pipeline) ?? DEFAULT_PIPELINE_NAME,
    namespace: value(INGEST_ENV.namespace) ?? DEFAULT_METRICS_NAMESPACE,
    maxEventAgeSeconds,
  };
}

/**
 * Refuses a scheduled time the function must not fetch for: older than `maxAgeSeconds` before `nowMs`
 * (CoinGecko serves only current prices, so a snapshot fetched now would carry later prices under an old
 * slot) or more than {@link MAX_SCHEDULE_SKEW_SECONDS} ahead of it. The error names the slot and says that
 * nothing was fetched or written.
 */
export function checkScheduledTime(scheduledTime: Date, nowMs: number, maxAgeSeconds: number): void {
  const ageSeconds = Math.floor((nowMs - scheduledTime.getTime()) / 1000);
  const slot = new Date(floorToSlot(Math.floor(scheduledTime.getTime() / 1000)) * 1000).toISOString();
  if (ageSeconds > maxAgeSeconds) {
    throw new Error(
      `event for slot ${slot} is ${Math.floor(ageSeconds / 60)} min old (limit ${maxAgeSeconds / 60} min); CoinGecko serves only current prices, ` +
        `so nothing was fetched or written and this slot stays empty: do not redrive it (see docs/reliability.md)`,
    );
  }
  if (-ageSeconds > MAX_SCHEDULE_SKEW_SECONDS) {
    throw new Error(
      `event for slot ${slot} is scheduled ${-ageSeconds} s in the future (more than the ${MAX_SCHEDULE_SKEW_SECONDS} s clock skew allowed); nothing was fetched or written`,
    );
  }
}

/**
 * Builds the ingest handler (once per container). The handler takes the scheduled event (Scheduler input
 * `{"scheduledTime":"<aws.scheduler.scheduled-time>"}` or an EventBridge rule event), refuses it when it is
 * stale or in the future ({@link checkScheduledTime}, before reading the key or sending any request), fetches
 * within the invocation's remaining time minus {@link FETCH_SAFETY_MARGIN_MS}, writes through
 * {@link runIngest} and returns its result; failures throw so Lambda's retries and the failure destination
 * take over.
 *
 * A run that died after storing the raw page but before the processed object (timeout, crash) is finished by
 * Lambda's retry, which arrives within the event age limit: runIngest finds the page taken (412), reads the
 * stored bytes back and writes the processed rows from them, so the slot keeps the prices first fetched. The
 * retry still needs CoinGecko to answer, because every run validates a fresh fetch before its first write;
 * if all retries fail the slot stays in raw/ only.
 */
export function createIngestHandler(): (event: unknown, context: IngestContext) => Promise<IngestResult> {
  const settings = readIngestSettings(process.env);
  const store = new S3ObjectStore(new S3Client({}), settings.bucket);
  const ssm = new SSMClient({});
  const metrics = createMetrics(settings.pipeline, { namespace: settings.namespace });
  let apiKey: Promise<string | undefined> | undefined;

  const loadKey = (): Promise<string | undefined> => {
    const name = settings.keyParameter;
    if (name === undefined) return Promise.resolve(undefined);
    if (apiKey === undefined) {
      apiKey = ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })).then(
        (out) => {
          const key = out.Parameter?.Value;
          if (key === undefined || key.trim() === "") throw new Error(`SSM parameter ${name} holds no CoinGecko key`);
          return key;
        },
        (err: unknown) => {
          throw new Error(`could not read the CoinGecko key from SSM parameter ${name}: ${errorFields(err).errorMessage}`);
        },
      );
      // A failed read is not kept: the next invocation asks SSM again.
      apiKey.catch(() => {
        apiKey = undefined;
      });
    }
    return apiKey;
  };

  return async (event, context) => {
    const startedMs = Date.now();
    let logger = createLogger(SERVICE, { base: { pipeline: settings.pipeline } });
    let run: RunIngestArgs;
    try {
      const scheduledTime = scheduledTimeOf(event, startedMs);
      checkScheduledTime(scheduledTime, startedMs, settings.maxEventAgeSeconds);
      const key = await loadKey();
      logger = createLogger(SERVICE, { secrets: key === undefined ? [] : [key], base: { pipeline: settings.pipeline } });
      const source = createCoinGeckoSource({
        plan: settings.plan,
        apiKey: key,
        baseUrl: settings.baseUrl,
        vsCurrency: settings.vsCurrency,
        topN: settings.topN,
        budgetMs: Math.max(0, context.getRemainingTimeInMillis() - FETCH_SAFETY_MARGIN_MS),
        onRetry: (notice) => logger.warn("retrying CoinGecko", { ...notice }),
      });
      const vsCurrency = settings.vsCurrency ?? DEFAULT_VS_CURRENCY;
      run = { store, source, scheduledTime, vsCurrency, logger, metrics };
    } catch (err) {
      // runIngest logs its own failures; these happen before it starts.
      logger.error("ingest not started", errorFields(err));
      metrics.emit({ snapshotsWritten: 0 });
      throw err;
    }
    return runIngest(run);
  };
}
