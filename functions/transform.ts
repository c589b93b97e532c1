/**
 * The hourly transform, engine-agnostic: decides which hours of processed snapshots still need to be
 * materialised into analytics_prices, runs the rendered INSERT for each through a {@link QueryEngine}
 * (Athena in AWS, DuckDB locally) and records what it did in a small manifest object per hour. Tracking
 * lives in the manifests, never in a scan of the table, so deciding costs one LIST and one GET per hour.
 *
 * Safety: the manifest is written only after the statement succeeded, and the SQL itself skips rows the
 * analytics hour already holds, so a crash between the two (or a retry) re-runs the hour harmlessly.
 */
import { createHash } from "node:crypto";
import { ObjectStore } from "./objectStore";
import {
  floorToHour,
  HOUR_SECONDS,
  HourPartition,
  hourPrefix,
  LAKE_PREFIXES,
  partitionOf,
  partitionPath,
  partitionStart,
  timestampOfKey,
} from "./partitions";
import { QueryEngine } from "./queryEngine";
import { checkHourPartition } from "./sqlTemplate";
import { errorFields, Logger, MetricsEmitter } from "./telemetry";

/** Hours before the current one that a scheduled run checks for unmaterialised snapshots. */
export const DEFAULT_LOOKBACK_HOURS = 24;

/** File name of an hour's manifest under {@link LAKE_PREFIXES.manifests}. */
export const MANIFEST_FILE = "manifest.json";

/** Version written into manifests, so a future layout can be told apart. */
export const MANIFEST_VERSION = 1;

/** What the transform needs; the Lambda passes S3 + Athena, local mode a folder + DuckDB. */
export interface TransformDeps {
  /** Store holding `processed/` snapshots (listed per hour). */
  processed: ObjectStore;
  /** Store for the per-hour manifests (`manifests/transform/...`). */
  state: ObjectStore;
  /** Engine that runs the rendered statement. */
  engine: QueryEngine;
  /** The statement that materialises one hour (the engine's insert template, rendered for the hour). */
  renderInsert(p: HourPartition): string;
  /** Structured log sink; every query id is logged. */
  logger: Logger;
  /** EMF sink; one record per run. */
  metrics: MetricsEmitter;
  /** Current time in epoch milliseconds (decides the current hour and the lookback window). */
  nowMs(): number;
  /** Hours before the current one a scheduled run looks at. Defaults to {@link DEFAULT_LOOKBACK_HOURS}. */
  lookbackHours?: number;
}

/** Progress of a run, reported after each hour (for progress bars). */
export interface TransformProgress {
  /** Hours looked at so far. */
  done: number;
  /** Hours the run looks at. */
  total: number;
  /** The hour just looked at. */
  partition: HourPartition;
  /** Rows written so far in this run. */
  rowsMaterialised: number;
}

/** Options of {@link runTransform}. */
export interface TransformOptions {
  /**
   * Exactly these hours instead of the lookback window (CLI `--hour`/`--all`): they may lie outside the
   * window and may include the current, incomplete hour. Hours whose manifest already lists every
   * snapshot are still skipped. Defaults to the scheduled behaviour.
   */
  hours?: HourPartition[];
  /** Called after each hour. Defaults to none. */
  onProgress?: (progress: TransformProgress) => void;
}

/** One hour the run materialised. */
export interface TransformedHour {
  partition: HourPartition;
  /** Processed snapshots the hour holds (all of them were read; rows already present were skipped). */
  snapshots: number;
  /** Rows the statement appended. */
  rowsWritten: number;
  /** Engine id of the statement, when the engine reports one. */
  queryId?: string;
}

/** Outcome of {@link runTransform}. */
export interface TransformSummary {
  /** Hours materialised by this run, oldest first. */
  hours: TransformedHour[];
  /** Rows appended over all hours. */
  rowsMaterialised: number;
  /** Materialised hours older than the last completed hour (late data, outages, first runs). */
  hoursCaughtUp: number;
  /**
   * Whole hours between the end of the newest hour that has snapshots and is fully materialised and the
   * start of the current hour: 0 when the last completed hour is done. When no examined hour qualifies,
   * the number of hours examined back from the current hour (the lookback by default).
   */
  lagHours: number;
}

