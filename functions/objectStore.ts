/**
 * The object store the handlers write through: S3 in AWS, a folder in local mode.
 * Keys are `/`-separated lake keys such as `raw/year=2024/month=9/day=3/hour=7/1725346800.json`.
 */

/** Metadata stored with an object. */
export interface PutOptions {
  /** MIME type, e.g. `application/json`. */
  contentType?: string;
  /** e.g. `gzip` for `.ndjson.gz`. */
  contentEncoding?: string;
}

/** Outcome of a conditional write. */
export type PutIfAbsentResult = "written" | "exists";

/** What the pipeline needs from a store; both implementations must behave identically. */
export interface ObjectStore {
  /**
   * Writes only if no object has this key (S3 `If-None-Match: *`; a 412 means another delivery wrote it).
   * Resolves `"exists"` without touching the stored object when the key is taken.
   */
  putIfAbsent(key: string, body: Uint8Array | string, options?: PutOptions): Promise<PutIfAbsentResult>;
  /** Writes or replaces an object (used for small state objects such as transform manifests). */
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<void>;
  /** The object's bytes, or undefined when there is no such key. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Every key under a prefix, sorted ascending; never includes temporary or partial objects. */
  list(prefix: string): Promise<string[]>;
}
