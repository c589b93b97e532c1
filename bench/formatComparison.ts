/**
 * Parquet against NDJSON.gz on the same lake: the total size of `processed/` (one gzipped NDJSON object per
 * snapshot) against `analytics/` (hourly Parquet), and the newest snapshot's top 100 asked two ways in the
 * same run, alternating: through `v_top_100` (Parquet, bounded to the window's partitions) and as the plain
 * query an analyst would write over the NDJSON table, which has to read every snapshot to find the newest.
 */
import * as path from "node:path";
import { LAKE_PREFIXES } from "../functions/partitions";
import { DuckDbEngine } from "../local/duckdbEngine";
import { folderBytes } from "./lakes";
import { Figure, single, summarize, timeRuns } from "./stats";
import { profileQuery } from "./viewScans";

/** The newest snapshot's ranks 1..100 over the NDJSON.gz table, with v_top_100's columns and order. */
export const RAW_TOP_100_SQL = `SELECT
  p.market_cap_rank AS market_cap_rank,
  p.id AS id,
  p.symbol AS symbol,
  p.name AS name,
  p.current_price AS current_price,
  p.price_change_pct_1h AS price_change_pct_1h,
  p.price_change_pct_24h AS price_change_pct_24h,
  p.price_change_pct_7d AS price_change_pct_7d,
  p.volume_24h AS volume_24h,
  p.market_cap AS market_cap,
  p."timestamp" AS "timestamp"
FROM processed_prices AS p
WHERE p."timestamp" = (SELECT max(x."timestamp") FROM processed_prices AS x)
  AND p.market_cap_rank BETWEEN 1 AND 100
ORDER BY p.market_cap_rank, p.id
LIMIT 100`;

/** The same question through the view. */
export const VIEW_TOP_100_SQL = "SELECT * FROM v_top_100";

/** Result of {@link compareFormats}. */
export interface FormatBench {
  figures: Figure[];
  /** Median raw NDJSON latency over median analytics latency. */
  speedup: number;
  /** Bytes of `processed/`. */
  processedBytes: number;
}

/**
 * Sizes of both areas of `engine`'s lake, and `runs` alternating timings of the two top-100 queries
 * (after one untimed run of each, which must answer the same coins). `label` names the history.
 */
export async function compareFormats(engine: DuckDbEngine, label: string, runs: number, scratchDir: string): Promise<FormatBench> {
  const processed = await folderBytes(path.join(engine.lake, LAKE_PREFIXES.processed));
  const analytics = await folderBytes(path.join(engine.lake, LAKE_PREFIXES.analytics));

  const [fromRaw, fromView] = [(await engine.execute(RAW_TOP_100_SQL)).rows, (await engine.execute(VIEW_TOP_100_SQL)).rows];
  const key = (rows: Record<string, unknown>[]): string => JSON.stringify(rows.map((r) => [r.market_cap_rank, r.id, r.timestamp]));
  if (fromView.length === 0 || key(fromRaw) !== key(fromView))
    throw new Error(`${label}: the NDJSON query and v_top_100 disagree on the newest top 100`);

  const raw: number[] = [];
  const parquet: number[] = [];
  // Alternating, so drift in the machine's load reaches both series alike; the check above was the warm-up.
  for (let i = 0; i < runs; i++) {
    raw.push(...(await timeRuns(1, () => engine.execute(RAW_TOP_100_SQL))));
    parquet.push(...(await timeRuns(1, () => engine.execute(VIEW_TOP_100_SQL))));
  }
  const rawFigure = summarize(`top 100: latency over raw NDJSON.gz (processed_prices), ${label}`, "ms", raw);
  const parquetFigure = summarize(`top 100: latency over analytics/ Parquet (v_top_100), ${label}`, "ms", parquet);
  const speedup = rawFigure.median / parquetFigure.median;
  const rawProfile = await profileQuery(engine, RAW_TOP_100_SQL, engine.lake, scratchDir);
  const viewProfile = await profileQuery(engine, VIEW_TOP_100_SQL, engine.lake, scratchDir);
  return {
    speedup,
    processedBytes: processed.bytes,
    figures: [
      single(`size: processed/ NDJSON.gz, ${label} (${processed.files} files)`, "bytes", processed.bytes),
      single(`size: analytics/ Parquet, ${label} (${analytics.files} files)`, "bytes", analytics.bytes),
      single(`size: processed/ over analytics/, ${label}`, "x", processed.bytes / analytics.bytes),
      rawFigure,
      parquetFigure,
      single(`top 100: NDJSON median over Parquet median (same run), ${label}`, "x", speedup),
      single(`top 100: files read over raw NDJSON.gz, ${label}`, "files", rawProfile.filesRead),
      single(`top 100: bytes read over raw NDJSON.gz, ${label}`, "bytes", rawProfile.bytesRead),
      single(`top 100: files read via v_top_100, ${label}`, "files", viewProfile.filesRead),
      single(`top 100: bytes read via v_top_100, ${label}`, "bytes", viewProfile.bytesRead),
    ],
  };
}
