/**
 * The Pulumi program of this repository: reads stack config and composes the library's components.
 * It is the only module that reads `pulumi.Config`; the components take plain args. Run with
 * `pulumi up` per stack (see README.md, "Deploy to AWS").
 */
import * as pulumi from "@pulumi/pulumi";
import { AnalyticsLayer, IngestLake } from "./components";
import { CoinGeckoPlan } from "./functions/coingeckoClient";

const config = new pulumi.Config();
const kmsKeyArn = config.get("kmsKeyArn");
const logRetentionDays = config.getNumber("logRetentionDays");

const ingest = new IngestLake("crypto", {
  coingeckoPlan: config.get<CoinGeckoPlan>("coingeckoPlan"),
  // getSecret keeps the key encrypted in state and out of every plain-text input.
  coingeckoApiKey: config.getSecret("coingeckoApiKey"),
  coingeckoBaseUrl: config.get("coingeckoBaseUrl"),
  vsCurrency: config.get("vsCurrency"),
  topN: config.getNumber("topN"),
  scheduleExpression: config.get("ingestSchedule"),
  logRetentionDays,
  rawColdStorageAfterDays: config.getNumber("rawColdStorageAfterDays"),
  noncurrentVersionExpirationDays: config.getNumber("noncurrentVersionExpirationDays"),
  kmsKeyArn,
});

const analytics = new AnalyticsLayer("crypto", {
  archiveBucketName: ingest.bucketName,
  archiveBucketArn: ingest.bucketArn,
  pipelineName: ingest.pipelineName,
  metricsNamespace: ingest.metricsNamespace,
  // Glue database names are account-wide: one per stack, so two stacks in one account never collide.
  databaseName: config.get("databaseName") ?? `crypto_data_${pulumi.getStack().toLowerCase().replace(/[^a-z0-9]+/g, "_")}`,
  projectionYearFrom: config.getNumber("projectionYearFrom"),
  projectionYearTo: config.getNumber("projectionYearTo"),
  lookbackHours: config.getNumber("lookbackHours"),
  scheduleExpression: config.get("transformSchedule"),
  bytesScannedCutoffPerQuery: config.getNumber("bytesScannedCutoffPerQuery"),
  queryResultsExpirationDays: config.getNumber("queryResultsExpirationDays"),
  logRetentionDays,
  kmsKeyArn,
});

/** Archive bucket holding raw/ and processed/. */
export const archiveBucketName = ingest.bucketName;
/** The 5-minute ingest function. */
export const ingestFunctionName = ingest.functionName;
/** SSM SecureString parameter holding the CoinGecko key (undefined when keyless). */
export const coingeckoKeyParameterName = ingest.keyParameterName;
/** Hourly Parquet (analytics/) and transform manifests. */
export const analyticsBucketName = analytics.analyticsBucketName;
/** Glue database of the tables and v_* views. */
export const glueDatabase = analytics.databaseName;
/** Athena workgroup to query in (results location enforced). */
export const athenaWorkGroup = analytics.workGroupName;
/** The hourly transform function. */
export const transformFunctionName = analytics.transformFunctionName;
/** The curated Athena views. */
export const viewNames = analytics.viewNames;
