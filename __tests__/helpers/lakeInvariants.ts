/**
 * The lake invariant of the fault-injection tests, checked against what the source actually served:
 * every snapshot CoinGecko served is in the lake exactly once, no analytics row is duplicated, no partial
 * file is visible. Read straight from the folder (gunzip, JSON, and DuckDB on each Parquet file) with
 * none of the project's readers, so a bug in them cannot hide a bug in the writers.
 *
 * - Visible files: every file under raw/, processed/, analytics/ and manifests/ has a name a writer gives
 *   (no temporary or hidden names), sits in the Hive partition of its contents, is non-empty and reads
 *   back whole (JSON parses, gzip inflates, Parquet opens).
 * - Raw: each stored page equals, byte for byte, a body served for that slot and page, and is a valid page
 *   (a JSON array with at least one coin id); its request record lists the stored pages' digests.
 * - Processed: exists only beside its raw pages and record, holds one row per distinct coin id of the
 *   stored pages, each with the slot's timestamp.
 * - Served: every slot served a valid page is complete (processed), unless the test declared that an
 *   injected fault may have lost it (no trace) or, in a state before the repair that follows, left it in
 *   raw/ only.
 * - Analytics: no (id, timestamp) twice; every row equals its processed row (price included); each hour
 *   with rows has a manifest, and holds exactly the rows of the snapshots its manifest lists; every hour
 *   before `materialisedBefore` that has processed snapshots is materialised in full.
 * - Hidden: nothing is left under `.tmp/` or `.staging/` (outside every table, but garbage nobody would
 *   clean), unless the test declared a state before the clean-up of the restart that follows.
 *
 * What was served comes from a stand-in market ({@link startStandInMarket}) that records every 200 it
 * answers with the slot being fetched, or, for the simulator, from its deterministic pages.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { gunzipSync } from "zlib";
import { CoinGeckoSourceOptions, createCoinGeckoSource } from "../../functions/coingeckoClient";
import type { SnapshotSource } from "../../functions/ingest";
import { LOCAL_TEMP_DIR } from "../../functions/localObjectStore";
import { floorToHour, LAKE_PREFIXES, partitionOf, partitionPath } from "../../functions/partitions";
import { sqlStringLiteral } from "../../functions/sqlTemplate";
import { STAGING_DIR } from "../../local/duckdbEngine";
import { CoinGeckoStandIn, Responder, ScriptedResponse, startCoinGeckoStandIn } from "./coingeckoStandIn";
import { coin, FAST_RETRY_OPTIONS, marketsPage } from "./factories";

/** One page body the source served for a slot (a 200 from the stand-in, or a simulated page). */
export interface ServedPage {
  /** The slot being fetched when it was served, epoch seconds. */
  slot: number;
  /** 1-based page number. */
  page: number;
  /** The exact bytes served. */
  body: Uint8Array;
}

/** What the test knows about the run it checks. */
export interface LakeExpectations {
  /** Every page served, valid or not. */
  served: readonly ServedPage[];
  /** Served slots an injected fault may have left without any trace. Defaults to none. */
  mayBeLost?: readonly number[];
  /** Served slots an injected fault may have left in raw/ only (before the repair that follows). Defaults to none. */
  mayBeRawOnly?: readonly number[];
  /** Whether files may remain under `.tmp/` and `.staging/` (before the restart's clean-up). Defaults to false: each is a violation. */
  mayLeaveHidden?: boolean;
  /** Epoch seconds: every hour starting before it that has processed snapshots must be fully materialised. Defaults to no such demand. */
  materialisedBefore?: number;
}

/** What {@link inspectLake} found. */
export interface LakeReport {
  /** Broken invariants, one line each; empty when the lake is consistent. */
  violations: string[];
  /** Slots with a processed snapshot, ascending. */
  complete: number[];
  /** Slots with raw pages but no processed snapshot, ascending. */
  rawOnly: number[];
  /** Slots served a valid page that left no trace, ascending. */
  lost: number[];
  /** Rows in processed/. */
  processedRows: number;
  /** Rows in analytics/. */
  analyticsRows: number;
  /** Hour starts with a manifest, ascending. */
  materialisedHours: number[];
  /** Files left under the temporary and staging folders (invisible to every reader), relative to the lake. */
  hiddenLeftovers: string[];
}

