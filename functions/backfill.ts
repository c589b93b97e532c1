/**
 * Backfill from CoinGecko's history: one `/coins/{id}/market_chart` request per coin, each exact response
 * kept in `raw/` with a request record (as live snapshots keep theirs), then one processed snapshot per
 * 5-minute slot the history covers, written with put-if-absent under the same keys live snapshots use, so
 * the transform materialises them like any other and their rows say `source = 'backfill'`.
 *
 * What it never does: overwrite or add to a slot that holds a snapshot, write into an hour that holds
 * snapshots of another run (a live hour stays purely live), write the current slot (the live ingest's),
 * or write any processed object before every coin's response is fetched and valid (a bad response leaves
 * processed/ untouched). A re-run within the same hour reuses the stored responses (no request) and writes
 * only the slots still missing; a re-run when every hour of the range holds a snapshot sends no request.
 * Runs on any {@link ObjectStore}: a local folder or S3.
 */
import { createHash } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { CoinGeckoClient, DEFAULT_PAGE_PACING_MS, marketChartPath } from "./coingeckoClient";
import { coinGeckoError, isCoinGeckoError } from "./coingeckoErrors";
import { PROCESSED_CONTENT_TYPE, RAW_CONTENT_TYPE } from "./ingest";
import { backfillRows, BackfillCoin, MARKET_CHART_SERIES, MarketChart, parseMarketChart } from "./marketChart";
import { gzipNdjson, parseNdjsonGz } from "./ndjson";
import { normalizeSnapshot, parseMarketsPage } from "./normalize";
import { ObjectStore } from "./objectStore";
import {
  floorToHour,
  floorToSlot,
  HOUR_SECONDS,
  LAKE_PREFIXES,
  marketChartRawKey,
  marketChartRequestKey,
  partitionOf,
  processedKey,
  timestampOfKey,
} from "./partitions";
import { Logger } from "./telemetry";

/** Fewest days a backfill asks for. */
export const MIN_BACKFILL_DAYS = 1;

/** Most days a backfill asks for: CoinGecko's hourly granularity ends at 90 days (beyond, points are daily). */
export const MAX_BACKFILL_DAYS = 90;

/** Most coins one backfill takes from a snapshot (one `/coins/markets` page). */
export const MAX_BACKFILL_COINS = 250;

/** Days a newest snapshot is looked for, back from today, before a fresh `/coins/markets` page is asked for instead. */
export const NEWEST_SNAPSHOT_LOOKBACK_DAYS = 2;

/** Seconds in a day. */
const DAY_SECONDS = 86_400;

/** Arguments of {@link runBackfill}. */
export interface RunBackfillArgs {
  /** Where raw responses and processed snapshots go. */
  store: ObjectStore;
  /** CoinGecko (its retries, Retry-After handling, plan and key). */
  client: Pick<CoinGeckoClient, "get">;
  /** Coins to backfill, with the symbol and name their rows carry. */
  coins: readonly BackfillCoin[];
  /** Days of history, {@link MIN_BACKFILL_DAYS}-{@link MAX_BACKFILL_DAYS}. */
  days: number;
  /** The run's time, epoch ms: the range ends before its slot. */
  nowMs: number;
  /** Quote currency asked for and stored on every row. */
  vsCurrency: string;
  /** Pause between two requests, so a run stays under the plan's per-minute limit. Defaults to {@link DEFAULT_PAGE_PACING_MS}. */
  pacingMs?: number;
  /** Structured log sink. */
  logger: Logger;
  /** Told before each coin (`done` of `total`, the coin's id) and once at the end. Defaults to nothing. */
  onProgress?: (done: number, total: number, detail: string) => void;
}

/** Outcome of {@link runBackfill}. */
export interface BackfillResult {
  /** First slot of the range, epoch seconds. */
  fromSlot: number;
  /** The current slot: the range ends before it. */
  toSlot: number;
  /** True when every hour of the range already held a snapshot, so nothing was asked for. */
  alreadyCovered: boolean;
  /** Requests sent (one per coin whose response was not stored yet). */
  requests: number;
  /** Coins whose stored response of this hour's run was used instead of a request. */
  reused: number;
  /** Processed snapshots written. */
  slotsWritten: number;
  /** Slots the history covers that were left alone: they, or another snapshot of their hour, were in the lake. */
  slotsSkipped: number;
  /** Rows in the snapshots written. */
  rows: number;
}

