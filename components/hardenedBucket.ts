/**
 * A private, encrypted, versioned S3 bucket with housekeeping lifecycle rules and a TLS-only policy.
 * The secure settings are not switchable off; only the encryption key, lifecycle and extra policy
 * statements are arguments.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Check, checked, integerIn, oneOf, plainValue } from "./args";
import { denyEveryone, PolicyStatement, policyDocument } from "./iam";

/** Days a replaced or deleted object version is kept before it expires. */
export const DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS = 30;

/** Days after which an unfinished multipart upload is aborted (its parts cost storage). */
export const DEFAULT_ABORT_INCOMPLETE_UPLOAD_DAYS = 7;

/** Minimum TLS version the bucket policy accepts. */
export const MINIMUM_TLS_VERSION = "1.2";

/** Storage classes a prefix rule may transition to. */
export const TRANSITION_STORAGE_CLASSES = [
  "STANDARD_IA",
  "ONEZONE_IA",
  "INTELLIGENT_TIERING",
  "GLACIER_IR",
  "GLACIER",
  "DEEP_ARCHIVE",
] as const;

/** A storage class a prefix rule may transition to. */
export type TransitionStorageClass = (typeof TRANSITION_STORAGE_CLASSES)[number];

// S3 rejects transitions to the infrequent-access classes before an object is 30 days old.
const INFREQUENT_ACCESS_MIN_DAYS = 30;

/** A lifecycle rule for one key prefix. */
export interface PrefixLifecycleRule {
  /** Rule id, unique within the bucket, e.g. `raw-cold-storage`. */
  id: string;
  /** Key prefix with trailing slash, e.g. `raw/`. */
  prefix: string;
  /** Move current versions to a colder class after `days`. None by default. */
  transition?: { days: pulumi.Input<number>; storageClass: TransitionStorageClass };
  /** Expire current versions after this many days (they become noncurrent, then expire). Never by default. */
  expirationDays?: pulumi.Input<number>;
}

/** Arguments of {@link HardenedBucket}. */
export interface HardenedBucketArgs {
  /** KMS key for SSE-KMS (with an S3 Bucket Key). Defaults to SSE-S3 (AES256, no key to manage). */
  kmsKeyArn?: pulumi.Input<string>;
  /** Defaults to {@link DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS}. */
  noncurrentVersionExpirationDays?: pulumi.Input<number>;
  /** Defaults to {@link DEFAULT_ABORT_INCOMPLETE_UPLOAD_DAYS}. */
  abortIncompleteUploadDays?: pulumi.Input<number>;
  /** Per-prefix transitions and expirations. None by default. */
  prefixRules?: PrefixLifecycleRule[];
  /**
   * Statements added to the bucket policy after the TLS guards. S3 allows one policy per bucket, so
   * every statement about this bucket must come through here. None by default.
   */
  policyStatements?: pulumi.Input<PolicyStatement>[];
  /** Delete objects on `pulumi destroy`. Defaults to false: the archive outlives the stack. */
  forceDestroy?: pulumi.Input<boolean>;
  /** Tags for the bucket. None by default. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The TLS guards of a bucket policy: deny every S3 action on the bucket and its objects over plain
 * HTTP or TLS older than {@link MINIMUM_TLS_VERSION}.
 */
export function tlsOnlyStatements(bucketArn: pulumi.Input<string>): PolicyStatement[] {
  const resources = [bucketArn, pulumi.interpolate`${bucketArn}/*`];
  return [
    denyEveryone("DenyInsecureTransport", ["s3:*"], resources, { Bool: { "aws:SecureTransport": "false" } }),
    denyEveryone("DenyOutdatedTls", ["s3:*"], resources, {
      NumericLessThan: { "s3:TlsVersion": MINIMUM_TLS_VERSION },
    }),
  ];
}

/**
 * Private bucket: all four Block Public Access settings, BucketOwnerEnforced (no ACLs), default
 * encryption (SSE-C uploads refused), versioning, housekeeping lifecycle, TLS-only policy.
 * Children are named `${name}`, `${name}-public-access`, `${name}-ownership`, `${name}-encryption`,
 * `${name}-versioning`, `${name}-lifecycle`, `${name}-policy`.
 */
export class HardenedBucket extends pulumi.ComponentResource {
  /** The bucket. */
  public readonly bucket: aws.s3.Bucket;
  /** Bucket name. */
  public readonly bucketName: pulumi.Output<string>;
  /** Bucket ARN. */
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: HardenedBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("crypto-analytics:pipeline:HardenedBucket", name, {}, opts);
    const what = `HardenedBucket "${name}"`;
    const noncurrentDays = checked(
      args.noncurrentVersionExpirationDays ?? DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS,
      integerIn(`${what}: noncurrentVersionExpirationDays`, 1, 36500),
    );
    const abortDays = checked(
      args.abortIncompleteUploadDays ?? DEFAULT_ABORT_INCOMPLETE_UPLOAD_DAYS,
      integerIn(`${what}: abortIncompleteUploadDays`, 1, 36500),
    );
    const prefixRules = (args.prefixRules ?? []).map((rule) => lifecycleRuleOf(what, rule));

