/**
 * `crypto-analytics transform --lake DIR [--hour ISO-8601 | --all]`: the hourly transform on the local lake,
 * with DuckDB as the engine and the lake folder as both the processed store and the manifest store.
 */
import { LocalObjectStore } from "../functions/localObjectStore";
import { HourPartition, LAKE_PREFIXES, partitionOf, partitionStart, timestampOfKey } from "../functions/partitions";
import { daysInMonth } from "../functions/sqlTemplate";
import { createLogger, Logger, MetricsEmitter } from "../functions/telemetry";
import { runTransform, TransformProgress, TransformSummary } from "../functions/transform";
import { DuckDbEngine } from "../local/duckdbEngine";

/** Arguments of {@link transformCommand}. */
export interface TransformCommandArgs {
  /** The lake folder. */
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
}

/** An ISO-8601 date-time down to at least the hour, with optional minutes, seconds, fraction and offset. */
const ISO_HOUR = /^(\d{4}-\d{2}-\d{2}T\d{2})(:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Runs the transform on a local lake. Without `hour` or `all` it behaves like the scheduled function: every
 * completed hour of the last 24 whose snapshots are not all materialised. `hour` and `all` name hours
 * explicitly (the current hour included); hours whose manifest already lists every snapshot are skipped.
 * Throws if both are given, if `hour` is not an ISO-8601 time, or if any hour fails (after the others ran).
 */
export async function transformCommand(args: TransformCommandArgs): Promise<TransformSummary> {
  if (args.hour !== undefined && args.all === true) throw new Error("--hour and --all exclude each other: pass one of them, or neither for the scheduled behaviour");
  const hours = args.hour !== undefined ? [hourOf(args.hour)] : undefined;
  const store = new LocalObjectStore(args.lake);
  const engine = await DuckDbEngine.open(args.lake);
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
    engine.close();
  }
}

/** The hour partition holding an ISO-8601 time; throws a clear Error for anything else. */
export function hourOf(iso: string): HourPartition {
  const m = ISO_HOUR.exec(iso.trim());
  const [year, month, day, hour] = (m?.[1] ?? "0-0-0T0").split(/[-T]/).map(Number);
  // Date.parse rolls 2023-02-29 over to March and reads T24:00 as the next day; only real hours are accepted.
  const exists = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour <= 23;
  const ms = m === null || !exists ? NaN : Date.parse(`${m[1]}${m[2] ?? ":00"}${m[5] ?? "Z"}`);
  if (!Number.isFinite(ms)) throw new Error(`--hour must be an ISO-8601 time such as 2024-09-03T07:00Z, got ${JSON.stringify(iso)}`);
  return partitionOf(Math.floor(ms / 1000));
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
