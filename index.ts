/**
 * The Pulumi program of this repository: reads stack config and composes the library's components.
 * It is the only module that reads `pulumi.Config`; the components take plain args. Run with
 * `pulumi up` per stack (see README.md, "Deploy to AWS").
 */
import * as pulumi from "@pulumi/pulumi";
import { CoinGeckoPlan } from "./functions/coingeckoClient";
import { IngestLake } from "./components";

const config = new pulumi.Config();

const ingest = new IngestLake("crypto", {
  coingeckoPlan: config.get<CoinGeckoPlan>("coingeckoPlan"),
  // requireSecret/getSecret keep the key encrypted in state and out of every plain-text input.
  coingeckoApiKey: config.getSecret("coingeckoApiKey"),
  coingeckoBaseUrl: config.get("coingeckoBaseUrl"),
  vsCurrency: config.get("vsCurrency"),
  topN: config.getNumber("topN"),
  scheduleExpression: config.get("ingestSchedule"),
  logRetentionDays: config.getNumber("logRetentionDays"),
  rawColdStorageAfterDays: config.getNumber("rawColdStorageAfterDays"),
  noncurrentVersionExpirationDays: config.getNumber("noncurrentVersionExpirationDays"),
  kmsKeyArn: config.get("kmsKeyArn"),
});

/** Archive bucket holding raw/ and processed/. */
export const archiveBucketName = ingest.bucketName;
/** The 5-minute ingest function. */
export const ingestFunctionName = ingest.functionName;
/** SSM SecureString parameter holding the CoinGecko key (undefined when keyless). */
export const coingeckoKeyParameterName = ingest.keyParameterName;
