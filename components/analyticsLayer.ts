/**
 * AnalyticsLayer: turns the archive's processed snapshots into typed, deduplicated hourly Parquet behind a
 * Glue catalog Athena queries cheaply, and publishes the curated `v_*` views. Owns the analytics bucket,
 * the query-results bucket, the Glue database with its three tables, the Athena workgroup, the INSERT
 * template in SSM, the hourly transform function (schedule, DLQ, on-failure destination, log group) and
 * the views.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_METRICS_NAMESPACE } from "../functions/metricsCatalog";
import { LAKE_PREFIXES } from "../functions/partitions";
import { LAKE_DATABASE, LAKE_TABLES } from "../functions/schema";
import { athenaInsertTemplate } from "../functions/sqlFiles";
import { MAX_PARTITION_YEAR, MIN_PARTITION_YEAR } from "../functions/sqlTemplate";
import { DEFAULT_LOOKBACK_HOURS } from "../functions/transform";
import { createTransformHandler, TRANSFORM_DEADLINE_MARGIN_MS, TRANSFORM_ENV } from "../functions/transformHandler";
import { checked, integerIn, matching, metricsNamespaceFormat, pipelineNameFormat, plainValue } from "./args";
import {
  athenaDefaultDatabaseStatement,
  DEFAULT_LAKE_FORMATION_PERMISSIONS,
  GlueCatalogLocation,
  glueCatalogArn,
  grantLakeFormationAccess,
  lakeFormationDataAccessStatement,
} from "./athenaAccess";
import { createAthenaViews } from "./athenaViews";
import { enforcedWorkgroup } from "./athenaWorkgroup";
import { createLakeTables, DEFAULT_PROJECTION_YEAR_FROM, DEFAULT_PROJECTION_YEAR_TO } from "./glueTables";
import { HardenedBucket } from "./hardenedBucket";
import { allow, PolicyStatement } from "./iam";
import { JobDefaults, jobSettings, ScheduledFunction, scheduledFunctionSettings, ScheduledJobSettings } from "./scheduledFunction";

// Re-exported: the library offers the engine constant beside the pipeline's other Athena settings.
export { ATHENA_ENGINE_VERSION } from "./athenaWorkgroup";

/** Glue database of the lake tables and views. */
export const DEFAULT_DATABASE_NAME = LAKE_DATABASE;
/** Hourly at :05 (UTC by default): the last snapshot of the previous hour (:55) has landed by then. */
export const DEFAULT_TRANSFORM_SCHEDULE = "cron(5 * * * ? *)";
/**
 * Ten minutes: room to catch up several hours of INSERTs after an outage. The handler stops waiting for
 * Athena `TRANSFORM_DEADLINE_MARGIN_MS` (15 s) before the function's end.
 */
export const DEFAULT_TRANSFORM_TIMEOUT_SECONDS = 600;
/** Shortest transform timeout: the 15 s deadline margin plus room for one Athena INSERT. */
export const MIN_TRANSFORM_TIMEOUT_SECONDS = 60;
/** Memory of the transform function in MB (it only waits on Athena and S3). */
export const DEFAULT_TRANSFORM_MEMORY_MB = 256;
/** Longest lookback: a week of hours, each costing one LIST and one GET per scheduled run. */
export const MAX_LOOKBACK_HOURS = 168;
/** Bytes one query may scan before Athena cancels it: 1 GiB (also caps dashboard queries on the workgroup). */
export const DEFAULT_BYTES_SCANNED_CUTOFF = 1024 ** 3;
/** Athena's smallest accepted per-query cutoff: 10 MB. */
export const MIN_BYTES_SCANNED_CUTOFF = 10 * 1024 ** 2;
/** Days query results are kept before they expire. */
export const DEFAULT_QUERY_RESULTS_EXPIRATION_DAYS = 7;
/** Key prefix (in the results bucket) Athena writes query results under. */
export const QUERY_RESULTS_PREFIX = "query-results";
/** Largest value of a Standard-tier SSM parameter, in bytes; a longer template needs the Advanced tier. */
export const SSM_STANDARD_TIER_MAX_BYTES = 4096;

