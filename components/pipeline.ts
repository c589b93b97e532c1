/**
 * CryptoAnalyticsPipeline: the whole product as one component. Composes IngestLake (CoinGecko snapshots
 * into the archive), AnalyticsLayer (hourly Parquet, Glue catalog, Athena views), Monitoring (alarms on
 * both functions, all four queues and the workgroup) and, when QuickSight principals are given,
 * Dashboards. Every argument is optional: `new CryptoAnalyticsPipeline("crypto", {})` deploys a keyless
 * pipeline with the sub-components' defaults. This is what the repository's Pulumi program (`index.ts`)
 * instantiates from stack config, and what another Pulumi project imports.
 */
import * as pulumi from "@pulumi/pulumi";
import { AnalyticsLayer, AnalyticsLayerArgs } from "./analyticsLayer";
import { Dashboards, DashboardsArgs } from "./dashboards";
import { IngestLake, IngestLakeArgs } from "./ingestLake";
import { Monitoring, MonitoringArgs, scheduledFunctionTargets } from "./monitoring";

/**
 * Arguments of {@link CryptoAnalyticsPipeline}: one flat list, every field optional. Fields named as in a
 * sub-component are passed to it unchanged and keep its documented default (see the sub-component's
 * args); the others are documented here.
 */
export interface CryptoAnalyticsPipelineArgs
  extends
    Pick<
      IngestLakeArgs,
      | "coingeckoPlan"
      | "coingeckoApiKey"
      | "coingeckoBaseUrl"
      | "vsCurrency"
      | "topN"
      | "rawColdStorageAfterDays"
      | "rawColdStorageClass"
      | "noncurrentVersionExpirationDays"
    >,
    Pick<AnalyticsLayerArgs, "databaseName" | "projectionYearFrom" | "projectionYearTo" | "lookbackHours" | "queryResultsExpirationDays">,
    Pick<
      MonitoringArgs,
      | "alertEmails"
      | "alarmsEnabled"
      | "freshnessMinutes"
      | "minCoinsPerSnapshot"
      | "transformStalledHours"
      | "maxTransformLagHours"
      | "functionErrorThreshold"
      | "queueDepthThreshold"
      | "athenaFailedQueryThreshold"
    >,
    Pick<DashboardsArgs, "dashboardMode"> {
  /** IngestLake's `scheduleExpression`. Defaults to `DEFAULT_INGEST_SCHEDULE` (every 5 minutes). */
  ingestSchedule?: IngestLakeArgs["scheduleExpression"];
  /** AnalyticsLayer's `scheduleExpression`. Defaults to `DEFAULT_TRANSFORM_SCHEDULE` (hourly at :05 UTC). */
  transformSchedule?: AnalyticsLayerArgs["scheduleExpression"];
  /**
   * Per-query scan limit of both Athena workgroups, the pipeline's and the dashboard's. Defaults to
   * `DEFAULT_BYTES_SCANNED_CUTOFF` (1 GiB).
   */
  bytesScannedCutoffPerQuery?: AnalyticsLayerArgs["bytesScannedCutoffPerQuery"];
  /** Log retention of both functions, in days. Defaults to `DEFAULT_LOG_RETENTION_DAYS` (30). */
  logRetentionDays?: pulumi.Input<number>;
  /**
   * Customer-managed KMS key of every bucket, the CoinGecko key parameter and Athena's results (and the
   * dashboard role's decrypt grant). Defaults to SSE-S3 and the `aws/ssm` key. The alarm topic has its own
   * key (see `alarmTopicKmsKeyArn`).
   */
  kmsKeyArn?: pulumi.Input<string>;
  /** Monitoring's `kmsKeyArn` (the alarm topic's key). Defaults to a dedicated key Monitoring creates. */
  alarmTopicKmsKeyArn?: MonitoringArgs["kmsKeyArn"];
  /** Monitoring's `subscriptions`: alert endpoints other than e-mail. None by default. */
  alertSubscriptions?: MonitoringArgs["subscriptions"];
  /**
   * QuickSight users or groups allowed to open the dashboard (Dashboards' `principalArns`). Dashboards is
   * created only when this list is non-empty; none by default, so no QuickSight resource exists and no
   * QuickSight subscription is needed.
   */
  quicksightPrincipalArns?: string[];
  /** CloudWatch namespace of the pipeline's metrics. Defaults to `DEFAULT_METRICS_NAMESPACE`. */
  metricsNamespace?: pulumi.Input<string>;
  /** The `Pipeline` metric dimension and log field. Defaults to `<name>-<stack>`. */
  pipelineName?: pulumi.Input<string>;
  /** Let `pulumi destroy` delete buckets with their objects and workgroups with their history. Defaults to false. */
  forceDestroy?: pulumi.Input<boolean>;
  /**
   * Lake Formation grants (and `lakeformation:GetDataAccess`) for the two roles that query through Athena:
   * the transform's and, with a dashboard, QuickSight's data-source role (AnalyticsLayer's and Dashboards'
   * `lakeFormationPermissions`). The ingest role only writes S3 and needs none. Turn it on in accounts
   * where Lake Formation governs the Data Catalog; the deployer must be a data lake administrator.
   * Defaults to `DEFAULT_LAKE_FORMATION_PERMISSIONS` (false).
   */
  lakeFormationPermissions?: boolean;
  /** Tags for every taggable resource. None by default. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The composed pipeline. Its sub-components share its name, so their resources are named as when
 * composed by hand: `<name>-archive`, `<name>-ingest-*`, `<name>-analytics`, `<name>-transform-*`,
 * `<name>-topic`, `<name>-quicksight-*`, ...
 */
export class CryptoAnalyticsPipeline extends pulumi.ComponentResource {
  /** The ingest half: archive bucket, key parameter, ingest function. */
  public readonly ingest: IngestLake;
  /** The analytics half: analytics and results buckets, Glue catalog, workgroup, transform, views. */
  public readonly analytics: AnalyticsLayer;
  /** Alarms, alarm topic and ops dashboard. */
  public readonly monitoring: Monitoring;
  /** The QuickSight dashboard; undefined without `quicksightPrincipalArns`. */
  public readonly dashboards: Dashboards | undefined;
  /** Archive bucket (`raw/`, `processed/`). */
  public readonly archiveBucketName: pulumi.Output<string>;
  /** Analytics bucket (`analytics/`, transform manifests). */
  public readonly analyticsBucketName: pulumi.Output<string>;
  /** Query-results bucket. */
  public readonly queryResultsBucketName: pulumi.Output<string>;
  /** Glue database of the tables and views. */
  public readonly databaseName: pulumi.Output<string>;
  /** Athena workgroup to query the lake in. */
  public readonly workGroupName: pulumi.Output<string>;
  /** The curated views. */
  public readonly viewNames: pulumi.Output<string[]>;
  /** Ingest function name. */
  public readonly ingestFunctionName: pulumi.Output<string>;
  /** Transform function name. */
  public readonly transformFunctionName: pulumi.Output<string>;
  /** SSM parameter holding the CoinGecko key; undefined when keyless. */
  public readonly coingeckoKeyParameterName: pulumi.Output<string> | undefined;
  /** ARN of the alarm topic. */
  public readonly alarmTopicArn: pulumi.Output<string>;
  /** Console URL of the CloudWatch ops dashboard. */
  public readonly opsDashboardUrl: pulumi.Output<string>;
  /** URL of the QuickSight dashboard; undefined without `quicksightPrincipalArns`. */
  public readonly dashboardUrl: pulumi.Output<string> | undefined;

  constructor(name: string, args: CryptoAnalyticsPipelineArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("crypto-analytics:pipeline:CryptoAnalyticsPipeline", name, {}, opts);
    const child = { parent: this };
    const shared = { logRetentionDays: args.logRetentionDays, kmsKeyArn: args.kmsKeyArn, forceDestroy: args.forceDestroy, tags: args.tags };

    this.ingest = new IngestLake(
      name,
      {
        ...shared,
        coingeckoPlan: args.coingeckoPlan,
        coingeckoApiKey: args.coingeckoApiKey,
        coingeckoBaseUrl: args.coingeckoBaseUrl,
        vsCurrency: args.vsCurrency,
        topN: args.topN,
        scheduleExpression: args.ingestSchedule,
        rawColdStorageAfterDays: args.rawColdStorageAfterDays,
        rawColdStorageClass: args.rawColdStorageClass,
        noncurrentVersionExpirationDays: args.noncurrentVersionExpirationDays,
        metricsNamespace: args.metricsNamespace,
        pipelineName: args.pipelineName,
      },
      child,
    );
    // Names, namespace and pipeline dimension flow from IngestLake's outputs, never typed twice.
    this.analytics = new AnalyticsLayer(
      name,
      {
        ...shared,
        archiveBucketName: this.ingest.bucketName,
        archiveBucketArn: this.ingest.bucketArn,
        pipelineName: this.ingest.pipelineName,
        metricsNamespace: this.ingest.metricsNamespace,
        databaseName: args.databaseName,
        projectionYearFrom: args.projectionYearFrom,
        projectionYearTo: args.projectionYearTo,
        lookbackHours: args.lookbackHours,
        scheduleExpression: args.transformSchedule,
        bytesScannedCutoffPerQuery: args.bytesScannedCutoffPerQuery,
        queryResultsExpirationDays: args.queryResultsExpirationDays,
        lakeFormationPermissions: args.lakeFormationPermissions,
      },
      child,
    );
    const principals = args.quicksightPrincipalArns ?? [];
    this.dashboards =
      principals.length === 0
        ? undefined
        : new Dashboards(
            name,
            {
              principalArns: principals,
              databaseName: this.analytics.databaseName,
              viewNames: this.analytics.viewNames,
              analyticsBucketArn: this.analytics.analyticsBucketArn,
              resultsBucketName: this.analytics.resultsBucketName,
              resultsBucketArn: this.analytics.resultsBucketArn,
              dashboardMode: args.dashboardMode,
              transformFunctionArn: this.analytics.transformFunctionArn,
              pipelineName: this.ingest.pipelineName,
              logRetentionDays: args.logRetentionDays,
              bytesScannedCutoffPerQuery: args.bytesScannedCutoffPerQuery,
              kmsKeyArn: args.kmsKeyArn,
              forceDestroy: args.forceDestroy,
              lakeFormationPermissions: args.lakeFormationPermissions,
              tags: args.tags,
            },
            child,
          );

    this.monitoring = new Monitoring(
      name,
      {
        pipelineName: this.ingest.pipelineName,
        metricsNamespace: this.ingest.metricsNamespace,
        ...scheduledFunctionTargets({
          ingest: this.ingest,
          transform: {
            functionName: this.analytics.transformFunctionName,
            dlqName: this.analytics.dlqName,
            failureQueueName: this.analytics.failureQueueName,
          },
          ...(this.dashboards?.spiceRefresh !== undefined ? { "spice-refresh": this.dashboards.spiceRefresh } : {}),
        }),
        athenaWorkGroup: this.analytics.workGroupName,
        topN: args.topN,
        alertEmails: args.alertEmails,
        subscriptions: args.alertSubscriptions,
        kmsKeyArn: args.alarmTopicKmsKeyArn,
        alarmsEnabled: args.alarmsEnabled,
        freshnessMinutes: args.freshnessMinutes,
        minCoinsPerSnapshot: args.minCoinsPerSnapshot,
        transformStalledHours: args.transformStalledHours,
        maxTransformLagHours: args.maxTransformLagHours,
        functionErrorThreshold: args.functionErrorThreshold,
        queueDepthThreshold: args.queueDepthThreshold,
        athenaFailedQueryThreshold: args.athenaFailedQueryThreshold,
        tags: args.tags,
      },
      child,
    );
    this.archiveBucketName = this.ingest.bucketName;
    this.analyticsBucketName = this.analytics.analyticsBucketName;
    this.queryResultsBucketName = this.analytics.resultsBucketName;
    this.databaseName = this.analytics.databaseName;
    this.workGroupName = this.analytics.workGroupName;
    this.viewNames = this.analytics.viewNames;
    this.ingestFunctionName = this.ingest.functionName;
    this.transformFunctionName = this.analytics.transformFunctionName;
    this.coingeckoKeyParameterName = this.ingest.keyParameterName;
    this.alarmTopicArn = this.monitoring.topicArn;
    this.opsDashboardUrl = this.monitoring.dashboardUrl;
    this.dashboardUrl = this.dashboards?.dashboardUrl;
    this.registerOutputs({
      archiveBucketName: this.archiveBucketName,
      analyticsBucketName: this.analyticsBucketName,
      queryResultsBucketName: this.queryResultsBucketName,
      databaseName: this.databaseName,
      workGroupName: this.workGroupName,
      ingestFunctionName: this.ingestFunctionName,
      transformFunctionName: this.transformFunctionName,
      alarmTopicArn: this.alarmTopicArn,
      opsDashboardUrl: this.opsDashboardUrl,
      dashboardUrl: this.dashboardUrl,
    });
  }
}
