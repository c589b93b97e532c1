/**
 * The local transform on DuckDB, run the way local mode runs it (the transform command: open DuckDB over the
 * lake, decide hours from the manifests, one Parquet COPY per hour): a full materialisation of a lake's
 * whole history, and the hourly incremental run, where one new snapshot has arrived in the hour before the
 * current one after everything else was materialised. DuckDB's start-up over the lake is timed on its own,
 * as it is part of every local run but not of the deployed function (which drives Athena).
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { localTransform } from "../local/localTransform";
import { hourPrefix, LAKE_PREFIXES, partitionOf, partitionPath, processedKey } from "../functions/partitions";
import { manifestKey } from "../functions/transform";
import { createLogger } from "../functions/telemetry";
import { DuckDbEngine, STAGING_DIR } from "../local/duckdbEngine";
import { linkKey } from "./lakes";
import { Figure, summarize, timeRuns } from "./stats";

/** A log sink that keeps the benchmark's output to its table. */
const silentLogger = createLogger("bench-transform", { sink: () => undefined });

/** Deletes everything the transform wrote, so the next run materialises the whole lake again. */
export async function clearMaterialisation(lake: string): Promise<void> {
  for (const area of [LAKE_PREFIXES.analytics, LAKE_PREFIXES.manifests, STAGING_DIR])
    await fs.rm(path.join(lake, ...area.split("/")), { recursive: true, force: true });
}

/**
 * Times `runs` full materialisations of `lake` (`transform --all` with the clock at `nowMs`), clearing the
 * previous run's output first; the last run's output stays. `label` names the history, e.g. `30 days`.
 */
export async function measureFullMaterialisation(lake: string, label: string, runs: number, nowMs: number): Promise<Figure[]> {
  const rows: number[] = [];
  const hours: number[] = [];
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    await clearMaterialisation(lake);
    const [ms] = await timeRuns(1, async () => {
      const summary = await localTransform({ lake, all: true, logger: silentLogger, nowMs: () => nowMs });
      rows.push(summary.rowsMaterialised);
      hours.push(summary.hours.length);
    });
    samples.push(ms);
  }
  return [
    summarize(`transform: full materialisation, ${label} (${hours[0]} hours, ${rows[0]} rows)`, "ms", samples),
    summarize(
      `transform: full materialisation rate, ${label}`,
      "rows/s",
      samples.map((ms, i) => rows[i] / (ms / 1000)),
    ),
  ];
}

/** Result of {@link measureIncremental}. */
export interface IncrementalBench {
  figures: Figure[];
  /** Median of the incremental runs, ms. */
  medianMs: number;
}

/**
 * The hourly incremental run, once per held-out snapshot: the snapshot's processed object is linked into
 * `lake` from `cacheDir` (it arrives), then the scheduled transform runs with the clock at `nowMs` and
 * must materialise exactly that hour. Each run appends a Parquet file to the hour, so the hour is then
 * materialised again as one file, as the scheduled transform leaves a completed hour. The runs share one
 * open engine, as local mode's scheduled transforms do; opening DuckDB over the lake is timed apart,
 * `openRuns` times.
 */
export async function measureIncremental(
  cacheDir: string,
  lake: string,
  heldOut: readonly number[],
  label: string,
  openRuns: number,
  nowMs: number,
): Promise<IncrementalBench> {
  if (heldOut.length === 0) throw new Error("the incremental run needs at least one held-out snapshot");
  // Local mode keeps one engine open across its scheduled runs, so the engine's start is timed apart.
  const engine = await DuckDbEngine.open(lake);
  let incremental: number[];
  try {
    incremental = await timeRuns(heldOut.length, async (i) => {
      await linkKey(cacheDir, lake, processedKey(heldOut[i]));
      const summary = await localTransform({ lake, engine, logger: silentLogger, nowMs: () => nowMs });
      if (summary.hours.length !== 1 || summary.rowsMaterialised === 0) {
        throw new Error(
          `incremental run ${i} materialised ${summary.hours.length} hours and ${summary.rowsMaterialised} rows; expected one hour with the new snapshot's rows`,
        );
      }
    });
  } finally {
    engine.close();
  }
  await rematerialiseHour(lake, heldOut[0], nowMs);
  const open = await timeRuns(openRuns, async () => (await DuckDbEngine.open(lake)).close());
  const figure = summarize(`transform: hourly incremental run, ${label} (scheduled run on local mode's open engine)`, "ms", incremental);
  return {
    medianMs: figure.median,
    figures: [figure, summarize(`transform: of which DuckDB start over the lake, ${label}`, "ms", open)],
  };
}

/** Deletes the analytics files and manifest of the hour holding `slot` and materialises it again in one statement. */
async function rematerialiseHour(lake: string, slot: number, nowMs: number): Promise<void> {
  const hour = partitionOf(slot);
  await fs.rm(path.join(lake, ...hourPrefix("analytics", hour).split("/")), { recursive: true, force: true });
  await fs.rm(path.join(lake, ...manifestKey(hour).split("/")), { force: true });
  const summary = await localTransform({ lake, hour: new Date(slot * 1000).toISOString(), logger: silentLogger, nowMs: () => nowMs });
  if (summary.hours.length !== 1) throw new Error(`re-materialising ${partitionPath(hour)} materialised ${summary.hours.length} hours`);
}
