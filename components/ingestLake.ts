/**
 * IngestLake: every few minutes, CoinGecko's top coins land in the archive bucket, exactly as served
 * (`raw/`) and as typed rows (`processed/`). Owns the archive bucket, the CoinGecko key parameter, the
 * ingest function with its schedule, delivery DLQ, on-failure destination and log group.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  baseUrlProblem,
  COINGECKO_PLANS,
  CoinGeckoPlan,
  DEFAULT_BASE_URLS,
  DEFAULT_TOP_N,
  DEFAULT_VS_CURRENCY,
  MAX_PER_PAGE,
} from "../functions/coingeckoClient";
import { createIngestHandler, DEFAULT_MAX_SCHEDULED_EVENT_AGE_SECONDS, INGEST_ENV } from "../functions/ingestHandler";
import { DEFAULT_METRICS_NAMESPACE } from "../functions/metricsCatalog";
import { LAKE_PREFIXES } from "../functions/partitions";
import { checked, integerIn, matching, metricsNamespaceFormat, oneOf, pipelineNameFormat } from "./args";
import { HardenedBucket, PrefixLifecycleRule, TransitionStorageClass } from "./hardenedBucket";
import { allow, PolicyStatement } from "./iam";
import { JobDefaults, jobSettings, ScheduledFunction, scheduledFunctionSettings, ScheduledJobSettings } from "./scheduledFunction";

/** One snapshot every 5 minutes: the Demo plan's ~10k calls a month fit one page per slot. */
export const DEFAULT_INGEST_SCHEDULE = "rate(5 minutes)";
/** Room for two rate-limit waits of a minute, yet shorter than the schedule so runs never overlap. */
export const DEFAULT_INGEST_TIMEOUT_SECONDS = 180;
/** Memory of the ingest function in MB. */
export const DEFAULT_INGEST_MEMORY_MB = 256;
/**
 * Events older than this are dropped to the DLQ / failure queue rather than retried: a snapshot
 * fetched much later than its slot would carry the slot's timestamp with later prices.
 */
export const DEFAULT_INGEST_MAX_EVENT_AGE_SECONDS = DEFAULT_MAX_SCHEDULED_EVENT_AGE_SECONDS;
/** Storage class `raw/` moves to when `rawColdStorageAfterDays` is set (millisecond reads, cheaper storage). */
export const DEFAULT_RAW_COLD_STORAGE_CLASS: TransitionStorageClass = "GLACIER_IR";
/** Largest `topN`: four 250-coin pages (four credits) per snapshot. */
export const MAX_TOP_N = 1000;

/** The ingest job's defaults for what {@link IngestLakeArgs} leaves unset (its {@link ScheduledJobSettings}). */
export const INGEST_JOB_DEFAULTS: JobDefaults = {
  scheduleExpression: DEFAULT_INGEST_SCHEDULE,
  timeoutSeconds: DEFAULT_INGEST_TIMEOUT_SECONDS,
  memoryMb: DEFAULT_INGEST_MEMORY_MB,
  maxEventAgeSeconds: DEFAULT_INGEST_MAX_EVENT_AGE_SECONDS,
};