const PARTITION_DIR = /^year=(\d+)\/month=(\d+)\/day=(\d+)\/hour=(\d+)$/;
const RAW_PAGE = /^(\d+)(?:\.p(\d+))?\.json$/;
const REQUEST_RECORD = /^(\d+)\.request\.json$/;
const PROCESSED_FILE = /^(\d+)\.ndjson\.gz$/;
const PARQUET_FILE = /^[A-Za-z0-9][A-Za-z0-9_-]*\.parquet$/;
const MANIFEST_FILE = "manifest.json";

/** An analytics or processed row, reduced to what the invariant compares. */
interface RowKey {
  id: string;
  timestamp: number;
  price: number | null;
}

/** Coins on each page {@link recordingMarket} serves by default: small, so a simulated day stays fast. */
export const DEFAULT_MARKET_COINS = 6;

/** A CoinGecko stand-in's market, recording what it served. */
export interface RecordingMarket {
  /** Pass as the stand-in's `fallback`. */
  responder: Responder;
  /** Every 200 answered, valid or not, with the slot being fetched at the time. */
  served: ServedPage[];
}

/**
 * A stand-in responder for fault scenarios: `answer(index, slot)` returns the scripted fault for a request
 * (a 503, a dropped connection, a malformed 200...) or undefined for a fresh valid page whose prices depend
 * on the request's index, so no two served bodies are equal and the lake's raw bytes tell which one was
 * stored. Every 200 is recorded as served for the slot `slotNow()` names.
 */
export function recordingMarket(
  slotNow: () => number,
  answer: (index: number, slot: number) => ScriptedResponse | undefined = () => undefined,
  coins = DEFAULT_MARKET_COINS,
): RecordingMarket {
  const served: ServedPage[] = [];
  const responder: Responder = (request, index) => {
    const slot = slotNow();
    const response =
      answer(index, slot) ??
      marketsPage(
        Array.from({ length: coins }, (_, i) =>
          coin({
            id: `coin-${i}`,
            symbol: `c${i}`,
            name: `Coin ${i}`,
            market_cap_rank: i + 1,
            current_price: 100 * (i + 1) + index / 1000,
            market_cap: 1_000_000 * (coins - i) + index,
          }),
        ),
      );
    if ((response.status ?? 200) === 200 && response.hang !== true && response.destroy !== true) {
      served.push({ slot, page: Number(request.query.page ?? "1"), body: Buffer.from(response.body ?? "") });
    }
    return response;
  };
  return { responder, served };
}

/** A CoinGecko stand-in serving a {@link recordingMarket}, and the client source fetching from it. */
export interface StandInMarket {
  standIn: CoinGeckoStandIn;
  /** Every 200 the stand-in answered, tagged with the slot the source was fetching. */
  served: ServedPage[];
  /** The real CoinGecko client on the stand-in (fast retries, at most `maxRetries` per page). */
  source: SnapshotSource;
}

/** Retries of one page the stand-in's client makes by default: enough for every scripted recovery. */
export const DEFAULT_STAND_IN_RETRIES = 3;

/**
 * Client timing for the stand-in: fast waits, a request timeout and budget long enough that a page served
 * on a loaded machine is never abandoned (it would count as served yet missing), and retries bounded by
 * count, not by time, so a scenario gives the same attempts per slot however busy the machine is.
 */
export function standInTiming(maxRetries: number): CoinGeckoSourceOptions {
  return { ...FAST_RETRY_OPTIONS, requestTimeoutMs: 2_000, budgetMs: 10_000, maxRetries };
}

