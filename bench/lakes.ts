/**
 * The benchmark's lakes. Simulated history is written once through the real ingest path
 * (ingestSimulatedHistory → runIngest → LocalObjectStore) into a cache folder keyed by its parameters, and
 * rolled forward on later runs: slots that fell out of the history are deleted and the new ones since the
 * last run are ingested, so the history always ends at the current slot (the views are bounded to the
 * engine clock's last days) while a rerun costs only the snapshots of the time in between.
 *
 * The lakes a benchmark measures are "work lakes": fresh folders whose `processed/` files are hard links
 * to the cache's (no copy, and the cache is never written through them), which the transform then
 * materialises into their own `analytics/` and `manifests/`.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { LocalObjectStore } from "../functions/localObjectStore";
import { LAKE_PREFIXES, timestampOfKey } from "../functions/partitions";
import { createLogger, createMetrics } from "../functions/telemetry";
import { ingestSimulatedHistory, MarketSimulator } from "../local/simulator";

/** Seconds in a day. */
export const DAY_SECONDS = 86_400;

/** What a cached history holds. */
export interface HistorySpec {
  /** Days of history ending at the current slot. */
  days: number;
  /** Seconds between snapshots, a multiple of 300. */
  everySeconds: number;
  /**
   * Newest days written at {@link denseEverySeconds} instead (the part of the history the views can read,
   * at production density, while older days stay cheap to build and materialise). 0 for none.
   */
  denseDays: number;
  /** Seconds between snapshots in the dense days, a multiple of 300 dividing {@link everySeconds}. */
  denseEverySeconds: number;
  /** Coins per snapshot. */
  coins: number;
  /** Simulator seed. */
  seed: number;
}

/** A cached history after {@link cachedHistory}. */
export interface CachedHistory {
  /** The cache folder (a lake with `raw/` and `processed/`). */
  dir: string;
  /** Every snapshot slot of the history (epoch seconds), ascending; the last is the current slot. */
  slots: number[];
  /** Snapshots this call ingested (all of them on a first run, the gap since the last run after). */
  ingested: number;
  /** Snapshots this call deleted because they fell out of the history. */
  pruned: number;
  /** Wall time of the ingests, ms. */
  ingestMs: number;
}

/** Folder name of a history in the cache: every parameter in it, so different specs never share files. */
export function historyKey(spec: HistorySpec): string {
  const dense = spec.denseDays > 0 ? `-dense${spec.denseDays}d-every${spec.denseEverySeconds}s` : "";
  return `history-seed${spec.seed}-coins${spec.coins}-every${spec.everySeconds}s-days${spec.days}${dense}`;
}

/** The slots of a history ending at (the finest grid's slot of) `nowSeconds`, ascending. */
export function historySlots(spec: HistorySpec, nowSeconds: number): number[] {
  const step = spec.denseDays > 0 ? spec.denseEverySeconds : spec.everySeconds;
  const last = Math.floor(nowSeconds / step) * step;
  const first = last - spec.days * DAY_SECONDS + step;
  const denseFirst = last - spec.denseDays * DAY_SECONDS + step;
  const slots: number[] = [];
  for (let t = first; t <= last; t += step) if (t % spec.everySeconds === 0 || (spec.denseDays > 0 && t >= denseFirst)) slots.push(t);
  return slots;
}

/**
 * Brings the cached history of `spec` up to the slot of `nowSeconds` ({@link historySlots}), writing
 * through the real ingest path, and returns where it is. `onProgress` is told about each ingested snapshot.
 */
export async function cachedHistory(
  cacheRoot: string,
  spec: HistorySpec,
  nowSeconds: number,
  onProgress?: (done: number, total: number) => void,
): Promise<CachedHistory> {
  const dir = path.join(cacheRoot, historyKey(spec));
  const store = new LocalObjectStore(dir);
  const slots = historySlots(spec, nowSeconds);
  const wanted = new Set(slots);

  // Raw pages, request records and processed objects of slots no longer in the history go (older than its
  // start, or between the coarse slots once the dense days have moved on).
  let pruned = 0;
  for (const area of [LAKE_PREFIXES.raw, LAKE_PREFIXES.processed]) {
    for (const key of await store.list(`${area}/`)) {
      const t = timestampOfKey(key);
      if (t !== undefined && !wanted.has(t)) {
        await fs.rm(path.join(dir, ...key.split("/")));
        if (area === LAKE_PREFIXES.processed) pruned++;
      }
    }
    await removeEmptyFolders(path.join(dir, area));
  }

  const present = new Set((await store.list(`${LAKE_PREFIXES.processed}/`)).map(timestampOfKey));
  const missing = slots.filter((t) => !present.has(t));
  const logger = createLogger("bench-ingest", { sink: () => undefined });
  const metrics = createMetrics("bench", { sink: () => undefined });
  const simulator = new MarketSimulator({ coins: spec.coins, seed: spec.seed });
  const started = performance.now();
  for (const [i, t] of missing.entries()) {
    await ingestSimulatedHistory({ store, simulator, fromEpochSeconds: t, toEpochSeconds: t, logger, metrics });
    onProgress?.(i + 1, missing.length);
  }
  return { dir, slots, ingested: missing.length, pruned, ingestMs: performance.now() - started };
}

/**
 * Makes `target` a fresh lake (anything there is deleted) whose `processed/` holds hard links to the
 * source's processed objects for which `keep(timestamp)` is true. Returns how many it linked.
 */
export async function linkProcessed(source: string, target: string, keep: (timestamp: number) => boolean): Promise<number> {
  await fs.rm(target, { recursive: true, force: true });
  let linked = 0;
  for (const key of await new LocalObjectStore(source).list(`${LAKE_PREFIXES.processed}/`)) {
    const t = timestampOfKey(key);
    if (t === undefined || !keep(t)) continue;
    await linkKey(source, target, key);
    linked++;
  }
  return linked;
}

/** Hard-links one object of the source lake into the target lake under the same key. */
export async function linkKey(source: string, target: string, key: string): Promise<void> {
  const to = path.join(target, ...key.split("/"));
  await fs.mkdir(path.dirname(to), { recursive: true });
  await fs.link(path.join(source, ...key.split("/")), to);
}

/** Sum of the sizes of every file under `dir` (0 when it does not exist). */
export async function folderBytes(dir: string): Promise<{ files: number; bytes: number }> {
  const total = { files: 0, bytes: 0 };
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return total;
    throw err;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = await folderBytes(full);
      total.files += inner.files;
      total.bytes += inner.bytes;
    } else if (entry.isFile()) {
      total.files++;
      total.bytes += (await fs.stat(full)).size;
    }
  }
  return total;
}

/** Deletes the empty folders below `dir` (pruned hours), keeping `dir` itself. */
async function removeEmptyFolders(dir: string): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const child = path.join(dir, entry.name);
    await removeEmptyFolders(child);
    if ((await fs.readdir(child)).length === 0) await fs.rmdir(child);
  }
}
