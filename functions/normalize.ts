/**
 * CoinGecko `/coins/markets` pages to processed rows: the page parser (a 200 must carry a non-empty JSON
 * array) and the normaliser (typed columns of {@link ProcessedRow}, rows without an id dropped, duplicate
 * ids across pages resolved, counts reported).
 */
import { coinGeckoError } from "./coingeckoErrors";
import { ProcessedRow, ROW_SOURCES } from "./schema";

/** How many characters of an unexpected body an error message quotes. */
export const BODY_SNIPPET_CHARS = 120;

/** Largest magnitude a Glue/Athena `bigint` (int64) holds; 2^63 is exactly representable as a double. */
const INT64_LIMIT = 2 ** 63;

/** Range of a Glue/Athena `int` (int32). */
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** An error object CoinGecko sent instead of data. */
export interface CoinGeckoErrorBody {
  /** `error_code` (HTTP-like such as 429, or CoinGecko's own such as 10002), when present. */
  code?: number;
  /** `error_message` or `error` text, when present. */
  message?: string;
}

/** What the normaliser did with a snapshot's input rows. */
export interface NormalizeCounts {
  /** Array elements across all pages. */
  input: number;
  /** Rows in the output (one per distinct id). */
  kept: number;
  /** Elements dropped because they had no non-empty string `id` (including non-objects). */
  droppedNoId: number;
  /** Elements dropped because another page already carried their id with an equal or better rank. */
  droppedDuplicate: number;
}

/** Output of {@link normalizeSnapshot}. */
export interface NormalizedSnapshot {
  /** One row per distinct coin id, in order of first appearance. */
  rows: ProcessedRow[];
  /** What happened to the input elements. */
  counts: NormalizeCounts;
}

/** Snapshot-wide values set on every row. */
export interface SnapshotContext {
  /** Quote currency the prices were requested in, e.g. `usd`. */
  vsCurrency: string;
  /** Snapshot slot, epoch seconds floored to 5 minutes. */
  timestamp: number;
}

/**
 * Recognises the error objects CoinGecko sends (`{"status":{"error_code":..,"error_message":..}}`,
 * `{"error":{"status":{..}}}`, `{"error_code":..}`, `{"error":"text"}`); undefined for anything else.
 */
export function errorBodyOf(parsed: unknown): CoinGeckoErrorBody | undefined {
  if (!isRecord(parsed)) return undefined;
  const candidates = [parsed.status, isRecord(parsed.error) ? parsed.error.status : undefined, parsed];
  for (const c of candidates) {
    if (isRecord(c) && (typeof c.error_code === "number" || typeof c.error_message === "string")) {
      return {
        code: typeof c.error_code === "number" ? c.error_code : undefined,
        message: typeof c.error_message === "string" ? c.error_message : undefined,
      };
    }
  }
  return typeof parsed.error === "string" ? { message: parsed.error } : undefined;
}

