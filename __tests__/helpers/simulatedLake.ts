/**
 * Lakes for the SQL tests: simulated snapshots written through the real ingest path (runIngest into a
 * LocalObjectStore), and the processed rows read back independently of any SQL, for expected values.
 */
import * as fs from "fs";
import * as path from "path";
import { LocalObjectStore } from "../../functions/localObjectStore";
import { parseNdjsonGz } from "../../functions/ndjson";
import { LAKE_PREFIXES } from "../../functions/partitions";
import type { ProcessedRow } from "../../functions/schema";
import { ingestSimulatedHistory, MarketSimulator } from "../../local/simulator";
import { recorder } from "./factories";

/** What to simulate. */
export interface SimulatedLakeOptions {
  /** First snapshot, epoch seconds. */
  from: number;
  /** Last snapshot, epoch seconds (included). */
  to: number;
  /** Seconds between snapshots (a multiple of 300). */
  every: number;
  /** Coins per snapshot. */
  coins: number;
  /** Simulator seed; defaults to the simulator's. */
  seed?: number;
}

/** Writes simulated snapshots into `lake` through runIngest; returns the number of snapshots. */
export async function simulateInto(lake: string, options: SimulatedLakeOptions): Promise<number> {
  const { logger, metrics } = recorder();
  return ingestSimulatedHistory({
    store: new LocalObjectStore(lake),
    simulator: new MarketSimulator({ coins: options.coins, seed: options.seed }),
    fromEpochSeconds: options.from,
    toEpochSeconds: options.to,
    everySeconds: options.every,
    logger,
    metrics,
  });
}

/**
 * A processed row as parsed from the NDJSON (numbers as JSON numbers, nulls as null): the normaliser's
 * ProcessedRow, open to columns read by name.
 */
export type ParsedRow = ProcessedRow & { [column: string]: unknown };

/** Every processed row in the lake, read straight from the `.ndjson.gz` files. */
export function processedRows(lake: string): ParsedRow[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ndjson.gz")) files.push(full);
    }
  };
  walk(path.join(lake, LAKE_PREFIXES.processed));
  return files.flatMap((f) => parseNdjsonGz(new Uint8Array(fs.readFileSync(f))) as ParsedRow[]);
}

/** Every Parquet file under the lake's `analytics/`, as paths relative to the lake. */
export function analyticsFiles(lake: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const dir = path.join(lake, rel);
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(rel, entry.name));
      else out.push(path.join(rel, entry.name));
    }
  };
  walk(LAKE_PREFIXES.analytics);
  return out.sort();
}
