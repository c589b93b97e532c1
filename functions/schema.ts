/**
 * The processed row schema: one definition for the normaliser, the NDJSON writer, the Glue tables
 * and the local DuckDB tables, so that a column cannot be added in one place and forgotten in another.
 */

/** Name of the Glue database by default, and of the local engine's catalog, so queries may qualify names with it. */
export const LAKE_DATABASE = "crypto_data";

/** The lake tables, as named in Glue and in the SQL. */
export const LAKE_TABLES = {
  processedRaw: "processed_prices_raw",
  processed: "processed_prices",
  analytics: "analytics_prices",
} as const;

/** Athena/Glue column types used by the lake (DuckDB has a same-named type for each). */
export type ColumnType = "string" | "double" | "bigint" | "int";

/** One column of `processed_prices` / `analytics_prices`. */
export interface ColumnDef {
  name: string;
  type: ColumnType;
  /** Shown in Glue and in the data dictionary of docs/architecture.md. */
  comment: string;
}

/** Columns of a processed row, in file order. `timestamp` is the snapshot slot in epoch seconds. */
export const PROCESSED_COLUMNS: readonly ColumnDef[] = [
  { name: "id", type: "string", comment: "CoinGecko coin id, e.g. bitcoin" },
  { name: "symbol", type: "string", comment: "ticker symbol, lower case as CoinGecko sends it" },
  { name: "name", type: "string", comment: "display name" },
  { name: "current_price", type: "double", comment: "price in the snapshot's vs_currency" },
  { name: "market_cap", type: "bigint", comment: "market capitalisation" },
  { name: "market_cap_rank", type: "int", comment: "rank by market cap, 1 = largest" },
  { name: "fully_diluted_valuation", type: "bigint", comment: "price x max supply" },
  { name: "volume_24h", type: "bigint", comment: "total traded volume over 24 h (CoinGecko total_volume)" },
  { name: "high_24h", type: "double", comment: "24 h high price" },
  { name: "low_24h", type: "double", comment: "24 h low price" },
  { name: "price_change_pct_1h", type: "double", comment: "price change over 1 h, percent" },
  { name: "price_change_pct_24h", type: "double", comment: "price change over 24 h, percent" },
  { name: "price_change_pct_7d", type: "double", comment: "price change over 7 days, percent" },
  { name: "circulating_supply", type: "double", comment: "coins in circulation" },
  { name: "last_updated", type: "string", comment: "CoinGecko's last update time, ISO-8601 as sent" },
  { name: "vs_currency", type: "string", comment: "quote currency of prices and volumes, e.g. usd" },
  { name: "timestamp", type: "bigint", comment: "snapshot slot, epoch seconds floored to 5 minutes" },
  // Last, so tables and Parquet files written before it existed keep their column positions (Athena reads
  // Parquet by name and gives a missing column NULL; the transform reads such rows as live).
  {
    name: "source",
    type: "string",
    comment: "live (a /coins/markets snapshot) or backfill (derived from /coins/{id}/market_chart history)",
  },
];

/** What a processed row came from: a live `/coins/markets` snapshot, or `/coins/{id}/market_chart` history. */
export const ROW_SOURCES = { live: "live", backfill: "backfill" } as const;

/** A value of the `source` column. */
export type RowSource = (typeof ROW_SOURCES)[keyof typeof ROW_SOURCES];

/** Hive partition columns of every lake table, in path order; all `int`, unpadded. */
export const PARTITION_COLUMNS: readonly ColumnDef[] = [
  { name: "year", type: "int", comment: "UTC year of the snapshot" },
  { name: "month", type: "int", comment: "UTC month 1-12, unpadded" },
  { name: "day", type: "int", comment: "UTC day of month 1-31, unpadded" },
  { name: "hour", type: "int", comment: "UTC hour 0-23, unpadded" },
];

/** A processed row as the normaliser or the backfill emits it; every field but id/symbol/name/vs_currency/timestamp/source may be null. */
export interface ProcessedRow {
  id: string;
  symbol: string;
  name: string;
  current_price: number | null;
  market_cap: number | null;
  market_cap_rank: number | null;
  fully_diluted_valuation: number | null;
  volume_24h: number | null;
  high_24h: number | null;
  low_24h: number | null;
  price_change_pct_1h: number | null;
  price_change_pct_24h: number | null;
  price_change_pct_7d: number | null;
  circulating_supply: number | null;
  last_updated: string | null;
  vs_currency: string;
  timestamp: number;
  source: RowSource;
}
