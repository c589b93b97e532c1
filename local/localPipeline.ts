/**
 * The pieces of `crypto-analytics local` around the scheduler: the two jobs (ingest through runIngest,
 * transform through the transform command's DuckDB path), the start-up repair of snapshots a stopped
 * process left half-written, the simulated backfill of an empty lake, and the lake lock that keeps two
 * local runs from transforming the same hours at once. Store, source and clock are injected, so fault
 * injection can wrap any of them.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { transformCommand } from "../cli/transformCommand";
import { FetchedSnapshot, runIngest, SnapshotSource } from "../functions/ingest";
import { ObjectStore } from "../functions/objectStore";
import { floorToHour, HOUR_SECONDS, hourPrefix, LAKE_PREFIXES, partitionOf, processedKey, rawRequestKey, timestampOfKey } from "../functions/partitions";
import { errorFields, Logger, MetricsEmitter } from "../functions/telemetry";
import { DEFAULT_LOOKBACK_HOURS } from "../functions/transform";
import { Clock, SchedulerJobs } from "./scheduler";

/** Days of simulated history written when `local --source simulate` starts on an empty lake, so the 7-day charts have data at once. */
export const BACKFILL_DAYS = 7;

/** Cadence of that history: hourly keeps the first start short (about 170 snapshots) and gives the hourly 7-day lines every point. */
export const BACKFILL_EVERY_SECONDS = HOUR_SECONDS;

/** Hours back from the current one that the start-up repair looks for half-written snapshots (the transform's lookback). */
export const REPAIR_LOOKBACK_HOURS = DEFAULT_LOOKBACK_HOURS;

/** Lock file at the lake root holding the pid of the `local` process that runs on the lake. */
export const LAKE_LOCK_FILE = ".local.lock";

/** What the jobs and the repair work with. */
export interface LocalPipelineDeps {
  /** The lake folder (the transform and the dashboard read it through DuckDB). */
  lake: string;
  /** Where snapshots are written; a LocalObjectStore on `lake`, or a wrapper of one. */
  store: ObjectStore;
  /** Where snapshots come from: CoinGecko or the simulator. */
  source: SnapshotSource;
  /** Quote currency the source was configured with. */
  vsCurrency: string;
  /** The scheduler's clock: decides the transform's current hour. */
  clock: Clock;
  /** JSON log sink of the runtime code. */
  logger: Logger;
  /** EMF sink (local mode has no CloudWatch: usually a no-op). */
  metrics: MetricsEmitter;
}

/**
 * The scheduler's jobs on a lake. `ingest` skips a slot whose processed snapshot exists (a restart within
 * the same 5 minutes fetches nothing, spending no API credit) and otherwise runs runIngest. `transform`
 * runs the transform command: every hour with data for the catch-up, the lookback window hourly.
 */
export function createLocalJobs(deps: LocalPipelineDeps): SchedulerJobs {
  return {
    async ingest(slot) {
      if ((await deps.store.get(processedKey(slot))) !== undefined) return "already in the lake";
      const r = await runIngest({ store: deps.store, source: deps.source, scheduledTime: slot * 1000, vsCurrency: deps.vsCurrency, logger: deps.logger, metrics: deps.metrics });
      return `${r.status}, ${r.coins} coins${r.dropped > 0 ? `, ${r.dropped} dropped` : ""}`;
    },
    async transform(reason) {
      const s = await transformCommand({ lake: deps.lake, all: reason === "catch-up", logger: deps.logger, metrics: deps.metrics, nowMs: () => deps.clock.now() });
      return `${s.hours.length} hour(s) materialised, ${s.rowsMaterialised} rows, ${s.hoursCaughtUp} caught up, lag ${s.lagHours} h`;
    },
  };
}

/** Outcome of {@link repairInterruptedSnapshots}. */
export interface RepairResult {
  /** Slots whose processed snapshot was rebuilt, ascending. */
  repaired: number[];
  /** Slots with raw pages but no processed snapshot that could not be rebuilt (logged), ascending. */
  unrecoverable: number[];
}

/**
 * Finishes snapshots a stopped process left with raw pages but no processed object (it died between the
 * writes), over the current hour and the {@link REPAIR_LOOKBACK_HOURS} before it. When the request record
 * exists every raw page was stored, so the snapshot is rebuilt from those exact bytes through runIngest,
 * without a fetch. Without the record the pages may be incomplete: `regenerate`, a deterministic source
 * (the simulator), re-creates the slot's identical bytes; with none (CoinGecko cannot answer for a past
 * slot) the slot is logged and left as it is.
 */