/** Arguments of {@link IngestLake}; the job settings default to {@link INGEST_JOB_DEFAULTS}. */
export interface IngestLakeArgs extends ScheduledJobSettings {
  /** CoinGecko plan. Defaults to `demo` when `coingeckoApiKey` is given, else `keyless`. */
  coingeckoPlan?: pulumi.Input<CoinGeckoPlan>;
  /**
   * CoinGecko API key (Pulumi secret). Required by `demo` and `pro`, refused by `keyless`. Stored as an
   * SSM SecureString the function reads at cold start; never in environment variables. None by default.
   */
  coingeckoApiKey?: pulumi.Input<string>;
  /** API base URL (https). Defaults to the plan's host (`DEFAULT_BASE_URLS` of functions/coingeckoClient). */
  coingeckoBaseUrl?: pulumi.Input<string>;
  /** Quote currency. Defaults to `DEFAULT_VS_CURRENCY` (usd). */
  vsCurrency?: pulumi.Input<string>;
  /** Coins per snapshot: 1–250 or a multiple of 250 up to {@link MAX_TOP_N}. Defaults to `DEFAULT_TOP_N` (250). */
  topN?: pulumi.Input<number>;
  /** KMS key for the archive bucket and the key parameter. Defaults to SSE-S3 and the `aws/ssm` key. */
  kmsKeyArn?: pulumi.Input<string>;
  /** Move `raw/` to {@link IngestLakeArgs.rawColdStorageClass} after this many days. Never by default. */
  rawColdStorageAfterDays?: pulumi.Input<number>;
  /** Storage class of that move. Defaults to {@link DEFAULT_RAW_COLD_STORAGE_CLASS}. */
  rawColdStorageClass?: TransitionStorageClass;
  /** Days noncurrent object versions are kept. Defaults to `DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS` (30). */
  noncurrentVersionExpirationDays?: pulumi.Input<number>;
  /** CloudWatch namespace of the ingest metrics. Defaults to `DEFAULT_METRICS_NAMESPACE`. */
  metricsNamespace?: pulumi.Input<string>;
  /**
   * The `Pipeline` metric dimension and log field. Defaults to `<component name>-<stack>`, so two
   * stacks in one account never mix their metrics.
   */
  pipelineName?: pulumi.Input<string>;
  /** Let `pulumi destroy` delete the archive with its objects. Defaults to false. */
  forceDestroy?: pulumi.Input<boolean>;
  /** Tags for every taggable resource. None by default. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The ingest half of the pipeline. Children: `${name}-archive` (HardenedBucket), `${name}-coingecko-key`
 * (only with a key), `${name}-ingest` (ScheduledFunction).
 */
export class IngestLake extends pulumi.ComponentResource {
  /** Archive bucket name (`raw/`, `processed/`). */
  public readonly bucketName: pulumi.Output<string>;
  /** Archive bucket ARN. */
  public readonly bucketArn: pulumi.Output<string>;
  /** Ingest function name. */
  public readonly functionName: pulumi.Output<string>;
  /** Ingest function ARN. */
  public readonly functionArn: pulumi.Output<string>;
  /** Ingest function's log group. */
  public readonly logGroupName: pulumi.Output<string>;
  /** Schedule delivery DLQ ARN. */
  public readonly dlqArn: pulumi.Output<string>;
  /** Schedule delivery DLQ name (alarm dimension). */
  public readonly dlqName: pulumi.Output<string>;
  /** Schedule delivery DLQ URL. */
  public readonly dlqUrl: pulumi.Output<string>;
  /** Async on-failure destination ARN. */
  public readonly failureQueueArn: pulumi.Output<string>;
  /** Async on-failure destination name (alarm dimension). */
  public readonly failureQueueName: pulumi.Output<string>;
  /** Async on-failure destination URL. */
  public readonly failureQueueUrl: pulumi.Output<string>;
  /** Name of the SSM SecureString holding the key; undefined for `keyless`. */
  public readonly keyParameterName: pulumi.Output<string> | undefined;
  /** The `Pipeline` metric dimension value. */
  public readonly pipelineName: pulumi.Output<string>;
  /** Namespace of the ingest metrics. */
  public readonly metricsNamespace: pulumi.Output<string>;

