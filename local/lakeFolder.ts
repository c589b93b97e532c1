/**
 * What makes a folder a lake, checked by every command before it reads or writes one, so a mistyped
 * `--lake` fails with one line instead of reading as an empty market or scattering a lake into an
 * unrelated folder.
 *
 * A lake is a folder holding at least one of {@link lakeMarkers}: the data folders every writer creates
 * (raw/ and processed/ by ingest and simulate, analytics/ by the transform), the lock of a running or
 * stopped `local`, or the lake's own working folders. Read commands (query, dashboard, transform) need a
 * lake; write commands (ingest, simulate, local) also start one in a folder that is absent or empty.
 */
import * as fs from "node:fs";
import { LOCAL_TEMP_DIR } from "../functions/localObjectStore";
import { LAKE_PREFIXES } from "../functions/partitions";
import { STAGING_DIR } from "../local/duckdbEngine";
import { LAKE_LOCK_FILE } from "../local/localPipeline";

/** The data folders every writer creates: raw/ and processed/ (ingest, simulate), analytics/ (the transform). */
const DATA_FOLDERS: readonly string[] = [LAKE_PREFIXES.raw, LAKE_PREFIXES.processed, LAKE_PREFIXES.analytics];

/**
 * Entries whose presence makes a folder a lake: its data folders, `local`'s lock, and the working folders
 * of the object store and DuckDB (a process killed before its first rename may leave only those). A
 * function, not a constant: local/localPipeline imports the CLI's transform, which imports this module, so
 * the lock's name is not yet defined while this module loads.
 */
export function lakeMarkers(): string[] {
  return [...DATA_FOLDERS, LAKE_LOCK_FILE, LOCAL_TEMP_DIR, STAGING_DIR];
}

/** What a lake must hold, for messages. */
const WHAT_A_LAKE_HOLDS = `a lake holds ${DATA_FOLDERS.map((m) => `${m}/`).join(", ")}`;

/** The folder's entries; undefined when nothing is there. Throws when the path names a file. */
function entriesOf(lake: string): string[] | undefined {
  const stat = fs.statSync(lake, { throwIfNoEntry: false });
  if (stat === undefined) return undefined;
  if (!stat.isDirectory()) throw new Error(`${lake} is a file, not a lake folder`);
  return fs.readdirSync(lake);
}

/**
 * Throws one line unless `lake` is a lake (see the module comment). For commands that read a lake: a
 * folder that is missing, empty or holds something else is a mistake, not an empty market.
 */
export function requireLake(lake: string): void {
  const entries = entriesOf(lake);
  if (entries === undefined) throw new Error(`${lake} is not a lake: no such folder (create one with ingest, simulate or local)`);
  if (!entries.some((e) => lakeMarkers().includes(e))) {
    throw new Error(
      `${lake} is not a lake: ${WHAT_A_LAKE_HOLDS} and it holds ${entries.length === 0 ? "nothing" : "none of them"} (create one with ingest, simulate or local)`,
    );
  }
}

/**
 * Throws one line unless `lake` is a lake or a place to start one: a missing or empty folder. For
 * commands that write: a folder holding other files is not turned into a lake.
 */
export function requireLakeOrNew(lake: string): void {
  const entries = entriesOf(lake);
  if (entries === undefined || entries.length === 0 || entries.some((e) => lakeMarkers().includes(e))) return;
  throw new Error(`${lake} is not a lake and not empty: ${WHAT_A_LAKE_HOLDS}; pass a new or empty folder to start one`);
}
