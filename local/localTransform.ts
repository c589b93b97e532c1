/**
 * The hourly transform on a local lake, with DuckDB as the engine and the lake folder as both the processed
 * store and the manifest store: what `crypto-analytics transform` runs, local mode's hourly job and the
 * benchmark's incremental run.
 */
import { LocalObjectStore } from "../functions/localObjectStore";
import { HourPartition, LAKE_PREFIXES, parseHour, partitionOf, partitionStart, timestampOfKey } from "../functions/partitions";
import { createLogger, Logger, MetricsEmitter } from "../functions/telemetry";
import { runTransform, TransformProgress, TransformSummary } from "../functions/transform";
import { DuckDbEngine } from "./duckdbEngine";
import { requireLake } from "./lakeFolder";

/** Arguments of {@link localTransform}. */
export interface LocalTransformArgs {
  /** The lake folder; must be a lake ({@link requireLake}). */
  lake: string;
  /** Materialise the hour holding this ISO-8601 time (UTC when it has no offset), e.g. `2024-09-03T07:00Z`. */
  hour?: string;
  /** Materialise every hour that has processed snapshots. Excludes `hour`. */
  all?: boolean;
  /** Log sink. Defaults to JSON lines on stderr, so stdout stays free for the command's own output. */
  logger?: Logger;
  /** Metrics sink. Defaults to none (local mode has no CloudWatch). */
  metrics?: MetricsEmitter;
  /** Clock in epoch milliseconds. Defaults to `Date.now`. */
  nowMs?: () => number;
  /** Progress after each hour (for a progress bar). Defaults to none. */
  onProgress?: (progress: TransformProgress) => void;
  /**
   * An engine already open on `lake`, used and left open (local mode keeps one across its hourly runs, so
   * a run does not pay DuckDB's start-up over the whole lake). Defaults to a new engine opened for this run
   * and closed after it.
   */
  engine?: DuckDbEngine;
}

/**
 * Runs the transform on a local lake. Without `hour` or `all` it behaves like the scheduled function: every
 * completed hour of the last 24 whose snapshots are not all materialised. `hour` and `all` name hours
 * explicitly (the current hour included); hours whose manifest already lists every snapshot are skipped.
 * Throws if both are given, if `hour` is not an ISO-8601 time, if the folder is not a lake, or if any hour
 * fails (after the others ran).
 */
export async function localTransform(args: LocalTransformArgs): Promise<TransformSummary> {
  if (args.hour !== undefined && args.all === true)
    throw new Error("--hour and --all exclude each other: pass one of them, or neither for the scheduled behaviour");
  const hours = args.hour !== undefined ? [parseHour(args.hour, "--hour")] : undefined;
  requireLake(args.lake);
  const store = new LocalObjectStore(args.lake);
  const engine = args.engine ?? (await DuckDbEngine.open(args.lake));
  try {
    return await runTransform(
      {
        processed: store,
        state: store,
        engine,
        renderInsert: (p) => engine.renderInsert(p),
        logger: args.logger ?? createLogger("transform", { sink: (line) => process.stderr.write(line + "\n") }),
        metrics: args.metrics ?? { emit: () => undefined },
        nowMs: args.nowMs ?? Date.now,
      },
      { hours: args.all === true ? await hoursWithData(store) : hours, onProgress: args.onProgress },
    );
  } finally {
    if (args.engine === undefined) engine.close();
  }
}

/** Every hour with at least one processed snapshot, oldest first. */
async function hoursWithData(store: LocalObjectStore): Promise<HourPartition[]> {
  const starts = new Set<number>();
  for (const key of await store.list(`${LAKE_PREFIXES.processed}/`)) {
    const t = timestampOfKey(key);
    if (t !== undefined && key.endsWith(".ndjson.gz")) starts.add(partitionStart(partitionOf(t)));
  }
  return [...starts].sort((a, b) => a - b).map(partitionOf);
}