  constructor(name: string, args: IngestLakeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("crypto-analytics:pipeline:IngestLake", name, {}, opts);
    const what = `IngestLake "${name}"`;
    const hasKey = args.coingeckoApiKey !== undefined;
    const plan = checked(args.coingeckoPlan ?? (hasKey ? "demo" : "keyless"), (p) => checkPlanAndKey(what, p, hasKey));
    const baseUrl = checked(args.coingeckoBaseUrl ?? pulumi.output(plan).apply((p) => DEFAULT_BASE_URLS[p]), (url) => {
      const problem = baseUrlProblem(url, { loopbackHttp: false });
      if (problem !== undefined) throw new Error(`${what}: coingeckoBaseUrl ${problem}, got ${JSON.stringify(url)}.`);
    });
    const vsCurrency = checked(
      args.vsCurrency ?? DEFAULT_VS_CURRENCY,
      matching(`${what}: vsCurrency`, /^[a-z]{2,10}$/, 'a lower-case CoinGecko currency code such as "usd"'),
    );
    const topN = checked(args.topN ?? DEFAULT_TOP_N, (n) => checkTopN(what, n));
    const namespace = checked(args.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE, metricsNamespaceFormat(`${what}: metricsNamespace`));
    const pipelineName = checked(args.pipelineName ?? `${name}-${pulumi.getStack()}`, pipelineNameFormat(`${what}: pipelineName`));
    const apiKey = hasKey ? checked(args.coingeckoApiKey as pulumi.Input<string>, (key) => checkKey(what, key)) : undefined;
    const ingestName = `${name}-ingest`;
    const settings = scheduledFunctionSettings(ingestName, jobSettings(args, INGEST_JOB_DEFAULTS));
    const child = { parent: this };

    const rawRules: PrefixLifecycleRule[] =
      args.rawColdStorageAfterDays === undefined
        ? []
        : [
            {
              id: "raw-cold-storage",
              prefix: `${LAKE_PREFIXES.raw}/`,
              transition: {
                days: args.rawColdStorageAfterDays,
                storageClass: args.rawColdStorageClass ?? DEFAULT_RAW_COLD_STORAGE_CLASS,
              },
            },
          ];
    const archive = new HardenedBucket(
      `${name}-archive`,
      {
        kmsKeyArn: args.kmsKeyArn,
        noncurrentVersionExpirationDays: args.noncurrentVersionExpirationDays,
        prefixRules: rawRules,
        forceDestroy: args.forceDestroy,
        tags: args.tags,
      },
      child,
    );

    const keyParameter =
      apiKey === undefined
        ? undefined
        : new aws.ssm.Parameter(
            `${name}-coingecko-key`,
            {
              type: "SecureString",
              value: pulumi.secret(apiKey),
              keyId: args.kmsKeyArn,
              description: pulumi.interpolate`CoinGecko API key of pipeline ${pipelineName}`,
              tags: args.tags,
            },
            child,
          );

    const objects = (prefix: string): pulumi.Output<string> => pulumi.interpolate`${archive.arn}/${prefix}/*`;
    const statements: pulumi.Input<PolicyStatement>[] = [
      allow("WriteSnapshots", ["s3:PutObject"], [objects(LAKE_PREFIXES.raw), objects(LAKE_PREFIXES.processed)]),
      // Processed rows are always derived from the stored raw page, also when an earlier attempt wrote it.
      allow("ReadRawPages", ["s3:GetObject"], [objects(LAKE_PREFIXES.raw)]),
    ];
    if (keyParameter !== undefined) {
      statements.push(allow("ReadApiKey", ["ssm:GetParameter"], [keyParameter.arn]));
    }
    if (args.kmsKeyArn !== undefined) {
      const region = aws.getRegionOutput({}, child).region;
      statements.push(
        allow("UseArchiveKey", ["kms:GenerateDataKey", "kms:Decrypt"], [args.kmsKeyArn], {
          StringEquals: {
            "kms:ViaService": pulumi.interpolate`s3.${region}.amazonaws.com`,
            // With an S3 Bucket Key the encryption context is the bucket ARN.
            "kms:EncryptionContext:aws:s3:arn": archive.arn,
          },
        }),
      );
      if (keyParameter !== undefined) {
        statements.push(
          allow("DecryptApiKey", ["kms:Decrypt"], [args.kmsKeyArn], {
            StringEquals: {
              "kms:ViaService": pulumi.interpolate`ssm.${region}.amazonaws.com`,
              "kms:EncryptionContext:PARAMETER_ARN": keyParameter.arn,
            },
          }),
        );
      }
    }

    const environment: Record<string, pulumi.Input<string>> = {
      [INGEST_ENV.bucket]: archive.bucketName,
      [INGEST_ENV.plan]: plan,
      [INGEST_ENV.baseUrl]: baseUrl,
      [INGEST_ENV.vsCurrency]: vsCurrency,
      [INGEST_ENV.topN]: pulumi.output(topN).apply(String),
      [INGEST_ENV.pipeline]: pipelineName,
      [INGEST_ENV.namespace]: namespace,
      // The handler refuses events older than the age Lambda and the scheduler still deliver, so a
      // message redriven later cannot label current prices with a past slot.
      [INGEST_ENV.maxEventAgeSeconds]: pulumi.output(settings.maxEventAgeSeconds).apply(String),
      // The parameter's name, never its value: the function reads the key from SSM at cold start.
      ...(keyParameter === undefined ? {} : { [INGEST_ENV.keyParameter]: keyParameter.name }),
    };

    const ingest = new ScheduledFunction(
      ingestName,
      {
        ...settings,
        callbackFactory: createIngestHandler,
        description: pulumi.interpolate`CoinGecko snapshot into the archive of pipeline ${pipelineName}`,
        statements,
        environment,
        tags: args.tags,
      },
      child,
    );

    this.bucketName = archive.bucketName;
    this.bucketArn = archive.arn;
    this.functionName = ingest.functionName;
    this.functionArn = ingest.functionArn;
    this.logGroupName = ingest.logGroupName;
    this.dlqArn = ingest.dlqArn;
    this.dlqName = ingest.dlqName;
    this.dlqUrl = ingest.dlqUrl;
    this.failureQueueArn = ingest.failureQueueArn;
    this.failureQueueName = ingest.failureQueueName;
    this.failureQueueUrl = ingest.failureQueueUrl;
    this.keyParameterName = keyParameter?.name;
    this.pipelineName = pulumi.output(pipelineName);
    this.metricsNamespace = pulumi.output(namespace);
    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      functionName: this.functionName,
      functionArn: this.functionArn,
      dlqArn: this.dlqArn,
      failureQueueArn: this.failureQueueArn,
      keyParameterName: this.keyParameterName,
      pipelineName: this.pipelineName,
    });
  }
}