/**
 * Starts a stand-in serving `answer`'s faults and otherwise fresh valid pages, with a client source that
 * tells the recorder which slot each request belongs to (the slot runIngest passes to its source).
 */
export async function startStandInMarket(
  answer?: (index: number, slot: number) => ScriptedResponse | undefined,
  maxRetries = DEFAULT_STAND_IN_RETRIES,
): Promise<StandInMarket> {
  let fetching = Number.NaN;
  const market = recordingMarket(() => fetching, answer);
  const standIn = await startCoinGeckoStandIn({ fallback: market.responder });
  const client = createCoinGeckoSource({ ...standInTiming(maxRetries), baseUrl: standIn.baseUrl });
  return {
    standIn,
    served: market.served,
    source: (slot) => {
      fetching = slot;
      return client(slot);
    },
  };
}

/** Checks the lake against the expectations; never throws for a broken lake, it reports. */
export async function inspectLake(lake: string, expectations: LakeExpectations): Promise<LakeReport> {
  const violations: string[] = [];
  const servedBodies = new Map<string, Buffer[]>();
  for (const s of expectations.served) {
    const key = `${s.slot}#${s.page}`;
    servedBodies.set(key, [...(servedBodies.get(key) ?? []), Buffer.from(s.body)]);
  }

  // Raw pages, request records, processed snapshots.
  const rawPages = new Map<number, Map<number, Buffer>>();
  const records = new Map<number, unknown>();
  const processed = new Map<number, RowKey[]>();
  for (const rel of filesUnder(lake, LAKE_PREFIXES.raw)) {
    const file = checkedFile(lake, rel, violations);
    if (file === undefined) continue;
    const page = RAW_PAGE.exec(file.name);
    const record = REQUEST_RECORD.exec(file.name);
    if (page !== null) {
      const slot = Number(page[1]);
      checkPartition(rel, slot, file.dir, violations);
      const pages = rawPages.get(slot) ?? new Map<number, Buffer>();
      pages.set(page[2] === undefined ? 1 : Number(page[2]), file.bytes);
      rawPages.set(slot, pages);
    } else if (record !== null) {
      checkPartition(rel, Number(record[1]), file.dir, violations);
      const parsed = parseJson(file.bytes);
      if (parsed === undefined) violations.push(`${rel}: request record is not valid JSON`);
      else records.set(Number(record[1]), parsed);
    } else {
      violations.push(`${rel}: not a name the ingest writes (temporary or foreign file visible in raw/)`);
    }
  }
  for (const rel of filesUnder(lake, LAKE_PREFIXES.processed)) {
    const file = checkedFile(lake, rel, violations);
    if (file === undefined) continue;
    const m = PROCESSED_FILE.exec(file.name);
    if (m === null) {
      violations.push(`${rel}: not a name the ingest writes (temporary or foreign file visible in processed/)`);
      continue;
    }
    const slot = Number(m[1]);
    checkPartition(rel, slot, file.dir, violations);
    const rows = processedRows(file.bytes);
    if (typeof rows === "string") {
      violations.push(`${rel}: ${rows}`);
      continue;
    }
    const foreign = rows.filter((r) => r.timestamp !== slot);
    if (foreign.length > 0) violations.push(`${rel}: ${foreign.length} row(s) carry another timestamp than ${slot}`);
    processed.set(slot, rows);
  }

  for (const [slot, pages] of rawPages) {
    for (const [page, bytes] of pages) {
      const served = servedBodies.get(`${slot}#${page}`) ?? [];
      const matches = served.filter((b) => b.equals(bytes)).length;
      if (matches === 0)
        violations.push(
          `raw slot ${slot} page ${page}: ${served.length === 0 ? "never served for this slot" : `equals none of the ${served.length} bodies served for this slot`}`,
        );
      if (coinIds(bytes) === undefined) violations.push(`raw slot ${slot} page ${page}: stored although it is not a valid page`);
    }
    const record = records.get(slot);
    if (record !== undefined) {
      for (const problem of recordProblems(record, pages)) violations.push(`raw slot ${slot} request record: ${problem}`);
    }
  }
  for (const slot of records.keys()) if (!rawPages.has(slot)) violations.push(`raw slot ${slot}: request record without raw pages`);
  for (const [slot, rows] of processed) {
    const pages = rawPages.get(slot);
    if (pages === undefined || !records.has(slot)) {
      violations.push(`processed slot ${slot}: written without its raw pages and request record`);
      continue;
    }
    const expected = new Set([...pages.values()].flatMap((b) => coinIds(b) ?? []));
    const ids = rows.map((r) => r.id);
    if (new Set(ids).size !== ids.length) violations.push(`processed slot ${slot}: a coin id appears twice`);
    if (!sameSet(new Set(ids), expected))
      violations.push(`processed slot ${slot}: holds ${ids.length} coin(s), the stored raw pages ${expected.size}`);
  }

  const complete = [...processed.keys()].sort((a, b) => a - b);
  const rawOnly = [...rawPages.keys()].filter((t) => !processed.has(t)).sort((a, b) => a - b);
  const validServed = [...new Set(expectations.served.filter((s) => coinIds(Buffer.from(s.body)) !== undefined).map((s) => s.slot))];
  const lost = validServed.filter((t) => !rawPages.has(t) && !processed.has(t)).sort((a, b) => a - b);
  const mayBeLost = new Set(expectations.mayBeLost ?? []);
  const mayBeRawOnly = new Set(expectations.mayBeRawOnly ?? []);
  for (const slot of lost)
    if (!mayBeLost.has(slot)) violations.push(`served slot ${slot}: a valid page was served but the lake has no trace of it`);
  for (const slot of rawOnly) if (!mayBeRawOnly.has(slot)) violations.push(`slot ${slot}: raw pages without a processed snapshot`);

  // Manifests and analytics.
  const manifests = new Map<number, number[]>();
  for (const rel of filesUnder(lake, LAKE_PREFIXES.manifests)) {
    const file = checkedFile(lake, rel, violations);
    if (file === undefined) continue;
    const hour = hourOfDir(file.dir);
    const parsed = parseJson(file.bytes) as { snapshots?: unknown } | undefined;
    if (file.name !== MANIFEST_FILE || hour === undefined) violations.push(`${rel}: not a manifest the transform writes`);
    else if (!Array.isArray(parsed?.snapshots) || !parsed.snapshots.every(Number.isInteger)) violations.push(`${rel}: unreadable manifest`);
    else manifests.set(hour, parsed.snapshots as number[]);
  }
  const analytics = await analyticsRows(lake, violations);
  const seen = new Map<string, number>();
  for (const row of analytics.flatMap((f) => f.rows))
    seen.set(`${row.id}@${row.timestamp}`, (seen.get(`${row.id}@${row.timestamp}`) ?? 0) + 1);
  const duplicated = [...seen.entries()].filter(([, n]) => n > 1);
  if (duplicated.length > 0)
    violations.push(
      `analytics: ${duplicated.length} (id, timestamp) pair(s) appear more than once, e.g. ${duplicated[0][0]} x${duplicated[0][1]}`,
    );
  const processedByKey = new Map([...processed.values()].flat().map((r) => [`${r.id}@${r.timestamp}`, r]));
  const analyticsByHour = new Map<number, RowKey[]>();
  for (const file of analytics) {
    for (const row of file.rows) {
      if (floorToHour(row.timestamp) !== file.hour)
        violations.push(`${file.rel}: row of ${row.timestamp} outside the file's hour partition`);
      const source = processedByKey.get(`${row.id}@${row.timestamp}`);
      if (source === undefined) violations.push(`${file.rel}: row ${row.id}@${row.timestamp} has no processed row`);
      else if (source.price !== row.price)
        violations.push(`${file.rel}: row ${row.id}@${row.timestamp} price ${row.price} differs from the processed ${source.price}`);
      analyticsByHour.set(file.hour, [...(analyticsByHour.get(file.hour) ?? []), row]);
    }
  }
  for (const [hour, rows] of analyticsByHour) {
    if (!manifests.has(hour)) violations.push(`analytics hour ${iso(hour)}: ${rows.length} row(s) but no manifest`);
  }
  for (const [hour, listed] of manifests) {
    const missing = listed.filter((t) => !processed.has(t));
    if (missing.length > 0) violations.push(`manifest ${iso(hour)}: lists snapshot(s) ${missing.join(", ")} that processed/ does not hold`);
    const expected = new Set(listed.flatMap((t) => (processed.get(t) ?? []).map((r) => `${r.id}@${r.timestamp}`)));
    const actual = new Set((analyticsByHour.get(hour) ?? []).map((r) => `${r.id}@${r.timestamp}`));
    if (!sameSet(actual, expected))
      violations.push(
        `analytics hour ${iso(hour)}: holds ${actual.size} distinct row(s), its manifest's ${listed.length} snapshot(s) ${expected.size}`,
      );
  }
  if (expectations.materialisedBefore !== undefined) {
    const before = expectations.materialisedBefore;
    const hours = [...new Set(complete.map(floorToHour))].filter((h) => h < before);
    for (const hour of hours) {
      const inHour = complete.filter((t) => floorToHour(t) === hour);
      const listed = new Set(manifests.get(hour) ?? []);
      const pending = inHour.filter((t) => !listed.has(t));
      if (pending.length > 0)
        violations.push(`hour ${iso(hour)}: ${pending.length} of ${inHour.length} processed snapshot(s) not materialised`);
    }
  }

  const hiddenLeftovers = [...filesUnder(lake, LOCAL_TEMP_DIR), ...filesUnder(lake, STAGING_DIR)];
  if (expectations.mayLeaveHidden !== true)
    for (const rel of hiddenLeftovers)
      violations.push(`${rel}: left behind by an interrupted write (invisible to readers, but never cleaned up)`);

  return {
    violations,
    complete,
    rawOnly,
    lost,
    processedRows: [...processed.values()].reduce((n, rows) => n + rows.length, 0),
    analyticsRows: analytics.reduce((n, f) => n + f.rows.length, 0),
    materialisedHours: [...manifests.keys()].sort((a, b) => a - b),
    hiddenLeftovers,
  };
}

