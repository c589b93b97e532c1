/**
 * The object store in AWS: one S3 bucket, keys as given. `putIfAbsent` is an S3 conditional write
 * (`If-None-Match: *`): 412 Precondition Failed means the key already exists. A 409
 * ConditionalRequestConflict means a concurrent write to the same key was still in flight; AWS documents
 * that the request should be retried, and the retry then either writes or gets the 412.
 */
import { setTimeout as delay } from "node:timers/promises";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ObjectStore, PutIfAbsentResult, PutOptions } from "./objectStore";

/** Default number of retries of a conditional write answered 409 ConditionalRequestConflict. */
export const DEFAULT_CONFLICT_RETRIES = 3;

/** Default first wait before retrying a 409; doubles per retry. */
export const DEFAULT_CONFLICT_RETRY_DELAY_MS = 200;

/** Tuning of {@link S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  /** Retries of a conditional write answered 409; defaults to {@link DEFAULT_CONFLICT_RETRIES}. */
  conflictRetries?: number;
  /** First wait before such a retry, doubling each time; defaults to {@link DEFAULT_CONFLICT_RETRY_DELAY_MS}. */
  conflictRetryDelayMs?: number;
}

/**
 * An S3 bucket as an {@link ObjectStore}. Needs `s3:PutObject` on the keys it writes, `s3:GetObject` on
 * the keys it reads and `s3:ListBucket` for {@link S3ObjectStore.list} (and so that `get` of a missing key
 * is a 404 rather than a 403).
 */
export class S3ObjectStore implements ObjectStore {
  /** The SDK client (its region, credentials and endpoint are the caller's). */
  readonly client: S3Client;
  /** Bucket name. */
  readonly bucket: string;
  /** Resolved retries of a 409 conditional-write conflict. */
  readonly conflictRetries: number;
  /** Resolved first wait before a 409 retry. */
  readonly conflictRetryDelayMs: number;

  /**
   * @param client an S3 client; its endpoint may be an IP (tests), which the SDK addresses path-style
   * @param bucket the bucket holding the lake
   * @param options 409 retry tuning
   */
  constructor(client: S3Client, bucket: string, options: S3ObjectStoreOptions = {}) {
    this.client = client;
    this.bucket = bucket;
    this.conflictRetries = options.conflictRetries ?? DEFAULT_CONFLICT_RETRIES;
    this.conflictRetryDelayMs = options.conflictRetryDelayMs ?? DEFAULT_CONFLICT_RETRY_DELAY_MS;
  }

  /** PutObject with `If-None-Match: *`; 412 resolves `exists`, 409 is retried, anything else throws. */
  async putIfAbsent(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<PutIfAbsentResult> {
    for (let retry = 0; ; retry += 1) {
      try {
        await this.client.send(new PutObjectCommand({ ...this.putInput(key, body, options), IfNoneMatch: "*" }));
        return "written";
      } catch (err) {
        const status = httpStatusOf(err);
        if (status === 412) return "exists";
        if (status !== 409) throw err;
        if (retry >= this.conflictRetries) {
          throw new Error(
            `s3://${this.bucket}/${key}: conditional write still conflicted with a concurrent write (HTTP 409 ConditionalRequestConflict) after ${retry} retries`,
            { cause: err },
          );
        }
        await delay(this.conflictRetryDelayMs * 2 ** retry);
      }
    }
  }

  /** Unconditional PutObject. */
  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<void> {
    await this.client.send(new PutObjectCommand(this.putInput(key, body, options)));
  }

  /** GetObject's bytes; undefined on 404 NoSuchKey. */
  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (out.Body === undefined) return new Uint8Array();
      return await out.Body.transformToByteArray();
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** Every key under the prefix, following ListObjectsV2 continuation tokens; sorted ascending. */
  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of out.Contents ?? []) {
        if (object.Key !== undefined) keys.push(object.Key);
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys.sort();
  }

  private putInput(key: string, body: Uint8Array | string, options: PutOptions) {
    return { Bucket: this.bucket, Key: key, Body: body, ContentType: options.contentType, ContentEncoding: options.contentEncoding };
  }
}

/** HTTP status of an SDK error, from its response metadata. */
function httpStatusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}
