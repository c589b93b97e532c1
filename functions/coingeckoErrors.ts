/**
 * The one error type the CoinGecko client and the page parser throw, so the ingest handler, the CLI and
 * the tests can tell a misconfiguration (fix the stack) from an outage (wait) from a bad body (CoinGecko's
 * problem) without parsing messages. Messages never contain the API key.
 */

/**
 * Why a snapshot could not be fetched:
 * - `configuration`: the request can never succeed as configured (missing or wrong key, key for the other
 *   plan's host, bad parameters, plan-restricted endpoint); not retried.
 * - `rate-limited`: HTTP 429 (or a 200 carrying error code 429) kept coming until the time budget ran out.
 * - `unavailable`: 5xx/408, timeouts or network errors kept coming until the time budget ran out.
 * - `invalid-response`: a 200 whose body is not a non-empty JSON array of coins (HTML, truncated JSON,
 *   an error object, an empty array).
 */
export type CoinGeckoErrorKind = "configuration" | "rate-limited" | "unavailable" | "invalid-response";

/** Facts about a failed fetch, kept on the error for logs and metrics. */
export interface CoinGeckoErrorDetails {
  /** HTTP status of the last response, when there was one. */
  status?: number;
  /** CoinGecko's `error_code` from the body (e.g. 10002), when the body carried one. */
  errorCode?: number;
  /** Requests sent for the failing page, retries included. Defaults to 1. */
  attempts?: number;
  /** Wall time spent on the failing page, in milliseconds. Defaults to 0. */
  elapsedMs?: number;
  /** Page number (1-based) the failure happened on, when known. */
  page?: number;
}

/** A CoinGecko fetch or body failure: a plain `Error` carrying {@link CoinGeckoErrorKind} and the fetch facts. */
export interface CoinGeckoError extends Error {
  name: "CoinGeckoError";
  /** What kind of failure this is. */
  kind: CoinGeckoErrorKind;
  /** HTTP status of the last response, when there was one. */
  status?: number;
  /** CoinGecko's body `error_code`, when there was one. */
  errorCode?: number;
  /** Requests sent for the failing page, retries included. */
  attempts: number;
  /** Wall time spent on the failing page, in milliseconds. */
  elapsedMs: number;
  /** Page number (1-based) the failure happened on, when known. */
  page?: number;
}

/**
 * Creates a {@link CoinGeckoError}. A factory rather than `class extends Error`: Pulumi's function
 * serializer turns `super(message)` into `Error.call(this, message)` and drops `Error.prototype` from the
 * chain, so a serialized subclass instance has no message and is not an `Error` at all.
 */
export function coinGeckoError(kind: CoinGeckoErrorKind, message: string, details: CoinGeckoErrorDetails = {}): CoinGeckoError {
  const error = new Error(message) as CoinGeckoError;
  error.name = "CoinGeckoError";
  error.kind = kind;
  error.status = details.status;
  error.errorCode = details.errorCode;
  error.attempts = details.attempts ?? 1;
  error.elapsedMs = details.elapsedMs ?? 0;
  error.page = details.page;
  return error;
}

/** True for errors made by {@link coinGeckoError}. */
export function isCoinGeckoError(err: unknown): err is CoinGeckoError {
  return err instanceof Error && err.name === "CoinGeckoError";
}