/**
 * The transform job's defaults for what {@link AnalyticsLayerArgs} leaves unset (its {@link ScheduledJobSettings});
 * its `timeoutSeconds` may not be below {@link MIN_TRANSFORM_TIMEOUT_SECONDS}.
 */
export const TRANSFORM_JOB_DEFAULTS: JobDefaults = {
  scheduleExpression: DEFAULT_TRANSFORM_SCHEDULE,
  timeoutSeconds: DEFAULT_TRANSFORM_TIMEOUT_SECONDS,
  memoryMb: DEFAULT_TRANSFORM_MEMORY_MB,
};

/** Arguments of {@link AnalyticsLayer}; the job settings default to {@link TRANSFORM_JOB_DEFAULTS}. */
export interface AnalyticsLayerArgs extends ScheduledJobSettings {
  /** Name of the bucket holding `processed/` (IngestLake's `bucketName`). Required. */
  archiveBucketName: pulumi.Input<string>;
  /** ARN of that bucket (IngestLake's `bucketArn`). Required. */
  archiveBucketArn: pulumi.Input<string>;
  /**
   * Glue database, lower_snake. Defaults to {@link DEFAULT_DATABASE_NAME}; a second stack in the same
   * account and region must choose another.
   */
  databaseName?: pulumi.Input<string>;
  /** First year the tables project. Defaults to {@link DEFAULT_PROJECTION_YEAR_FROM}. */
  projectionYearFrom?: pulumi.Input<number>;
  /** Last year the tables project. Defaults to {@link DEFAULT_PROJECTION_YEAR_TO}. */
  projectionYearTo?: pulumi.Input<number>;
  /** Hours back the transform looks for unmaterialised snapshots (1–{@link MAX_LOOKBACK_HOURS}). Defaults to `DEFAULT_LOOKBACK_HOURS` (24). */
  lookbackHours?: pulumi.Input<number>;
  /** Per-query scan limit of the workgroup in bytes. Defaults to {@link DEFAULT_BYTES_SCANNED_CUTOFF}. */
  bytesScannedCutoffPerQuery?: pulumi.Input<number>;
  /** Days query results are kept. Defaults to {@link DEFAULT_QUERY_RESULTS_EXPIRATION_DAYS}. */
  queryResultsExpirationDays?: pulumi.Input<number>;
  /**
   * KMS key of the analytics and results buckets and of Athena's results; pass IngestLake's key, since the
   * transform reads the archive with it too. Defaults to SSE-S3 everywhere.
   */
  kmsKeyArn?: pulumi.Input<string>;
  /** CloudWatch namespace of the transform metrics. Defaults to `DEFAULT_METRICS_NAMESPACE`. */
  metricsNamespace?: pulumi.Input<string>;
  /** The `Pipeline` metric dimension and log field. Defaults to `<component name>-<stack>`; pass IngestLake's. */
  pipelineName?: pulumi.Input<string>;
  /** Let `pulumi destroy` delete both buckets with their objects and the workgroup with named queries. Defaults to false. */
  forceDestroy?: pulumi.Input<boolean>;
  /**
   * Grant the transform role Lake Formation access (`DESCRIBE` on the database; `SELECT` on
   * processed_prices_raw; `SELECT`, `INSERT`, `ALTER` and `DESCRIBE` on analytics_prices) and
   * `lakeformation:GetDataAccess`. Turn it on in accounts where Lake Formation governs the Data Catalog
   * (the `IAMAllowedPrincipals` default grants removed), where Athena refuses queries IAM alone allows;
   * the deploying identity must then be a data lake administrator. A plain boolean: it decides which
   * resources exist. Defaults to `DEFAULT_LAKE_FORMATION_PERMISSIONS` (false).
   */
  lakeFormationPermissions?: boolean;
  /** Tags for every taggable resource. None by default. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The analytics half of the pipeline. Children: `${name}-analytics` and `${name}-query-results`
 * (HardenedBucket), `${name}-database`, the tables `${name}-processed-prices-raw`, `-processed-prices`,
 * `-analytics-prices`, `${name}-workgroup`, `${name}-insert-template`, `${name}-transform`
 * (ScheduledFunction), one `${name}-v-...` table per view and, with `lakeFormationPermissions`, the
 * transform role's Lake Formation grants `${name}-transform-role-lf-*`.
 */
export class AnalyticsLayer extends pulumi.ComponentResource {
  /** Analytics bucket name (`analytics/`, `manifests/transform/`). */
  public readonly analyticsBucketName: pulumi.Output<string>;
  /** Analytics bucket ARN. */
  public readonly analyticsBucketArn: pulumi.Output<string>;
  /** Query-results bucket name. */
  public readonly resultsBucketName: pulumi.Output<string>;
  /** Query-results bucket ARN. */
  public readonly resultsBucketArn: pulumi.Output<string>;
  /** `s3://<results bucket>/query-results/`: the workgroup's enforced result location. */
  public readonly queryResultsLocation: pulumi.Output<string>;
  /** Glue database name. */
  public readonly databaseName: pulumi.Output<string>;
  /** Athena workgroup name. */
  public readonly workGroupName: pulumi.Output<string>;
  /** Athena workgroup ARN. */
  public readonly workGroupArn: pulumi.Output<string>;
  /** Name of `processed_prices_raw`. */
  public readonly processedRawTableName: pulumi.Output<string>;
  /** Name of `processed_prices`. */
  public readonly processedTableName: pulumi.Output<string>;
  /** Name of `analytics_prices`. */
  public readonly analyticsTableName: pulumi.Output<string>;
  /** Names of the views, in dependency order. */
  public readonly viewNames: pulumi.Output<string[]>;
  /** Name of the SSM parameter holding the INSERT template. */
  public readonly templateParameterName: pulumi.Output<string>;
  /** Transform function name. */
  public readonly transformFunctionName: pulumi.Output<string>;
  /** Transform function ARN. */
  public readonly transformFunctionArn: pulumi.Output<string>;
  /** Transform function's log group. */
  public readonly transformLogGroupName: pulumi.Output<string>;
  /** Schedule delivery DLQ ARN. */
  public readonly dlqArn: pulumi.Output<string>;
  /** Schedule delivery DLQ name (alarm dimension). */
  public readonly dlqName: pulumi.Output<string>;
  /** Async on-failure destination ARN. */
  public readonly failureQueueArn: pulumi.Output<string>;
  /** Async on-failure destination name (alarm dimension). */
  public readonly failureQueueName: pulumi.Output<string>;
  /** The `Pipeline` metric dimension value. */
  public readonly pipelineName: pulumi.Output<string>;
  /** Namespace of the transform metrics. */
  public readonly metricsNamespace: pulumi.Output<string>;