/**
 * Runs one backfill (see the module comment). Throws before any request for bad arguments; throws a
 * {@link CoinGeckoError} naming the coin for an unknown id, a refused range (10012), a body that is not a
 * market chart, or a rate limit that outlasts the client's budget; processed/ is then untouched.
 */
export async function runBackfill(args: RunBackfillArgs): Promise<BackfillResult> {
  const { store, coins, days, logger } = args;
  if (!Number.isInteger(days) || days < MIN_BACKFILL_DAYS || days > MAX_BACKFILL_DAYS) {
    throw new Error(`--days must be a whole number from ${MIN_BACKFILL_DAYS} to ${MAX_BACKFILL_DAYS}; got ${days}`);
  }
  if (coins.length === 0) throw new Error("no coins to backfill");
  const ids = coins.map((c) => c.id);
  const repeated = ids.find((id, i) => id.trim() === "" || ids.indexOf(id) !== i);
  if (repeated !== undefined) throw new Error(`coin ids must be non-empty and distinct; got ${JSON.stringify(repeated)} twice or empty`);
  const nowSeconds = Math.floor(args.nowMs / 1000);
  const toSlot = floorToSlot(nowSeconds);
  const fromSlot = toSlot - days * DAY_SECONDS;
  const runHour = floorToHour(nowSeconds);
  const result: BackfillResult = {
    fromSlot,
    toSlot,
    alreadyCovered: false,
    requests: 0,
    reused: 0,
    slotsWritten: 0,
    slotsSkipped: 0,
    rows: 0,
  };

  const existing = await snapshotSlots(store, fromSlot, toSlot);
  if (everyHourHeld(existing, fromSlot, toSlot)) {
    logger.info("backfill: every hour of the range holds a snapshot already", { fromSlot, toSlot });
    args.onProgress?.(coins.length, coins.length, "already in the lake");
    return { ...result, alreadyCovered: true };
  }

  // Fetch and check every coin before the first processed write: a bad response leaves processed/ as it was.
  const charts: { coin: BackfillCoin; chart: MarketChart }[] = [];
  for (const [i, coin] of coins.entries()) {
    args.onProgress?.(i, coins.length, coin.id);
    const rawKey = marketChartRawKey(runHour, days, coin.id);
    let body = (await store.get(marketChartRequestKey(runHour, days, coin.id))) === undefined ? undefined : await store.get(rawKey);
    if (body === undefined) {
      if (result.requests > 0) await delay(args.pacingMs ?? DEFAULT_PAGE_PACING_MS);
      body = await fetchChart(store, args, coin, rawKey, runHour);
      result.requests += 1;
    } else {
      result.reused += 1;
    }
    charts.push({ coin, chart: parseMarketChart(body, coin.id) });
  }
  args.onProgress?.(coins.length, coins.length, "writing snapshots");

  const rowsBySlot = backfillRows(charts, { fromSlot, toSlot }, args.vsCurrency);
  const foreignHours = new Set([...existing].filter((slot) => !rowsBySlot.has(slot)).map(floorToHour));
  for (const [slot, rows] of rowsBySlot) {
    if (existing.has(slot) || foreignHours.has(floorToHour(slot))) {
      result.slotsSkipped += 1;
      continue;
    }
    if ((await store.putIfAbsent(processedKey(slot), gzipNdjson(rows), { contentType: PROCESSED_CONTENT_TYPE })) === "written") {
      result.slotsWritten += 1;
      result.rows += rows.length;
    } else {
      result.slotsSkipped += 1;
    }
  }
  logger.info("backfill done", { ...result, coins: coins.length, days });
  return result;
}

/**
 * The top `count` coins (by rank) of the newest snapshot of the last {@link NEWEST_SNAPSHOT_LOOKBACK_DAYS}
 * days, or, when there is none or it holds fewer coins, of a fresh `/coins/markets` snapshot from `client` (one request; the client
 * must have been created with a topN of at least `count`).
 */
