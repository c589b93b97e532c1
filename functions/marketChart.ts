/**
 * CoinGecko `/coins/{id}/market_chart` history to processed rows. The response is
 * `{prices, market_caps, total_volumes}`, each `[[ms, value], ...]`: 5-minute points for 1 day, hourly for
 * 2-90 days, at irregular milliseconds, the last one at "now", and the three arrays may differ in length.
 * Each point goes to the 5-minute slot holding it (the latest point wins a slot); market cap and volume
 * are matched to the price by slot, null where their array has no point there. What the series does not
 * give (FDV, 24 h high/low, supply) is null; what it implies is derived: rank by market cap among the
 * coins of a slot, and the 1 h / 24 h / 7 d price changes, null where the series is too short.
 */
import { coinGeckoError } from "./coingeckoErrors";
import { bodySnippet, errorBodyOf, toDouble, toInt64 } from "./normalize";
import { floorToSlot } from "./partitions";
import { ProcessedRow, ROW_SOURCES } from "./schema";

/** The three series of a market_chart response. */
export const MARKET_CHART_SERIES = ["prices", "market_caps", "total_volumes"] as const;

/** One point: epoch milliseconds and a value (null when CoinGecko sent none or a non-number). */
export type ChartPoint = readonly [number, number | null];

/** A parsed market_chart response. */
export type MarketChart = Record<(typeof MARKET_CHART_SERIES)[number], ChartPoint[]>;

/** A coin to backfill: its CoinGecko id and, for the rows, its symbol and name (empty when unknown). */
export interface BackfillCoin {
  id: string;
  symbol: string;
  name: string;
}

/** The horizons of the derived price changes, in seconds, by column. */
export const CHANGE_HORIZONS = {
  price_change_pct_1h: 3_600,
  price_change_pct_24h: 86_400,
  price_change_pct_7d: 604_800,
} as const;

/**
 * How far the point a change compares with may sit from exactly one horizon earlier: half the hourly
 * spacing, so hourly points at irregular milliseconds always find their predecessor and a gap in the
 * series gives null rather than a change over the wrong span.
 */
export const CHANGE_MATCH_SECONDS = 1_800;

/**
 * Parses one coin's market_chart body and checks its shape: a JSON object with the three arrays, each
 * element a `[ms, value]` pair with a finite millisecond time. Values that are null, missing or not finite
 * numbers become null. Throws a {@link CoinGeckoError} of kind `invalid-response` naming the coin and the
 * fault (not JSON, an error object, a missing or non-array series, a malformed point).
 */