/** The per-hour record of materialised snapshots. */
export interface TransformManifest {
  version: number;
  /** `year=.../month=.../day=.../hour=...`. */
  partition: string;
  /** Snapshot timestamps (epoch seconds) whose rows are in analytics_prices, ascending. */
  snapshots: number[];
  /** ISO-8601 time of the last update. */
  updatedAt: string;
  /** Engine id of the statement that last updated the hour, when known. */
  queryId?: string;
}

/** Key of an hour's manifest: `manifests/transform/year=.../month=.../day=.../hour=.../manifest.json`. */
export function manifestKey(p: HourPartition): string {
  return `${LAKE_PREFIXES.manifests}/${partitionPath(p)}/${MANIFEST_FILE}`;
}

/**
 * Idempotency key of one hour's statement (Athena ClientRequestToken, 32..128 characters): a SHA-256 hex
 * digest of the hour, the snapshot set it reads and the hour the run was started in. Retries of one run
 * (Lambda's async retries, an SDK resend) reuse it, so they re-attach to an execution still running or
 * succeeded instead of starting a second one, and after a FAILED or CANCELLED one the engine starts the
 * key's next attempt (see AthenaQueryEngine); a later scheduled run gets a new key and starts afresh.
 */
export function transformIdempotencyKey(p: HourPartition, snapshots: readonly number[], runEpochSeconds: number): string {
  const material = `${partitionPath(p)}|${[...snapshots].sort((a, b) => a - b).join(",")}|run=${floorToHour(runEpochSeconds)}`;
  return createHash("sha256").update(material).digest("hex");
}

/**
 * Materialises hours: by default every completed hour of the lookback window whose processed snapshots
 * are not all listed in its manifest (the current, incomplete hour is left for a later run); with
 * `options.hours`, those hours. Hours run one at a time, oldest first. An hour that fails is logged and the
 * others still run; the run then throws an Error naming every failed hour, after emitting its metrics
 * (rowsMaterialised, hoursMaterialised, hoursCaughtUp, transformLagHours).
 */
export async function runTransform(deps: TransformDeps, options: TransformOptions = {}): Promise<TransformSummary> {
  const { logger } = deps;
  const lookbackHours = deps.lookbackHours ?? DEFAULT_LOOKBACK_HOURS;
  if (!Number.isInteger(lookbackHours) || lookbackHours < 1)
    throw new Error(`lookbackHours must be a positive integer, got ${lookbackHours}`);
  const nowSeconds = Math.floor(deps.nowMs() / 1000);
  const currentHourStart = floorToHour(nowSeconds);
  const lastCompletedStart = currentHourStart - HOUR_SECONDS;
  const candidates = options.hours
    ? uniqueHours(options.hours.map(checkHourPartition))
    : Array.from({ length: lookbackHours }, (_, i) => partitionOf(currentHourStart - (lookbackHours - i) * HOUR_SECONDS));

  const hours: TransformedHour[] = [];
  const failures: string[] = [];
  const complete: number[] = [];
  let rowsMaterialised = 0;
  for (const [index, partition] of candidates.entries()) {
    const path = partitionPath(partition);
    try {
      const snapshots = await snapshotsOf(deps.processed, partition);
      const manifest = await readManifest(deps.state, partition, logger);
      const recorded = new Set(manifest?.snapshots ?? []);
      const pending = snapshots.filter((t) => !recorded.has(t));
      if (snapshots.length > 0 && pending.length === 0) complete.push(partitionStart(partition));
      if (pending.length > 0) {
        const idempotencyKey = transformIdempotencyKey(partition, snapshots, nowSeconds);
        const result = await deps.engine.execute(deps.renderInsert(partition), { idempotencyKey });
        const rowsWritten = result.rowsWritten ?? 0;
        const done: TransformManifest = {
          version: MANIFEST_VERSION,
          partition: path,
          snapshots: [...new Set([...recorded, ...snapshots])].sort((a, b) => a - b),
          updatedAt: new Date(deps.nowMs()).toISOString(),
          ...(result.queryId !== undefined ? { queryId: result.queryId } : {}),
        };
        await deps.state.put(manifestKey(partition), JSON.stringify(done, null, 2) + "\n", { contentType: "application/json" });
        complete.push(partitionStart(partition));
        hours.push({
          partition,
          snapshots: snapshots.length,
          rowsWritten,
          ...(result.queryId !== undefined ? { queryId: result.queryId } : {}),
        });
        rowsMaterialised += rowsWritten;
        logger.info("hour materialised", {
          partition: path,
          snapshots: snapshots.length,
          newSnapshots: pending.length,
          rowsWritten,
          queryId: result.queryId,
          idempotencyKey,
        });
      }
    } catch (err) {
      failures.push(`${path}: ${err instanceof Error ? err.message : String(err)}`);
      logger.error("hour failed", { partition: path, ...errorFields(err), ...queryIdOf(err) });
    }
    options.onProgress?.({ done: index + 1, total: candidates.length, partition, rowsMaterialised });
  }

  const newestComplete = complete.length > 0 ? Math.max(...complete) : undefined;
  const oldestExamined =
    candidates.length > 0 ? Math.min(...candidates.map(partitionStart)) : currentHourStart - lookbackHours * HOUR_SECONDS;
  const lagFrom = newestComplete !== undefined ? newestComplete + HOUR_SECONDS : oldestExamined;
  const summary: TransformSummary = {
    hours: hours.sort((a, b) => partitionStart(a.partition) - partitionStart(b.partition)),
    rowsMaterialised,
    hoursCaughtUp: hours.filter((h) => partitionStart(h.partition) < lastCompletedStart).length,
    lagHours: Math.max(0, Math.floor((currentHourStart - lagFrom) / HOUR_SECONDS)),
  };
  deps.metrics.emit({
    rowsMaterialised: summary.rowsMaterialised,
    hoursMaterialised: summary.hours.length,
    hoursCaughtUp: summary.hoursCaughtUp,
    transformLagHours: summary.lagHours,
  });
  logger.info("transform run finished", {
    hoursExamined: candidates.length,
    hoursMaterialised: summary.hours.length,
    rowsMaterialised,
    hoursCaughtUp: summary.hoursCaughtUp,
    lagHours: summary.lagHours,
    failedHours: failures.length,
  });
  if (failures.length > 0) throw new Error(`transform failed for ${failures.length} hour(s): ${failures.join("; ")}`);
  return summary;
}

