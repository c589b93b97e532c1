/**
 * The Pulumi program of this repository: one CryptoAnalyticsPipeline from stack config. It is the only
 * module that reads `pulumi.Config`; the components take plain args. Every key is optional (see README.md,
 * "Configuration"); run with `pulumi up` per stack (README.md, "Deploy to AWS").
 */
import * as pulumi from "@pulumi/pulumi";
import { CryptoAnalyticsPipeline, DASHBOARD_MODES, DashboardMode, TRANSITION_STORAGE_CLASSES, TransitionStorageClass } from "./components";
import { COINGECKO_PLANS, CoinGeckoPlan } from "./functions/coingeckoClient";

const config = new pulumi.Config();

/** A list-valued key (`pulumi config set --path 'alertEmails[0]' ops@example.com`), checked to hold strings only. */
function stringList(key: string): string[] | undefined {
  const value = config.getObject<unknown>(key);
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new Error(`config ${config.name}:${key} must be a list of strings, got ${JSON.stringify(value)}`);
  }
  return value;
}

const pipeline = new CryptoAnalyticsPipeline("crypto", {
  coingeckoPlan: config.get<CoinGeckoPlan>("coingeckoPlan", { allowedValues: [...COINGECKO_PLANS] }),
  // getSecret keeps the key encrypted in state and out of every plain-text input.
  coingeckoApiKey: config.getSecret("coingeckoApiKey"),
  coingeckoBaseUrl: config.get("coingeckoBaseUrl"),
  vsCurrency: config.get("vsCurrency"),
  topN: config.getNumber("topN"),
  ingestSchedule: config.get("ingestSchedule"),
  logRetentionDays: config.getNumber("logRetentionDays"),
  rawColdStorageAfterDays: config.getNumber("rawColdStorageAfterDays"),
  rawColdStorageClass: config.get<TransitionStorageClass>("rawColdStorageClass", { allowedValues: [...TRANSITION_STORAGE_CLASSES] }),
  noncurrentVersionExpirationDays: config.getNumber("noncurrentVersionExpirationDays"),
  kmsKeyArn: config.get("kmsKeyArn"),
  // Glue database names are account-wide: one per stack, so two stacks in one account never collide.
  databaseName:
    config.get("databaseName") ??
    `crypto_data_${pulumi
      .getStack()
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")}`,
  projectionYearFrom: config.getNumber("projectionYearFrom"),
  projectionYearTo: config.getNumber("projectionYearTo"),
  lookbackHours: config.getNumber("lookbackHours"),
  transformSchedule: config.get("transformSchedule"),
  bytesScannedCutoffPerQuery: config.getNumber("bytesScannedCutoffPerQuery"),
  queryResultsExpirationDays: config.getNumber("queryResultsExpirationDays"),
  alertEmails: stringList("alertEmails"),
  alarmsEnabled: config.getBoolean("alarmsEnabled"),
  freshnessMinutes: config.getNumber("freshnessMinutes"),
  minCoinsPerSnapshot: config.getNumber("minCoinsPerSnapshot"),
  transformStalledHours: config.getNumber("transformStalledHours"),
  maxTransformLagHours: config.getNumber("maxTransformLagHours"),
  quicksightPrincipalArns: stringList("quicksightPrincipalArns"),
  dashboardMode: config.get<DashboardMode>("dashboardMode", { allowedValues: [...DASHBOARD_MODES] }),
  forceDestroy: config.getBoolean("forceDestroy"),
  lakeFormationPermissions: config.getBoolean("lakeFormationPermissions"),
});

/** Archive bucket holding raw/ and processed/. */
export const archiveBucketName = pipeline.archiveBucketName;
/** Hourly Parquet (analytics/) and transform manifests. */
export const analyticsBucketName = pipeline.analyticsBucketName;
/** Athena query results. */
export const queryResultsBucketName = pipeline.queryResultsBucketName;
/** Glue database of the tables and v_* views. */
export const glueDatabase = pipeline.databaseName;
/** Athena workgroup to query in (results location enforced). */
export const athenaWorkGroup = pipeline.workGroupName;
/** The curated Athena views. */
export const viewNames = pipeline.viewNames;
/** The 5-minute ingest function. */
export const ingestFunctionName = pipeline.ingestFunctionName;
/** The hourly transform function. */
export const transformFunctionName = pipeline.transformFunctionName;
/** SSM SecureString parameter holding the CoinGecko key (undefined when keyless). */
export const coingeckoKeyParameterName = pipeline.coingeckoKeyParameterName;
/** SNS topic every alarm notifies. */
export const alarmTopicArn = pipeline.alarmTopicArn;
/** CloudWatch ops dashboard. */
export const opsDashboardUrl = pipeline.opsDashboardUrl;
/** QuickSight dashboard (undefined without quicksightPrincipalArns). */
export const dashboardUrl = pipeline.dashboardUrl;
/** QuickSight Athena data source; `crypto-analytics verify` checks its status (undefined without quicksightPrincipalArns). */
export const quicksightDataSourceArn = pipeline.dashboards?.dataSourceArn;
/** QuickSight data set ARNs by view name; verify checks each one's latest SPICE ingestion (undefined without quicksightPrincipalArns). */
export const quicksightDataSetArns = pipeline.dashboards?.dataSetArns;
/** `SPICE` or `DIRECT_QUERY`: whether the data sets have SPICE ingestions (undefined without quicksightPrincipalArns). */
export const quicksightImportMode = pipeline.dashboards?.importMode;