export async function repairInterruptedSnapshots(deps: Omit<LocalPipelineDeps, "source">, regenerate?: SnapshotSource): Promise<RepairResult> {
  const result: RepairResult = { repaired: [], unrecoverable: [] };
  const currentHour = floorToHour(Math.floor(deps.clock.now() / 1000));
  for (let hour = currentHour - REPAIR_LOOKBACK_HOURS * HOUR_SECONDS; hour <= currentHour; hour += HOUR_SECONDS) {
    const p = partitionOf(hour);
    const processed = new Set((await deps.store.list(hourPrefix("processed", p))).map(timestampOfKey));
    const rawSlots = (await deps.store.list(hourPrefix("raw", p)))
      .map((key) => ({ key, t: timestampOfKey(key) }))
      .filter((k): k is { key: string; t: number } => k.t !== undefined && k.key.endsWith(`/${k.t}.json`))
      .map((k) => k.t);
    for (const slot of rawSlots.filter((t) => !processed.has(t))) {
      const source = (await storedRawSource(deps.store, slot, deps.logger)) ?? regenerate;
      if (source === undefined) {
        deps.logger.warn("raw snapshot without request record left as is: its pages may be incomplete and CoinGecko cannot serve a past slot", { timestamp: slot });
        result.unrecoverable.push(slot);
        continue;
      }
      try {
        await runIngest({ store: deps.store, source, scheduledTime: slot * 1000, vsCurrency: deps.vsCurrency, logger: deps.logger, metrics: deps.metrics });
        result.repaired.push(slot);
      } catch (err) {
        deps.logger.error("repair of an interrupted snapshot failed", { timestamp: slot, ...errorFields(err) });
        result.unrecoverable.push(slot);
      }
    }
  }
  return result;
}

/**
 * A source replaying a slot's stored raw pages, as its request record lists them; undefined when the slot
 * has no readable record or a listed page is missing.
 */
async function storedRawSource(store: ObjectStore, slot: number, logger: Logger): Promise<SnapshotSource | undefined> {
  const bytes = await store.get(rawRequestKey(slot));
  if (bytes === undefined) return undefined;
  try {
    const record = JSON.parse(Buffer.from(bytes).toString("utf8")) as { pages?: { page?: unknown; key?: unknown }[]; request?: Record<string, unknown>; fetchedAt?: unknown };
    const listed = record.pages ?? [];
    if (listed.length === 0) throw new Error("the record lists no pages");
    const pages = [];
    for (const entry of listed) {
      if (typeof entry.key !== "string" || typeof entry.page !== "number") throw new Error("a page entry lacks its key or number");
      const body = await store.get(entry.key);
      if (body === undefined) throw new Error(`page ${entry.page} (${entry.key}) is missing`);
      pages.push({ page: entry.page, body });
    }
    const snapshot: FetchedSnapshot = { pages, request: record.request ?? {}, fetchedAt: String(record.fetchedAt), retries: 0, latencyMs: 0 };
    return async () => snapshot;
  } catch (err) {
    logger.warn("unreadable request record: the raw snapshot cannot be replayed from it", { timestamp: slot, ...errorFields(err) });
    return undefined;
  }
}

/** Whether the lake holds no processed snapshot yet (a fresh lake: `processed/` absent or empty). */
export async function lakeIsEmpty(lake: string): Promise<boolean> {
  try {
    return (await fs.readdir(path.join(lake, LAKE_PREFIXES.processed))).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw err;
  }
}

/**
 * Takes the lake's lock ({@link LAKE_LOCK_FILE}, holding this pid) and resolves its release. A lock whose
 * process is gone (killed, machine restarted) is taken over. Throws when a live process holds it: two
 * local runs would materialise the same hours concurrently and duplicate rows.
 */
export async function acquireLakeLock(lake: string): Promise<() => Promise<void>> {
  await fs.mkdir(lake, { recursive: true });
  const file = path.join(lake, LAKE_LOCK_FILE);
  for (;;) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: "wx" });
      return () => fs.rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = Number((await fs.readFile(file, "utf8").catch(() => "")).trim());
    // An unreadable pid may be a lock being written this instant: only a provably dead holder is replaced.
    if (!Number.isInteger(pid) || pid <= 0 || processIsAlive(pid)) {
      throw new Error(`lake ${lake} is in use by another crypto-analytics local (pid ${Number.isInteger(pid) && pid > 0 ? pid : "unknown"}); stop it first, or remove ${file} if no such process runs`);
    }
    await fs.rm(file, { force: true });
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