    this.bucket = new aws.s3.Bucket(name, { forceDestroy: args.forceDestroy ?? false, tags: args.tags }, { parent: this });
    const bucketId = this.bucket.id;

    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: bucketId,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      { parent: this },
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: bucketId, rule: { objectOwnership: "BucketOwnerEnforced" } },
      { parent: this },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucketId,
        rules: [
          args.kmsKeyArn === undefined
            ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, blockedEncryptionTypes: ["SSE-C"] }
            : {
                applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.kmsKeyArn },
                // A Bucket Key cuts KMS requests (and cost) by orders of magnitude for many small objects.
                bucketKeyEnabled: true,
                blockedEncryptionTypes: ["SSE-C"],
              },
        ],
      },
      { parent: this },
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucketId, versioningConfiguration: { status: "Enabled" } },
      { parent: this },
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucketId,
        rules: [
          {
            id: "expire-noncurrent-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays },
            expiration: { expiredObjectDeleteMarker: true },
          },
          {
            id: "abort-incomplete-multipart-uploads",
            status: "Enabled",
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: abortDays },
          },
          ...prefixRules,
        ],
      },
      // Noncurrent-version rules only mean something once versioning is on.
      { parent: this, dependsOn: [versioning] },
    );
    new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucketId,
        policy: policyDocument([...tlsOnlyStatements(this.bucket.arn), ...(args.policyStatements ?? [])]),
      },
      // Block Public Access first, so a policy can never be briefly evaluated on an unprotected bucket.
      { parent: this, dependsOn: [publicAccess] },
    );

    this.bucketName = this.bucket.bucket;
    this.arn = this.bucket.arn;
    this.registerOutputs({ bucketName: this.bucketName, arn: this.arn });
  }
}

/** The lifecycle rule of one prefix rule, its numbers checked (now if plain, else when they resolve). */
function lifecycleRuleOf(what: string, rule: PrefixLifecycleRule): aws.types.input.s3.BucketLifecycleConfigurationRule {
  const where = `${what}: prefix rule "${rule.id}"`;
  if (!rule.prefix.endsWith("/") || rule.prefix.startsWith("/")) {
    throw new Error(`${where}: prefix must look like "raw/" (no leading slash, trailing slash), got "${rule.prefix}".`);
  }
  let expirationDays =
    rule.expirationDays === undefined ? undefined : checked(rule.expirationDays, integerIn(`${where}: expirationDays`, 1, 36500));
  if (rule.transition === undefined) {
    return {
      id: rule.id,
      status: "Enabled",
      filter: { prefix: rule.prefix },
      ...(expirationDays === undefined ? {} : { expiration: { days: expirationDays } }),
    };
  }
  const { storageClass } = rule.transition;
  oneOf(`${where}: transition.storageClass`, TRANSITION_STORAGE_CLASSES)(storageClass);
  const min = storageClass === "STANDARD_IA" || storageClass === "ONEZONE_IA" ? INFREQUENT_ACCESS_MIN_DAYS : 1;
  const days = checked(rule.transition.days, integerIn(`${where}: transition.days (for ${storageClass})`, min, 36500));
  if (expirationDays !== undefined) {
    const expireAfterMove: Check<[number, number]> = ([expire, move]) => {
      if (expire <= move) {
        throw new Error(`${where}: expirationDays (${expire}) must be later than the transition (${move} days).`);
      }
    };
    const expire = plainValue(expirationDays);
    const move = plainValue(days);
    if (expire !== undefined && move !== undefined) {
      expireAfterMove([expire, move]);
    } else {
      expirationDays = pulumi.all([expirationDays, days]).apply((pair) => {
        expireAfterMove(pair);
        return pair[0];
      });
    }
  }
  return {
    id: rule.id,
    status: "Enabled",
    filter: { prefix: rule.prefix },
    transitions: [{ days, storageClass }],
    ...(expirationDays === undefined ? {} : { expiration: { days: expirationDays } }),
  };
}