/** Files under `lake/<area>`, as lake-relative `/` paths, sorted. */
function filesUnder(lake: string, area: string): string[] {
  const root = path.join(lake, ...area.split("/"));
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(lake, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .sort();
}

/** A visible file's name, partition folder and bytes; undefined (and a violation) when it is empty or not a regular file. */
function checkedFile(lake: string, rel: string, violations: string[]): { name: string; dir: string; bytes: Buffer } | undefined {
  const full = path.join(lake, rel);
  if (!fs.statSync(full).isFile()) {
    violations.push(`${rel}: not a regular file`);
    return undefined;
  }
  const bytes = fs.readFileSync(full);
  const parts = rel.split("/");
  const name = parts[parts.length - 1];
  if (name.startsWith(".") || name.startsWith("_")) violations.push(`${rel}: hidden or temporary name visible in the data tree`);
  if (bytes.byteLength === 0) {
    violations.push(`${rel}: empty (zero-byte) file visible`);
    return undefined;
  }
  const areaDepth = rel.startsWith(`${LAKE_PREFIXES.manifests}/`) ? 2 : 1;
  return { name, dir: parts.slice(areaDepth, -1).join("/"), bytes };
}

function hourOfDir(dir: string): number | undefined {
  const m = PARTITION_DIR.exec(dir);
  if (m === null) return undefined;
  const [year, month, day, hour] = m.slice(1).map(Number);
  const start = Date.UTC(year, month - 1, day, hour) / 1000;
  return partitionPath(partitionOf(start)) === dir ? start : undefined;
}

function checkPartition(rel: string, slot: number, dir: string, violations: string[]): void {
  if (dir !== partitionPath(partitionOf(slot)))
    violations.push(`${rel}: slot ${slot} stored outside its partition ${partitionPath(partitionOf(slot))}`);
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return undefined;
  }
}