export async function topCoins(
  store: ObjectStore,
  client: Pick<CoinGeckoClient, "snapshot">,
  count: number,
  nowMs: number,
  vsCurrency: string,
): Promise<BackfillCoin[]> {
  if (!Number.isInteger(count) || count < 1 || count > MAX_BACKFILL_COINS)
    throw new Error(`--coins must be a whole number from 1 to ${MAX_BACKFILL_COINS}; got ${count}`);
  const today = floorToHour(Math.floor(nowMs / 1000));
  let rows: { id: string; symbol: string; name: string; market_cap_rank: number | null }[] | undefined;
  for (let back = 0; back < NEWEST_SNAPSHOT_LOOKBACK_DAYS && rows === undefined; back += 1) {
    const keys = (await store.list(dayPrefix(today - back * DAY_SECONDS))).filter((k) => timestampOfKey(k) !== undefined);
    const newest = keys.sort((a, b) => (timestampOfKey(b) ?? 0) - (timestampOfKey(a) ?? 0))[0];
    const bytes = newest === undefined ? undefined : await store.get(newest);
    const parsed = bytes === undefined ? [] : (parseNdjsonGz(bytes) as unknown as NonNullable<typeof rows>);
    // A smaller snapshot (such as a backfill of a few coins) cannot name the top `count`.
    if (parsed.length >= count) rows = parsed;
  }
  if (rows === undefined) {
    const snapshot = await client.snapshot(floorToSlot(Math.floor(nowMs / 1000)));
    rows = normalizeSnapshot(
      snapshot.pages.map((p) => parseMarketsPage(p.body, p.page)),
      { vsCurrency, timestamp: 0 },
    ).rows;
  }
  return [...rows]
    .sort((a, b) => (a.market_cap_rank ?? Number.POSITIVE_INFINITY) - (b.market_cap_rank ?? Number.POSITIVE_INFINITY))
    .slice(0, count)
    .map(({ id, symbol, name }) => ({ id, symbol, name }));
}

/**
 * Fetches one coin's history, checks it, and stores the exact body (put-if-absent; a body another run
 * stored first is read back and used) and then its request record. An unknown id gets a message saying so.
 */
async function fetchChart(
  store: ObjectStore,
  args: RunBackfillArgs,
  coin: BackfillCoin,
  rawKey: string,
  runHour: number,
): Promise<Uint8Array> {
  const path = marketChartPath(coin.id);
  let fetched;
  try {
    fetched = await args.client.get(path, { vs_currency: args.vsCurrency, days: args.days }, `${coin.id} market_chart`);
  } catch (err) {
    if (isCoinGeckoError(err) && err.status === 404) {
      throw coinGeckoError(
        "configuration",
        `unknown coin id "${coin.id}": CoinGecko has no ${path} (HTTP 404); check the id (ids are CoinGecko's, e.g. bitcoin, not BTC)`,
        err,
      );
    }
    throw err;
  }
  const chart = parseMarketChart(fetched.body, coin.id);
  let body = fetched.body;
  if ((await store.putIfAbsent(rawKey, body, { contentType: RAW_CONTENT_TYPE })) === "exists") body = (await store.get(rawKey)) ?? body;
  const record = {
    coin: coin.id,
    days: args.days,
    fetchedAt: fetched.fetchedAt,
    latencyMs: fetched.latencyMs,
    retries: fetched.retries,
    request: fetched.request,
    runHour,
    key: rawKey,
    bytes: body.byteLength,
    sha256: createHash("sha256").update(body).digest("hex"),
    points: Object.fromEntries(MARKET_CHART_SERIES.map((name) => [name, chart[name].length])),
  };
  await store.putIfAbsent(marketChartRequestKey(runHour, args.days, coin.id), JSON.stringify(record, null, 2) + "\n", {
    contentType: RAW_CONTENT_TYPE,
  });
  return body;
}

/** Slots in `[fromSlot, toSlot)` that hold a processed snapshot (one listing per UTC day). */
async function snapshotSlots(store: ObjectStore, fromSlot: number, toSlot: number): Promise<Set<number>> {
  const slots = new Set<number>();
  for (let day = fromSlot - (fromSlot % DAY_SECONDS); day < toSlot; day += DAY_SECONDS) {
    for (const key of await store.list(dayPrefix(day))) {
      const slot = timestampOfKey(key);
      if (slot !== undefined && slot >= fromSlot && slot < toSlot) slots.add(slot);
    }
  }
  return slots;
}

/** Whether every whole hour in `[fromSlot, toSlot)` holds at least one of `slots`. */
function everyHourHeld(slots: ReadonlySet<number>, fromSlot: number, toSlot: number): boolean {
  const held = new Set([...slots].map(floorToHour));
  for (let hour = floorToHour(fromSlot + HOUR_SECONDS - 1); hour + HOUR_SECONDS <= toSlot; hour += HOUR_SECONDS) {
    if (!held.has(hour)) return false;
  }
  return true;
}

/** `processed/year=Y/month=M/day=D/`: the processed prefix of the UTC day holding `epochSeconds`. */
function dayPrefix(epochSeconds: number): string {
  const p = partitionOf(epochSeconds);
  return `${LAKE_PREFIXES.processed}/year=${p.year}/month=${p.month}/day=${p.day}/`;
}