  constructor(name: string, args: AnalyticsLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("crypto-analytics:pipeline:AnalyticsLayer", name, {}, opts);
    const what = `AnalyticsLayer "${name}"`;
    const databaseName = checked(
      args.databaseName ?? DEFAULT_DATABASE_NAME,
      matching(`${what}: databaseName`, /^[a-z][a-z0-9_]{0,254}$/, "lower_snake (a-z, 0-9, _; starting with a letter; at most 255)"),
    );
    const years = projectionYears(
      what,
      args.projectionYearFrom ?? DEFAULT_PROJECTION_YEAR_FROM,
      args.projectionYearTo ?? DEFAULT_PROJECTION_YEAR_TO,
    );
    const lookbackHours = checked(args.lookbackHours ?? DEFAULT_LOOKBACK_HOURS, integerIn(`${what}: lookbackHours`, 1, MAX_LOOKBACK_HOURS));
    const bytesScannedCutoff = checked(
      args.bytesScannedCutoffPerQuery ?? DEFAULT_BYTES_SCANNED_CUTOFF,
      integerIn(`${what}: bytesScannedCutoffPerQuery`, MIN_BYTES_SCANNED_CUTOFF, Number.MAX_SAFE_INTEGER),
    );
    const resultsExpirationDays = checked(
      args.queryResultsExpirationDays ?? DEFAULT_QUERY_RESULTS_EXPIRATION_DAYS,
      integerIn(`${what}: queryResultsExpirationDays`, 1, 36500),
    );
    const job = jobSettings(args, TRANSFORM_JOB_DEFAULTS);
    const timeoutSeconds = checked(
      job.timeoutSeconds as pulumi.Input<number>,
      integerIn(
        `${what}: timeoutSeconds (the handler keeps ${TRANSFORM_DEADLINE_MARGIN_MS / 1000} s back)`,
        MIN_TRANSFORM_TIMEOUT_SECONDS,
        900,
      ),
    );
    const namespace = checked(args.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE, metricsNamespaceFormat(`${what}: metricsNamespace`));
    const pipelineName = checked(args.pipelineName ?? `${name}-${pulumi.getStack()}`, pipelineNameFormat(`${what}: pipelineName`));
    const transformName = `${name}-transform`;
    const settings = scheduledFunctionSettings(transformName, { ...job, timeoutSeconds });
    const insertTemplate = athenaInsertTemplate();
    const child = { parent: this };
    const tags = args.tags;
    const forceDestroy = args.forceDestroy ?? false;

    const analytics = new HardenedBucket(`${name}-analytics`, { kmsKeyArn: args.kmsKeyArn, forceDestroy, tags }, child);
    // A bucket of its own: results expire wholesale, noncurrent copies go after a day, and readers of
    // results (QuickSight, analysts) get no access to the analytics data through it.
    const results = new HardenedBucket(
      `${name}-query-results`,
      {
        kmsKeyArn: args.kmsKeyArn,
        noncurrentVersionExpirationDays: 1,
        abortIncompleteUploadDays: 1,
        prefixRules: [{ id: "expire-query-results", prefix: `${QUERY_RESULTS_PREFIX}/`, expirationDays: resultsExpirationDays }],
        forceDestroy,
        tags,
      },
      child,
    );
    const queryResultsLocation = pulumi.interpolate`s3://${results.bucketName}/${QUERY_RESULTS_PREFIX}/`;

    const database = new aws.glue.CatalogDatabase(
      `${name}-database`,
      { name: databaseName, description: pulumi.interpolate`CoinGecko analytics lake of pipeline ${pipelineName}`, tags },
      child,
    );
    const tables = createLakeTables(
      name,
      {
        databaseName: database.name,
        archiveBucketName: args.archiveBucketName,
        analyticsBucketName: analytics.bucketName,
        projectionYearFrom: years.from,
        projectionYearTo: years.to,
      },
      this,
    );

    const account = aws.getCallerIdentityOutput({}, child).accountId;
    const workgroup = enforcedWorkgroup(
      `${name}-workgroup`,
      {
        description: pulumi.interpolate`Queries of pipeline ${pipelineName}`,
        forceDestroy,
        bytesScannedCutoffPerQuery: bytesScannedCutoff,
        outputLocation: queryResultsLocation,
        expectedBucketOwner: account,
        kmsKeyArn: args.kmsKeyArn,
        tags,
      },
      child,
    );

    const template = new aws.ssm.Parameter(
      `${name}-insert-template`,
      {
        // Plain SQL, no secret: the handler reads it without decryption, and `insecureValue` (unlike
        // `value`, which the provider always marks secret) keeps template changes readable in previews.
        type: "String",
        tier: ssmTierFor(insertTemplate),
        insecureValue: insertTemplate,
        description: pulumi.interpolate`Hourly INSERT INTO analytics_prices template of pipeline ${pipelineName}`,
        tags,
      },
      child,
    );

    const lakeFormation = args.lakeFormationPermissions ?? DEFAULT_LAKE_FORMATION_PERMISSIONS;
    const statements = transformStatements({
      catalog: { region: aws.getRegionOutput({}, child).region, account, partition: aws.getPartitionOutput({}, child).partition },
      workGroupArn: workgroup.arn,
      databaseName: database.name,
      databaseArn: database.arn,
      readTableArns: [tables.processedRaw.arn, tables.analytics.arn],
      analyticsTableArn: tables.analytics.arn,
      archiveBucketArn: args.archiveBucketArn,
      analyticsBucketArn: analytics.arn,
      resultsBucketArn: results.arn,
      templateParameterArn: template.arn,
      kmsKeyArn: args.kmsKeyArn,
      lakeFormation,
    });

    // Every successful run's invocation record goes to the account's default bus, where Dashboards (or
    // anything else) can start work that must follow a finished hour, without this component knowing it.
    const defaultEventBusArn = pulumi.interpolate`arn:${aws.getPartitionOutput({}, child).partition}:events:${aws.getRegionOutput({}, child).region}:${account}:event-bus/default`;
    const transform = new ScheduledFunction(
      transformName,
      {
        ...settings,
        successEventBusArn: defaultEventBusArn,
        callbackFactory: createTransformHandler,
        description: pulumi.interpolate`Hourly Parquet materialisation of pipeline ${pipelineName}`,
        statements,
        environment: {
          [TRANSFORM_ENV.archiveBucket]: args.archiveBucketName,
          [TRANSFORM_ENV.analyticsBucket]: analytics.bucketName,
          [TRANSFORM_ENV.workGroup]: workgroup.name,
          [TRANSFORM_ENV.database]: database.name,
          [TRANSFORM_ENV.templateParameter]: template.name,
          [TRANSFORM_ENV.lookbackHours]: pulumi.output(lookbackHours).apply(String),
          [TRANSFORM_ENV.pipeline]: pipelineName,
          [TRANSFORM_ENV.namespace]: namespace,
        },
        tags,
      },
      // No explicit dependsOn: the environment and the role policy name the workgroup, database, tables
      // and template, so the function (which waits for its policy) is created after all of them.
      child,
    );

    const views = createAthenaViews(
      name,
      { databaseName: database.name, tables: [tables.processedRaw, tables.processed, tables.analytics] },
      this,
    );
    if (lakeFormation) {
      grantLakeFormationAccess(
        `${transformName}-role`,
        {
          principalArn: transform.roleArn,
          // Through a table's database name: the grants wait for the tables they name.
          databaseName: tables.analytics.databaseName,
          tables: [
            { table: LAKE_TABLES.processedRaw, permissions: ["SELECT", "DESCRIBE"] },
            // INSERT writes data and registers partitions (BatchCreatePartition); ALTER updates an existing
            // partition (UpdatePartition), as the role's IAM statement AddAnalyticsPartitions explains.
            { table: LAKE_TABLES.analytics, permissions: ["SELECT", "INSERT", "ALTER", "DESCRIBE"] },
          ],
        },
        this,
      );
    }

    this.analyticsBucketName = analytics.bucketName;
    this.analyticsBucketArn = analytics.arn;
    this.resultsBucketName = results.bucketName;
    this.resultsBucketArn = results.arn;
    this.queryResultsLocation = queryResultsLocation;
    this.databaseName = database.name;
    this.workGroupName = workgroup.name;
    this.workGroupArn = workgroup.arn;
    this.processedRawTableName = tables.processedRaw.name;
    this.processedTableName = tables.processed.name;
    this.analyticsTableName = tables.analytics.name;
    this.viewNames = pulumi.all(Object.values(views).map((view) => view.name));
    this.templateParameterName = template.name;
    this.transformFunctionName = transform.functionName;
    this.transformFunctionArn = transform.functionArn;
    this.transformLogGroupName = transform.logGroupName;
    this.dlqArn = transform.dlqArn;
    this.dlqName = transform.dlqName;
    this.failureQueueArn = transform.failureQueueArn;
    this.failureQueueName = transform.failureQueueName;
    this.pipelineName = pulumi.output(pipelineName);
    this.metricsNamespace = pulumi.output(namespace);
    this.registerOutputs({
      analyticsBucketName: this.analyticsBucketName,
      resultsBucketName: this.resultsBucketName,
      queryResultsLocation: this.queryResultsLocation,
      databaseName: this.databaseName,
      workGroupName: this.workGroupName,
      analyticsTableName: this.analyticsTableName,
      viewNames: this.viewNames,
      templateParameterName: this.templateParameterName,
      transformFunctionName: this.transformFunctionName,
      transformFunctionArn: this.transformFunctionArn,
      dlqArn: this.dlqArn,
      failureQueueArn: this.failureQueueArn,
    });
  }
}

/** The SSM tier a parameter value needs: Standard up to {@link SSM_STANDARD_TIER_MAX_BYTES}, else Advanced. */
export function ssmTierFor(value: string): "Standard" | "Advanced" {
  return Buffer.byteLength(value, "utf8") <= SSM_STANDARD_TIER_MAX_BYTES ? "Standard" : "Advanced";
}

/** What {@link transformStatements} grants access to. */
interface TransformResources {
  /** Partition, region and account of the Data Catalog. */
  catalog: GlueCatalogLocation;
  workGroupArn: pulumi.Input<string>;
  databaseName: pulumi.Input<string>;
  databaseArn: pulumi.Input<string>;
  /** Tables the INSERT reads (processed_prices_raw, analytics_prices). */
  readTableArns: pulumi.Input<string>[];
  /** The table the INSERT adds partitions to. */
  analyticsTableArn: pulumi.Input<string>;
  archiveBucketArn: pulumi.Input<string>;
  analyticsBucketArn: pulumi.Input<string>;
  resultsBucketArn: pulumi.Input<string>;
  templateParameterArn: pulumi.Input<string>;
  /** Only with a customer-managed key. */
  kmsKeyArn?: pulumi.Input<string>;
  /** Whether Lake Formation governs the catalog (adds `lakeformation:GetDataAccess`). */
  lakeFormation: boolean;
}

/**
 * The transform's run-time permissions, exactly what the handler and the Athena queries it starts need
 * (Athena reads and writes S3 and Glue with the caller's credentials). Logs and the failure queue are
 * added by ScheduledFunction. No delete anywhere.
 */
function transformStatements(r: TransformResources): PolicyStatement[] {
  const catalogArn = glueCatalogArn(r.catalog);
  const objects = (bucketArn: pulumi.Input<string>, prefix: string): pulumi.Output<string> => pulumi.interpolate`${bucketArn}/${prefix}/*`;
  const statements = [
    allow(
      "RunQueriesInWorkgroup",
      ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution"],
      [r.workGroupArn],
    ),
    athenaDefaultDatabaseStatement(r.catalog),
    // GetPartition/GetPartitions: before an INSERT writes an hour, Athena looks that partition up in the
    // catalog to know whether to register it or add files to it (AmazonAthenaFullAccess lists both).
    allow(
      "ReadLakeTables",
      ["glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions"],
      [catalogArn, r.databaseArn, ...r.readTableArns],
    ),
    // What an INSERT INTO analytics_prices (projection enabled) does to its partitions, from Athena's docs:
    // - a new hour: the INSERT "adds the data and the relevant partition to the table"
    //   (https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into-etl.html), in one batch call,
    //   glue:BatchCreatePartition (the action MSCK REPAIR TABLE needs for the same registration,
    //   https://docs.aws.amazon.com/athena/latest/ug/msck-repair-table.html). Projection only makes Athena
    //   ignore the registered partitions when reading (https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html);
    //   the INSERT still registers them.
    // - an hour that already has data (a late snapshot): "each INSERT operation creates a new file, rather
    //   than appending to an existing file" (https://docs.aws.amazon.com/athena/latest/ug/insert-into.html);
    //   the partition exists, so nothing is created, and its metadata (file statistics) is rewritten with
    //   glue:UpdatePartition, the one partition-update action AmazonAthenaFullAccess grants.
    // Not granted: glue:CreatePartition (ALTER TABLE ADD PARTITION, https://docs.aws.amazon.com/athena/latest/ug/alter-table-add-partition.html)
    // and glue:BatchUpdatePartition (absent from AmazonAthenaFullAccess, so Athena cannot depend on it).
    // Partitions are not IAM resources: both are authorised on the table and its ancestors
    // (https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html).
    allow(
      "AddAnalyticsPartitions",
      ["glue:BatchCreatePartition", "glue:UpdatePartition"],
      [catalogArn, r.databaseArn, r.analyticsTableArn],
    ),
    allow("ListProcessedSnapshots", ["s3:ListBucket"], [r.archiveBucketArn], {
      StringLike: { "s3:prefix": `${LAKE_PREFIXES.processed}/*` },
    }),
    // Separate from the listing: s3:prefix does not exist for GetBucketLocation, so its condition would never match.
    allow("LocateArchiveBucket", ["s3:GetBucketLocation"], [r.archiveBucketArn]),
    allow("ReadProcessedSnapshots", ["s3:GetObject"], [objects(r.archiveBucketArn, LAKE_PREFIXES.processed)]),
    // Unconditioned listing, so reading a manifest that does not exist yet is a 404, not a 403.
    // Athena writes INSERT data and query results with multipart uploads: the bucket-level
    // ListBucketMultipartUploads and GetBucketLocation here and the object-level AbortMultipartUpload and
    // ListMultipartUploadParts below are the S3 actions of the managed policies `AmazonAthenaFullAccess`
    // and `AWSQuicksightAthenaAccess`, scoped to the buckets and prefixes Athena writes.
    allow("UseAnalyticsBucket", ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"], [r.analyticsBucketArn]),
    allow(
      "WriteAnalyticsData",
      ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      [objects(r.analyticsBucketArn, LAKE_PREFIXES.analytics)],
    ),
    allow("TrackTransformedHours", ["s3:GetObject", "s3:PutObject"], [objects(r.analyticsBucketArn, LAKE_PREFIXES.manifests)]),
    allow("UseQueryResultsBucket", ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], [r.resultsBucketArn]),
    allow(
      "WriteQueryResults",
      ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      [objects(r.resultsBucketArn, QUERY_RESULTS_PREFIX)],
    ),
    allow("ReadInsertTemplate", ["ssm:GetParameter"], [r.templateParameterArn]),
  ];
  if (r.lakeFormation) statements.push(lakeFormationDataAccessStatement());
  if (r.kmsKeyArn !== undefined) {
    const viaS3 = pulumi.interpolate`s3.${r.catalog.region}.amazonaws.com`;
    statements.push(
      // With an S3 Bucket Key the encryption context is the bucket ARN. Athena reads with kms:Decrypt and
      // writes results and INSERT data with kms:GenerateDataKey and kms:Decrypt (a multipart upload needs
      // both): https://docs.aws.amazon.com/athena/latest/ug/encryption.html, "Permissions to encrypted data in Amazon S3".
      allow("DecryptSnapshots", ["kms:Decrypt"], [r.kmsKeyArn], {
        StringEquals: { "kms:ViaService": viaS3, "kms:EncryptionContext:aws:s3:arn": r.archiveBucketArn },
      }),
      allow("UseAnalyticsKey", ["kms:GenerateDataKey", "kms:Decrypt"], [r.kmsKeyArn], {
        StringEquals: { "kms:ViaService": viaS3, "kms:EncryptionContext:aws:s3:arn": [r.analyticsBucketArn, r.resultsBucketArn] },
      }),
    );
  }
  return statements;
}

/** The projection's year range, each year within the partition calendar and `from <= to`. */
function projectionYears(
  what: string,
  from: pulumi.Input<number>,
  to: pulumi.Input<number>,
): { from: pulumi.Input<number>; to: pulumi.Input<number> } {
  const inRange = (field: string) => integerIn(`${what}: ${field}`, MIN_PARTITION_YEAR, MAX_PARTITION_YEAR);
  const ordered = ([first, last]: [number, number]): void => {
    if (first > last) throw new Error(`${what}: projectionYearFrom (${first}) must not be after projectionYearTo (${last}).`);
  };
  const checkedFrom = checked(from, inRange("projectionYearFrom"));
  const checkedTo = checked(to, inRange("projectionYearTo"));
  const plainFrom = plainValue(checkedFrom);
  const plainTo = plainValue(checkedTo);
  if (plainFrom !== undefined && plainTo !== undefined) {
    ordered([plainFrom, plainTo]);
    return { from: plainFrom, to: plainTo };
  }
  const pair = pulumi.all([checkedFrom, checkedTo]).apply((resolved) => {
    ordered(resolved);
    return resolved;
  });
  return { from: pair[0], to: pair[1] };
}