/** Snapshot timestamps of an hour's processed objects, ascending; keys of other hours or names are ignored. */
async function snapshotsOf(store: ObjectStore, p: HourPartition): Promise<number[]> {
  const start = partitionStart(p);
  const timestamps = (await store.list(hourPrefix("processed", p)))
    .filter((key) => key.endsWith(".ndjson.gz"))
    .map(timestampOfKey)
    .filter((t): t is number => t !== undefined && floorToHour(t) === start);
  return [...new Set(timestamps)].sort((a, b) => a - b);
}

/**
 * An hour's manifest, or undefined when there is none. An unreadable manifest is logged and treated as
 * absent: the hour is materialised again, which the SQL's dedup makes harmless. Also read by
 * `crypto-analytics verify`, to see that the transform recorded the slot it just ingested.
 */
export async function readManifest(store: ObjectStore, p: HourPartition, logger: Logger): Promise<TransformManifest | undefined> {
  const bytes = await store.get(manifestKey(p));
  if (bytes === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(bytes).toString("utf8")) as Partial<TransformManifest>;
    if (!Array.isArray(parsed.snapshots) || !parsed.snapshots.every((t) => Number.isInteger(t)))
      throw new Error("snapshots is not a list of integers");
    return parsed as TransformManifest;
  } catch (err) {
    logger.warn("unreadable manifest ignored; the hour will be materialised again", { key: manifestKey(p), ...errorFields(err) });
    return undefined;
  }
}

/** Distinct hours, oldest first. */
function uniqueHours(hours: HourPartition[]): HourPartition[] {
  const byStart = new Map(hours.map((h) => [partitionStart(h), h]));
  return [...byStart.keys()].sort((a, b) => a - b).map((start) => byStart.get(start) as HourPartition);
}

/** The engine's query id carried by an error (Athena failures carry one), for the log line. */
function queryIdOf(err: unknown): Record<string, unknown> {
  const id = (err as { queryId?: unknown } | null)?.queryId;
  return typeof id === "string" ? { queryId: id } : {};
}