export function parseMarketChart(body: Uint8Array, coinId: string): MarketChart {
  const fail = (what: string): never => {
    throw coinGeckoError("invalid-response", `CoinGecko market_chart of "${coinId}" ${what}`, { status: 200 });
  };
  let parsed: unknown;
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8").trim();
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    fail(`is not valid JSON (${body.byteLength} bytes): ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) fail(`is not a JSON object: ${bodySnippet(text)}`);
  const record = parsed as Record<string, unknown>;
  const error = errorBodyOf(record);
  if (error !== undefined && !MARKET_CHART_SERIES.some((name) => name in record)) {
    fail(
      `is an error object instead of history:${error.code === undefined ? "" : ` error_code ${error.code}`} ${error.message ?? bodySnippet(text)}`,
    );
  }
  const chart = {} as MarketChart;
  for (const name of MARKET_CHART_SERIES) {
    const series = record[name];
    if (!Array.isArray(series)) fail(`has no "${name}" array: ${bodySnippet(text)}`);
    chart[name] = (series as unknown[]).map((point, i) => {
      if (!Array.isArray(point) || point.length < 2 || typeof point[0] !== "number" || !Number.isFinite(point[0])) {
        return fail(`has a malformed point ${i} in "${name}": ${bodySnippet(JSON.stringify(point) ?? String(point))}`);
      }
      return [point[0], toDouble(point[1])] as const;
    });
  }
  return chart;
}

/**
 * The processed rows a backfill writes, by slot: every coin's price points in `[fromSlot, toSlot)` (the
 * latest point of a slot stands for it), with market cap and volume of the same slot, the derived changes,
 * and the rank by market cap among the coins of the slot (ties by id; null without a market cap).
 * `charts` pairs each coin with its parsed response.
 */
export function backfillRows(
  charts: readonly { coin: BackfillCoin; chart: MarketChart }[],
  range: { fromSlot: number; toSlot: number },
  vsCurrency: string,
): Map<number, ProcessedRow[]> {
  const bySlot = new Map<number, ProcessedRow[]>();
  for (const { coin, chart } of charts) {
    const prices = latestBySlot(chart.prices);
    const caps = latestBySlot(chart.market_caps);
    const volumes = latestBySlot(chart.total_volumes);
    const pricePoints = [...chart.prices].sort((a, b) => a[0] - b[0]);
    for (const [slot, [ms, price]] of prices) {
      if (slot < range.fromSlot || slot >= range.toSlot) continue;
      const row: ProcessedRow = {
        id: coin.id,
        symbol: coin.symbol,
        name: coin.name,
        current_price: price,
        market_cap: toInt64(caps.get(slot)?.[1]),
        market_cap_rank: null,
        fully_diluted_valuation: null,
        volume_24h: toInt64(volumes.get(slot)?.[1]),
        high_24h: null,
        low_24h: null,
        price_change_pct_1h: change(pricePoints, ms, price, CHANGE_HORIZONS.price_change_pct_1h),
        price_change_pct_24h: change(pricePoints, ms, price, CHANGE_HORIZONS.price_change_pct_24h),
        price_change_pct_7d: change(pricePoints, ms, price, CHANGE_HORIZONS.price_change_pct_7d),
        circulating_supply: null,
        // The moment the point stands for, as CoinGecko's last_updated does for a live row.
        last_updated: new Date(ms).toISOString(),
        vs_currency: vsCurrency,
        timestamp: slot,
        source: ROW_SOURCES.backfill,
      };
      bySlot.set(slot, [...(bySlot.get(slot) ?? []), row]);
    }
  }
  for (const rows of bySlot.values()) {
    const ranked = rows
      .filter((r) => r.market_cap !== null)
      .sort((a, b) => (b.market_cap ?? 0) - (a.market_cap ?? 0) || (a.id < b.id ? -1 : 1));
    ranked.forEach((row, i) => (row.market_cap_rank = i + 1));
  }
  return new Map([...bySlot].sort(([a], [b]) => a - b));
}

/** Each slot's latest point of a series, by slot (epoch seconds). */
function latestBySlot(points: readonly ChartPoint[]): Map<number, ChartPoint> {
  const out = new Map<number, ChartPoint>();
  for (const point of points) {
    const slot = floorToSlot(Math.floor(point[0] / 1000));
    const seen = out.get(slot);
    if (seen === undefined || point[0] > seen[0]) out.set(slot, point);
  }
  return out;
}

/**
 * Percent change of `price` at `ms` against the price point nearest to `horizonSeconds` earlier, when one
 * lies within {@link CHANGE_MATCH_SECONDS} of it; null otherwise (the series is too short or has a gap) or
 * when either price is missing or the earlier one is zero. `sorted` is the price series by time.
 */
function change(sorted: readonly ChartPoint[], ms: number, price: number | null, horizonSeconds: number): number | null {
  if (price === null) return null;
  const wanted = ms - horizonSeconds * 1000;
  // Binary search for the first point at or after `wanted`; the nearest is it or the one before.
  let [lo, hi] = [0, sorted.length];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid][0] < wanted) lo = mid + 1;
    else hi = mid;
  }
  const candidates = [sorted[lo - 1], sorted[lo]].filter((p): p is ChartPoint => p !== undefined && p[0] < ms);
  const best = candidates.sort((a, b) => Math.abs(a[0] - wanted) - Math.abs(b[0] - wanted))[0];
  if (best === undefined || Math.abs(best[0] - wanted) > CHANGE_MATCH_SECONDS * 1000) return null;
  const then = best[1];
  return then === null || then === 0 ? null : (price / then - 1) * 100;
}