/** The distinct coin ids of a valid page (a JSON array with at least one non-empty string id); undefined otherwise. */
function coinIds(body: Buffer): string[] | undefined {
  const parsed = parseJson(body);
  if (!Array.isArray(parsed)) return undefined;
  const ids = parsed
    .map((c) => (typeof c === "object" && c !== null ? (c as { id?: unknown }).id : undefined))
    .filter((id): id is string => typeof id === "string" && id !== "");
  return ids.length === 0 ? undefined : [...new Set(ids)];
}

/** A processed file's rows, or what is wrong with it. */
function processedRows(bytes: Buffer): RowKey[] | string {
  let text: string;
  try {
    text = gunzipSync(bytes).toString("utf8");
  } catch (err) {
    return `not a whole gzip file (${(err as Error).message})`;
  }
  if (!text.endsWith("\n")) return "last line is not terminated (truncated)";
  const rows: RowKey[] = [];
  for (const line of text.split("\n").slice(0, -1)) {
    const row = parseJson(Buffer.from(line)) as Record<string, unknown> | undefined;
    if (row === undefined || typeof row.id !== "string" || typeof row.timestamp !== "number") return `line ${rows.length + 1} is not a row`;
    rows.push({ id: row.id, timestamp: row.timestamp, price: typeof row.current_price === "number" ? row.current_price : null });
  }
  return rows.length === 0 ? "holds no rows" : rows;
}

