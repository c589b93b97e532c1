/**
 * The Athena workgroup both the pipeline (AnalyticsLayer) and the dashboard (Dashboards) query through:
 * engine v3, settings enforced on every query, CloudWatch metrics, a per-query scan cutoff, and results
 * written only to the given location, owned by this account and encrypted with the lake's key.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Athena engine of the workgroup. */
export const ATHENA_ENGINE_VERSION = "Athena engine version 3";

/** Settings of {@link enforcedWorkgroup}. */
export interface EnforcedWorkgroupArgs {
  /** Workgroup description. Required. */
  description: pulumi.Input<string>;
  /** Let `pulumi destroy` delete the workgroup with its named queries and history. Required. */
  forceDestroy: pulumi.Input<boolean>;
  /** Bytes one query may scan before Athena cancels it. Required. */
  bytesScannedCutoffPerQuery: pulumi.Input<number>;
  /** `s3://bucket/prefix/` every query's results go to. Required. */
  outputLocation: pulumi.Input<string>;
  /** Account that must own the results bucket. Required. */
  expectedBucketOwner: pulumi.Input<string>;
  /** KMS key of the results. Defaults to none (SSE-S3). */
  kmsKeyArn?: pulumi.Input<string>;
  /** Tags of the workgroup. None by default. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** An enabled workgroup whose configuration (engine, cutoff, result location and encryption) overrides each query's. */
export function enforcedWorkgroup(name: string, args: EnforcedWorkgroupArgs, opts: pulumi.CustomResourceOptions): aws.athena.Workgroup {
  return new aws.athena.Workgroup(
    name,
    {
      description: args.description,
      state: "ENABLED",
      forceDestroy: args.forceDestroy,
      configuration: {
        engineVersion: { selectedEngineVersion: ATHENA_ENGINE_VERSION },
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: args.bytesScannedCutoffPerQuery,
        requesterPaysEnabled: false,
        resultConfiguration: {
          outputLocation: args.outputLocation,
          // Athena refuses to write results into a same-named bucket of another account.
          expectedBucketOwner: args.expectedBucketOwner,
          encryptionConfiguration:
            args.kmsKeyArn === undefined ? { encryptionOption: "SSE_S3" } : { encryptionOption: "SSE_KMS", kmsKeyArn: args.kmsKeyArn },
        },
      },
      tags: args.tags,
    },
    opts,
  );
}
