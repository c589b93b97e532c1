/**
 * The ingest Lambda: a zero-argument factory for Pulumi's `CallbackFunction({ callbackFactory })`. The
 * factory runs once per container: it reads the environment and builds the S3 and SSM clients. The handler
 * reads the CoinGecko key from SSM (SecureString, decrypted) on its first invocation and keeps it for the
 * container's life; the key never travels through environment variables or closures captured at deploy time.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { COINGECKO_PLANS, CoinGeckoPlan, createCoinGeckoSource, DEFAULT_VS_CURRENCY } from "./coingeckoClient";
import { IngestResult, runIngest, RunIngestArgs, scheduledTimeOf } from "./ingest";
import { DEFAULT_METRICS_NAMESPACE } from "./metricsCatalog";
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
} as const;

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
  return {
    bucket,
    plan: plan as CoinGeckoPlan | undefined,
    baseUrl: value(INGEST_ENV.baseUrl),
    keyParameter: value(INGEST_ENV.keyParameter),
    vsCurrency: value(INGEST_ENV.vsCurrency),
    topN,
    pipeline: value(INGEST_ENV.pipeline) ?? DEFAULT_PIPELINE_NAME,
    namespace: value(INGEST_ENV.namespace) ?? DEFAULT_METRICS_NAMESPACE,
  };
}

/**
 * Builds the ingest handler (once per container). The handler takes the scheduled event (Scheduler input
 * `{"scheduledTime":"<aws.scheduler.scheduled-time>"}` or an EventBridge rule event), fetches within the
 * invocation's remaining time minus {@link FETCH_SAFETY_MARGIN_MS}, writes through {@link runIngest} and
 * returns its result; failures throw so Lambda's retries and the failure destination take over.
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
      run = { store, source, scheduledTime: scheduledTimeOf(event, startedMs), vsCurrency, logger, metrics };
    } catch (err) {
      // runIngest logs its own failures; these happen before it starts.
      logger.error("ingest not started", errorFields(err));
      metrics.emit({ snapshotsWritten: 0 });
      throw err;
    }
    return runIngest(run);
  };
}