/** The error object in a body's bytes, without parsing bodies that cannot be one (arrays, HTML). */
export function errorBodyOfBytes(body: Uint8Array): CoinGeckoErrorBody | undefined {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8").trimStart();
  if (!text.startsWith("{")) return undefined;
  try {
    return errorBodyOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** A one-line excerpt of a body for error messages. */
export function bodySnippet(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > BODY_SNIPPET_CHARS ? `${flat.slice(0, BODY_SNIPPET_CHARS)}…` : flat;
}

/**
 * Parses one page's exact bytes and checks it is what `/coins/markets` returns: a non-empty JSON array.
 * Throws a {@link CoinGeckoError} of kind `invalid-response` naming the page and what was wrong (not UTF-8,
 * HTML, truncated or otherwise invalid JSON, an error object, not an array, an empty array: zero coins is
 * never a valid snapshot).
 */
export function parseMarketsPage(body: Uint8Array, page: number): unknown[] {
  const fail = (what: string): never => {
    throw coinGeckoError("invalid-response", `CoinGecko page ${page} ${what}`, { status: 200, page });
  };
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    fail("is not UTF-8 text");
  }
  const trimmed = text.trim();
  if (trimmed === "") fail("is empty");
  if (trimmed.startsWith("<")) fail(`is HTML or XML, not JSON: ${bodySnippet(trimmed)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    fail(`is not valid JSON (truncated or corrupt, ${body.byteLength} bytes): ${reason}`);
  }
  if (!Array.isArray(parsed)) {
    const error = errorBodyOf(parsed);
    if (error) {
      const code = error.code === undefined ? "" : ` error_code ${error.code}`;
      fail(`is an error object instead of coins:${code} ${error.message ?? bodySnippet(trimmed)}`);
    }
    fail(`is JSON but not an array of coins: ${bodySnippet(trimmed)}`);
  }
  const coins = parsed as unknown[];
  if (coins.length === 0) fail("is an empty array: zero coins is never a valid snapshot");
  return coins;
}

/**
 * A finite double from a JSON number or numeric string (ints, floats, exponent notation such as `8.64e-06`
 * or `"1.0e+15"`); null for null, missing, non-numeric or non-finite values.
 */
export function toDouble(value: unknown): number | null {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "string" && value.trim() !== "") n = Number(value);
  else return null;
  return Number.isFinite(n) ? n : null;
}

/**
 * A Glue `bigint` value: {@link toDouble} rounded to the nearest integer; null when it does not fit in int64
 * (Athena would reject the whole file otherwise).
 */
export function toInt64(value: unknown): number | null {
  const n = toDouble(value);
  if (n === null) return null;
  const rounded = Math.round(n);
  return rounded >= -INT64_LIMIT && rounded < INT64_LIMIT ? rounded : null;
}

/** A Glue `int` value: an integer-valued {@link toDouble} within int32; null otherwise (a rank of 1.5 is not a rank). */
export function toInt32(value: unknown): number | null {
  const n = toDouble(value);
  return n !== null && Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX ? n : null;
}

/**
 * Maps every page's coins to processed rows. Elements without a non-empty string `id` are dropped and
 * counted; when an id appears more than once (pages are not one atomic snapshot, so a coin can move
 * between them while they are fetched) the occurrence with the best (lowest) `market_cap_rank` is kept,
 * the first one on ties, and the row keeps the position of the id's first appearance.
 */
export function normalizeSnapshot(pages: readonly (readonly unknown[])[], context: SnapshotContext): NormalizedSnapshot {
  const byId = new Map<string, ProcessedRow>();
  const counts: NormalizeCounts = { input: 0, kept: 0, droppedNoId: 0, droppedDuplicate: 0 };
  for (const coins of pages) {
    for (const coin of coins) {
      counts.input += 1;
      const row = isRecord(coin) ? toProcessedRow(coin, context) : undefined;
      if (row === undefined) {
        counts.droppedNoId += 1;
        continue;
      }
      const seen = byId.get(row.id);
      if (seen !== undefined) {
        counts.droppedDuplicate += 1;
        if (rankOrder(row) < rankOrder(seen)) byId.set(row.id, row);
        continue;
      }
      byId.set(row.id, row);
    }
  }
  const rows = [...byId.values()];
  counts.kept = rows.length;
  return { rows, counts };
}

/** One CoinGecko coin object as a processed row; undefined when it has no usable id. */
function toProcessedRow(coin: Record<string, unknown>, context: SnapshotContext): ProcessedRow | undefined {
  if (typeof coin.id !== "string" || coin.id === "") return undefined;
  return {
    id: coin.id,
    symbol: typeof coin.symbol === "string" ? coin.symbol : "",
    name: typeof coin.name === "string" ? coin.name : "",
    current_price: toDouble(coin.current_price),
    market_cap: toInt64(coin.market_cap),
    market_cap_rank: toInt32(coin.market_cap_rank),
    fully_diluted_valuation: toInt64(coin.fully_diluted_valuation),
    volume_24h: toInt64(coin.total_volume),
    high_24h: toDouble(coin.high_24h),
    low_24h: toDouble(coin.low_24h),
    price_change_pct_1h: toDouble(coin.price_change_percentage_1h_in_currency),
    // Responses requested without price_change_percentage=24h carry only the plain 24h field.
    price_change_pct_24h: toDouble(coin.price_change_percentage_24h_in_currency) ?? toDouble(coin.price_change_percentage_24h),
    price_change_pct_7d: toDouble(coin.price_change_percentage_7d_in_currency),
    circulating_supply: toDouble(coin.circulating_supply),
    last_updated: typeof coin.last_updated === "string" ? coin.last_updated : null,
    vs_currency: context.vsCurrency,
    timestamp: context.timestamp,
    source: ROW_SOURCES.live,
  };
}

/** Sort key for duplicate resolution: lower rank is better, a missing rank is worst. */
function rankOrder(row: ProcessedRow): number {
  return row.market_cap_rank ?? Number.POSITIVE_INFINITY;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
