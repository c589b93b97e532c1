/**
 * The pieces of `crypto-analytics local` around the scheduler: the two jobs (ingest through runIngest,
 * transform through the transform command's DuckDB path), the repair of snapshots a stopped process or a
 * failed write left half-written (at start-up over the whole lake, before each transform over its
 * lookback), the removal of the temporary files and staging folders killed processes left, the simulated
 * backfill of an empty lake, and the lake lock that keeps two local runs from transforming the same hours
 * at once. Store, source and clock are injected, so fault injection can wrap any of them.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { localTransform } from "./localTransform";
import { FetchedPage, FetchedSnapshot, runIngest, SnapshotSource } from "../functions/ingest";
import { inFlightOwner, LOCAL_TEMP_DIR } from "../functions/localObjectStore";
import { ObjectStore } from "../functions/objectStore";
import {
  floorToHour,
  HOUR_SECONDS,
  hourPrefix,
  LAKE_PREFIXES,
  partitionOf,
  processedKey,
  rawKey,
  rawRequestKey,
  timestampOfKey,
} from "../functions/partitions";
import { errorFields, Logger, MetricsEmitter } from "../functions/telemetry";
import { DEFAULT_LOOKBACK_HOURS } from "../functions/transform";
import { DuckDbEngine, STAGING_DIR } from "./duckdbEngine";
import { Clock, SchedulerJobs } from "./scheduler";

/** Days of simulated history written when `local --source simulate` starts on an empty lake, so the 7-day charts have data at once. */
export const BACKFILL_DAYS = 7;

/** Cadence of that history: hourly keeps the first start short (about 170 snapshots) and gives the hourly 7-day lines every point. */
export const BACKFILL_EVERY_SECONDS = HOUR_SECONDS;

/** Hours back from the current one that the repair before each transform looks for half-written snapshots (the transform's lookback). */
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
  /**
   * A deterministic source that re-creates any past slot's exact pages (the simulator), for a half-written
   * snapshot whose stored pages do not prove themselves complete. Defaults to none: CoinGecko serves only
   * current prices.
   */
  regenerate?: SnapshotSource;
}

/**
 * The scheduler's jobs on a lake. `ingest` skips a slot whose processed snapshot exists (a restart within
 * the same 5 minutes fetches nothing, spending no API credit) and otherwise runs runIngest. `transform`
 * first repairs the lookback window (a write that failed while this process ran, such as a full disk,
 * left its slot in raw/ only), then runs the transform command: every hour with data for the catch-up,
 * the lookback window hourly, on one DuckDB engine opened by the first transform and kept until `close`.
 */
export function createLocalJobs(deps: LocalPipelineDeps): LocalJobs {
  // One engine for every run: opening DuckDB over the whole lake costs far more than an hourly run. Its
  // views re-read their globs at each statement, so files published after it opened are seen.
  let engine: Promise<DuckDbEngine> | undefined;
  return {
    async ingest(slot) {
      if ((await deps.store.get(processedKey(slot))) !== undefined) return "already in the lake";
      const r = await runIngest({
        store: deps.store,
        source: deps.source,
        scheduledTime: slot * 1000,
        vsCurrency: deps.vsCurrency,
        logger: deps.logger,
        metrics: deps.metrics,
      });
      return `${r.status}, ${r.coins} coins${r.dropped > 0 ? `, ${r.dropped} dropped` : ""}`;
    },
    async transform(reason) {
      const repair = await repairInterruptedSnapshots(deps, "lookback");
      engine ??= DuckDbEngine.open(deps.lake).catch((err: unknown) => {
        engine = undefined;
        throw err;
      });
      const s = await localTransform({
        lake: deps.lake,
        all: reason === "catch-up",
        logger: deps.logger,
        metrics: deps.metrics,
        nowMs: () => deps.clock.now(),
        engine: await engine,
      });
      const repairNotes = [
        ...(repair.repaired.length > 0 ? [`${repair.repaired.length} half-written snapshot(s) finished`] : []),
        ...(repair.unrecoverable.length > 0 ? [`${repair.unrecoverable.length} left in raw/ only`] : []),
      ];
      return [
        ...repairNotes,
        `${s.hours.length} hour(s) materialised, ${s.rowsMaterialised} rows, ${s.hoursCaughtUp} caught up, lag ${s.lagHours} h`,
      ].join(", ");
    },
    async close() {
      const open = engine;
      engine = undefined;
      (await open?.catch(() => undefined))?.close();
    },
  };
}

