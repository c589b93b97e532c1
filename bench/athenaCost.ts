/**
 * Athena cost model of the dashboard, from the Parquet metadata of the local lake (whose files are what
 * the transform writes in AWS too). Athena bills the bytes it scans: for Parquet, the column chunks of the
 * columns a query needs, in the partitions its predicates select, with partition columns free (they live
 * in the path), each query rounded up to a whole MB with a 10 MB minimum, at $5 per TB.
 *
 * The model: a view costs, for every table scan in its plan (as DuckDB plans it: the columns each scan
 * projects), the compressed size of those columns' chunks in every Parquet file of the partitions inside
 * the views' window (`v_recent_prices`: the engine clock's last UTC days). That assumes Athena prunes only
 * on the static window, not on run-time dynamic filters (DuckDB also skips files by the newest partition),
 * so it is an upper bound per scan. A dashboard refresh queries each view the dashboard shows once.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { LAKE_PREFIXES, partitionPath } from "../functions/partitions";
import { PARTITION_COLUMNS } from "../functions/schema";
import { sqlStringLiteral } from "../functions/sqlTemplate";
import { DuckDbEngine } from "../local/duckdbEngine";
import { QueryProfile } from "./viewScans";

/** Athena's price per TB scanned, USD. */
export const ATHENA_USD_PER_TB = 5;

/** A TB as Athena prices it here: 10^12 bytes. */
export const TB_BYTES = 1e12;

/** An MB as used for Athena's rounding and minimum here: 10^6 bytes. */
export const MB_BYTES = 1e6;

/** Athena's minimum billed scan per query: 10 MB. */
export const ATHENA_MIN_QUERY_BYTES = 10 * MB_BYTES;

/** Hourly refreshes in a month: AWS prices a month as 730 hours. */
export const HOURLY_REFRESHES_PER_MONTH = 730;

/** Compressed bytes of each column chunk of each Parquet file: file path → column → bytes. */
export type ColumnChunkSizes = Map<string, Map<string, number>>;

/** The Parquet files of the partitions inside the views' window, and their column chunk sizes. */
export interface WindowChunks {
  /** Absolute paths of the Parquet files in the window's partitions. */
  files: string[];
  /** Hour partitions inside the window that hold data. */
  partitions: number;
  /** Column chunk sizes of those files (from `parquet_metadata`). */
  sizes: ColumnChunkSizes;
}

/**
 * The window's Parquet files (the partitions `v_recent_prices` returns rows from; the lake has data in
 * every hour, so these are the window's partitions up to now) and the compressed size of each of their
 * column chunks, summed over row groups.
 */
export async function windowChunks(engine: DuckDbEngine): Promise<WindowChunks> {
  const { rows } = await engine.execute("SELECT DISTINCT year, month, day, hour FROM v_recent_prices");
  const files: string[] = [];
  for (const r of rows) {
    const dir = path.join(
      engine.lake,
      LAKE_PREFIXES.analytics,
      ...partitionPath({ year: Number(r.year), month: Number(r.month), day: Number(r.day), hour: Number(r.hour) }).split("/"),
    );
    for (const name of await fs.readdir(dir)) if (name.endsWith(".parquet")) files.push(path.join(dir, name));
  }
  const sizes: ColumnChunkSizes = new Map();
  if (files.length > 0) {
    const list = `[${files.map(sqlStringLiteral).join(", ")}]`;
    const chunks = await engine.execute(
      `SELECT file_name, path_in_schema AS column_name, CAST(sum(total_compressed_size) AS BIGINT) AS bytes FROM parquet_metadata(${list}) GROUP BY file_name, path_in_schema`,
    );
    for (const c of chunks.rows) {
      const file = String(c.file_name);
      const columns = sizes.get(file) ?? new Map<string, number>();
      columns.set(String(c.column_name), Number(c.bytes));
      sizes.set(file, columns);
    }
  }
  return { files, partitions: rows.length, sizes };
}

/** Bytes Athena would scan for a query with this (DuckDB) plan: each Parquet scan's data columns over the window's files. */
export function modelledScanBytes(profile: QueryProfile, window: WindowChunks): number {
  const partitionColumns = new Set(PARTITION_COLUMNS.map((c) => c.name));
  let bytes = 0;
  for (const scan of profile.scans.filter((s) => s.reader === "READ_PARQUET")) {
    const columns = scan.columns.filter((c) => !partitionColumns.has(c));
    for (const file of window.files) {
      const chunks = window.sizes.get(file);
      if (chunks === undefined) throw new Error(`no Parquet metadata for ${file}`);
      for (const column of columns) bytes += chunks.get(column) ?? 0;
    }
  }
  return bytes;
}

/** What Athena bills for a query scanning `bytes`: rounded up to a whole MB, at least 10 MB. */
export function billedBytes(bytes: number): number {
  return Math.max(ATHENA_MIN_QUERY_BYTES, Math.ceil(bytes / MB_BYTES) * MB_BYTES);
}

/** USD per month for a refresh billed `refreshBytes`, run hourly. */
export function monthlyCostUsd(refreshBytes: number): number {
  return ((refreshBytes * HOURLY_REFRESHES_PER_MONTH) / TB_BYTES) * ATHENA_USD_PER_TB;
}