function checkPlanAndKey(what: string, plan: CoinGeckoPlan, hasKey: boolean): void {
  oneOf(`${what}: coingeckoPlan`, COINGECKO_PLANS)(plan);
  if (plan !== "keyless" && !hasKey) {
    throw new Error(
      `${what}: coingeckoPlan "${plan}" needs coingeckoApiKey. Set it as a secret ` +
        `(pulumi config set --secret coingeckoApiKey <key>) or use coingeckoPlan "keyless".`,
    );
  }
  if (plan === "keyless" && hasKey) {
    throw new Error(
      `${what}: coingeckoPlan "keyless" sends no key, but coingeckoApiKey is set. ` +
        `Remove the key, or set coingeckoPlan to "demo" (free key) or "pro" (paid key).`,
    );
  }
}

function checkTopN(what: string, topN: number): void {
  integerIn(`${what}: topN`, 1, MAX_TOP_N)(topN);
  if (topN > MAX_PER_PAGE && topN % MAX_PER_PAGE !== 0) {
    throw new Error(
      `${what}: topN above ${MAX_PER_PAGE} must be a multiple of ${MAX_PER_PAGE} (a page holds ${MAX_PER_PAGE} coins ` +
        `and costs one credit whatever its size), got ${topN}.`,
    );
  }
}

// The message never includes the key itself.
function checkKey(what: string, key: string): void {
  if (typeof key !== "string" || key.trim() === "" || /\s/.test(key)) {
    throw new Error(`${what}: coingeckoApiKey must be a non-empty string without spaces (value not shown).`);
  }
}