/** The scheduler's jobs of {@link createLocalJobs}, holding the transform's DuckDB engine between runs. */
export interface LocalJobs extends SchedulerJobs {
  /** Closes the transform's engine (opened by the first transform); call once the scheduler has returned. */
  close(): Promise<void>;
}

/** Outcome of {@link repairInterruptedSnapshots}. */
export interface RepairResult {
  /** Slots whose processed snapshot was rebuilt, ascending. */
  repaired: number[];
  /** Slots with raw pages but no processed snapshot that could not be rebuilt (logged), ascending. */
  unrecoverable: number[];
}

/** Where {@link repairInterruptedSnapshots} looks: the whole lake, or the current hour and the {@link REPAIR_LOOKBACK_HOURS} before it. */
export type RepairScope = "lake" | "lookback";

/**
 * Finishes snapshots left with raw pages but no processed object (a process stopped between the writes,
 * or a write failed), over `scope`: `local` repairs the whole lake at start-up (a restart may come days
 * after the kill) and the lookback before each transform (cheap: two listings per hour). The snapshot is
 * rebuilt through runIngest from the stored bytes, without a fetch, when they prove themselves complete:
 * the request record lists every page, or, without a record, page 1 is stored (runIngest stores it after
 * every other page) and the pages run 1..n without a gap. Otherwise (a process stopped between the pages
 * of a multi-page snapshot) `deps.regenerate`, a deterministic source, re-creates the slot's identical
 * bytes; with none (CoinGecko cannot answer for a past slot) the slot is logged and left as it is.
 */
export async function repairInterruptedSnapshots(deps: Omit<LocalPipelineDeps, "source">, scope: RepairScope): Promise<RepairResult> {
  const result: RepairResult = { repaired: [], unrecoverable: [] };
  for (const area of repairAreas(deps.clock, scope)) {
    const processed = new Set((await deps.store.list(area.processed)).map(timestampOfKey));
    const pagesBySlot = new Map<number, Set<string>>();
    for (const key of await deps.store.list(area.raw)) {
      const slot = timestampOfKey(key);
      if (slot !== undefined && !processed.has(slot)) pagesBySlot.set(slot, (pagesBySlot.get(slot) ?? new Set()).add(key));
    }
    for (const [slot, pageKeys] of [...pagesBySlot].sort(([a], [b]) => a - b)) {
      const source = (await storedRawSource(deps.store, slot, pageKeys, deps.logger)) ?? deps.regenerate;
      if (source === undefined) {
        deps.logger.warn(
          "raw pages left as is: without page 1 or a request record they may be incomplete, and CoinGecko cannot serve a past slot",
          { timestamp: slot, pages: [...pageKeys].sort() },
        );
        result.unrecoverable.push(slot);
        continue;
      }
      try {
        await runIngest({
          store: deps.store,
          source,
          scheduledTime: slot * 1000,
          vsCurrency: deps.vsCurrency,
          logger: deps.logger,
          metrics: deps.metrics,
        });
        result.repaired.push(slot);
      } catch (err) {
        deps.logger.error("repair of an interrupted snapshot failed", { timestamp: slot, ...errorFields(err) });
        result.unrecoverable.push(slot);
      }
    }
  }
  return result;
}

/** The raw and processed prefixes a repair of `scope` lists, oldest first. */
function repairAreas(clock: Clock, scope: RepairScope): { raw: string; processed: string }[] {
  if (scope === "lake") return [{ raw: `${LAKE_PREFIXES.raw}/`, processed: `${LAKE_PREFIXES.processed}/` }];
  const currentHour = floorToHour(Math.floor(clock.now() / 1000));
  const areas = [];
  for (let hour = currentHour - REPAIR_LOOKBACK_HOURS * HOUR_SECONDS; hour <= currentHour; hour += HOUR_SECONDS) {
    const p = partitionOf(hour);
    areas.push({ raw: hourPrefix("raw", p), processed: hourPrefix("processed", p) });
  }
  return areas;
}