/** What a request record says that the stored pages contradict. */
function recordProblems(record: unknown, pages: Map<number, Buffer>): string[] {
  const listed = (record as { pages?: { page?: unknown; sha256?: unknown }[] }).pages;
  if (!Array.isArray(listed)) return ["lists no pages"];
  const problems: string[] = [];
  if (listed.length !== pages.size) problems.push(`lists ${listed.length} page(s), ${pages.size} stored`);
  for (const entry of listed) {
    const body = typeof entry.page === "number" ? pages.get(entry.page) : undefined;
    if (body === undefined) problems.push(`page ${String(entry.page)} is not stored`);
    else if (createHash("sha256").update(body).digest("hex") !== entry.sha256)
      problems.push(`page ${entry.page}'s digest differs from the stored bytes`);
  }
  return problems;
}

/** Every Parquet file under analytics/, read one by one with DuckDB (an unreadable file is a violation). */
async function analyticsRows(lake: string, violations: string[]): Promise<{ rel: string; hour: number; rows: RowKey[] }[]> {
  const files = filesUnder(lake, LAKE_PREFIXES.analytics);
  if (files.length === 0) return [];
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const out: { rel: string; hour: number; rows: RowKey[] }[] = [];
    for (const rel of files) {
      const file = checkedFile(lake, rel, violations);
      if (file === undefined) continue;
      const hour = hourOfDir(file.dir);
      if (!PARQUET_FILE.test(file.name) || hour === undefined) {
        violations.push(`${rel}: not a Parquet file in an hour partition (temporary or foreign file visible in analytics/)`);
        continue;
      }
      try {
        const reader = await connection.runAndReadAll(
          `SELECT id, "timestamp" AS ts, current_price AS price FROM read_parquet(${sqlStringLiteral(path.join(lake, rel))})`,
        );
        const rows = reader
          .getRowObjectsJS()
          .map((r) => ({ id: String(r.id), timestamp: Number(r.ts), price: r.price === null ? null : Number(r.price) }));
        if (rows.length === 0) violations.push(`${rel}: Parquet file without rows`);
        out.push({ rel, hour, rows });
      } catch (err) {
        violations.push(`${rel}: unreadable Parquet (${(err as Error).message.split("\n")[0]})`);
      }
    }
    return out;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function sameSet<T>(a: Set<T>, b: Set<T>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