/**
 * What the request record of a snapshot rebuilt from its raw pages alone says was asked: the process
 * stopped before writing the real record, so only the stored pages are known.
 */
const REBUILT_REQUEST = { rebuiltFrom: "the stored raw pages; the process stopped before writing this record" };

/**
 * A source replaying a slot's stored raw pages (`pageKeys`, every raw page key of the slot): as its request
 * record lists them, or, without a record, pages 1..n when page 1 is stored and they have no gap. Undefined
 * when the pages do not prove themselves complete or the record is unreadable.
 */
async function storedRawSource(
  store: ObjectStore,
  slot: number,
  pageKeys: ReadonlySet<string>,
  logger: Logger,
): Promise<SnapshotSource | undefined> {
  const bytes = await store.get(rawRequestKey(slot));
  if (bytes === undefined) return pagesSource(store, slot, pageKeys);
  try {
    const record = JSON.parse(Buffer.from(bytes).toString("utf8")) as {
      pages?: { page?: unknown; key?: unknown }[];
      request?: Record<string, unknown>;
      fetchedAt?: unknown;
    };
    const listed = record.pages ?? [];
    if (listed.length === 0) throw new Error("the record lists no pages");
    const pages = [];
    for (const entry of listed) {
      if (typeof entry.key !== "string" || typeof entry.page !== "number") throw new Error("a page entry lacks its key or number");
      const body = await store.get(entry.key);
      if (body === undefined) throw new Error(`page ${entry.page} (${entry.key}) is missing`);
      pages.push({ page: entry.page, body });
    }
    const snapshot: FetchedSnapshot = {
      pages,
      request: record.request ?? {},
      fetchedAt: String(record.fetchedAt),
      retries: 0,
      latencyMs: 0,
    };
    return async () => snapshot;
  } catch (err) {
    logger.warn("unreadable request record: the raw snapshot cannot be replayed from it", { timestamp: slot, ...errorFields(err) });
    return undefined;
  }
}

/** The record-less case of {@link storedRawSource}. */
async function pagesSource(store: ObjectStore, slot: number, pageKeys: ReadonlySet<string>): Promise<SnapshotSource | undefined> {
  const pages: FetchedPage[] = [];
  for (let page = 1; pageKeys.has(rawKey(slot, page)); page += 1) {
    const body = await store.get(rawKey(slot, page));
    if (body === undefined) return undefined;
    pages.push({ page, body });
  }
  if (pages.length === 0 || pages.length !== pageKeys.size) return undefined;
  const snapshot: FetchedSnapshot = { pages, request: REBUILT_REQUEST, fetchedAt: "unknown", retries: 0, latencyMs: 0 };
  return async () => snapshot;
}

/**
 * Removes what killed processes left in the lake's in-flight areas: temporary files under
 * {@link LOCAL_TEMP_DIR} and staging folders under {@link STAGING_DIR} whose `<pid>-<uuid>` name (given by
 * the store and the engine) carries the pid of a process that no longer runs. A running process's
 * entries, and entries named otherwise, are never touched, so a `simulate` or `transform` writing to the
 * lake meanwhile loses nothing. `local` runs it at start-up, holding the lake lock. Resolves the removed
 * entries, lake-relative, `.tmp/` ones first, each area sorted.
 */
export async function removeAbandonedWrites(lake: string): Promise<string[]> {
  const removed: string[] = [];
  for (const area of [LOCAL_TEMP_DIR, STAGING_DIR]) {
    let names: string[];
    try {
      names = await fs.readdir(path.join(lake, area));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    for (const name of names.sort()) {
      const pid = inFlightOwner(name);
      if (pid === undefined || processIsAlive(pid)) continue;
      await fs.rm(path.join(lake, area, name), { recursive: true, force: true });
      removed.push(`${area}/${name}`);
    }
  }
  return removed;
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
      throw new Error(
        `lake ${lake} is in use by another crypto-analytics local (pid ${Number.isInteger(pid) && pid > 0 ? pid : "unknown"}); stop it first, or remove ${file} if no such process runs`,
      );
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
