/**
 * A deterministic synthetic crypto market that answers like CoinGecko's `/coins/markets`: the offline source
 * of local mode (`--source simulate`, `crypto-analytics simulate`) and the test data of the SQL. Snapshots
 * enter the lake through the real ingest path (runIngest), so the simulated lake is built exactly like a
 * live one.
 *
 * Every value is a pure function of (seed, coin, time): any slot can be generated on its own, in any order,
 * and the same seed always gives the same bytes. Prices follow a multi-scale random walk (smoothed noise at
 * 4-hour, 1-day and 1-week scales plus per-slot jitter), so the 1h/24h/7d changes, the 24 h high/low and
 * the ranks derive consistently from the same price path. The quirks of real responses are in: exponent
 * notation for tiny prices and huge supplies (`8.64e-06`, `1.0e+15`), floats written as `1.0`, null fully
 * diluted valuations and max supplies, an unranked coin with a zero market cap, and occasional null 1 h
 * changes.
 */
import { FetchedSnapshot, runIngest, SnapshotSource } from "../functions/ingest";
import { ObjectStore } from "../functions/objectStore";
import { floorToSlot, SNAPSHOT_SLOT_SECONDS } from "../functions/partitions";
import { Logger, MetricsEmitter } from "../functions/telemetry";

// The price hash's Math functions, bound once: under jest a module's every global lookup is a slow call
// into the vm context, and a snapshot makes hundreds of thousands of them.
const { exp, floor, imul } = Math;

/** Coins in a simulated market by default (one CoinGecko page). */
export const DEFAULT_SIMULATED_COINS = 250;

/** Seed of the simulated market by default. */
export const DEFAULT_SIMULATOR_SEED = 42;

/** Coins per page, as CoinGecko's `per_page` maximum. */
export const SIMULATOR_PAGE_SIZE = 250;

/** Quote currency of the simulated prices. */
export const SIMULATOR_VS_CURRENCY = "usd";

/** The coins the views single out; always present, ranked by their market cap like every other coin. */
export const CORE_COINS = [
  { id: "bitcoin", symbol: "btc", name: "Bitcoin", price: 65_000, supply: 19_700_000, maxSupply: 21_000_000, volatility: 0.05 },
  { id: "ethereum", symbol: "eth", name: "Ethereum", price: 3_400, supply: 120_200_000, maxSupply: null, volatility: 0.07 },
  { id: "tether", symbol: "usdt", name: "Tether", price: 1, supply: 112_000_000_000, maxSupply: null, volatility: 0.0004 },
  { id: "solana", symbol: "sol", name: "Solana", price: 150, supply: 465_000_000, maxSupply: null, volatility: 0.1 },
] as const;

/** Options of {@link MarketSimulator}. */
export interface MarketSimulatorOptions {
  /** PRNG seed. Defaults to {@link DEFAULT_SIMULATOR_SEED}. */
  seed?: number;
  /** Number of coins, at least the {@link CORE_COINS}. Defaults to {@link DEFAULT_SIMULATED_COINS}. */
  coins?: number;
}

/** One simulated coin's fixed traits. */
interface CoinTraits {
  index: number;
  id: string;
  symbol: string;
  name: string;
  basePrice: number;
  supply: number;
  maxSupply: number | null;
  /** Amplitude of the log-price walk. */
  volatility: number;
  /** Daily volume as a share of market cap, before noise. */
  turnover: number;
  /** Listed without a market cap (CoinGecko sends 0 and no rank). */
  unranked: boolean;
}

/** Coin values at one instant, before formatting. */
interface CoinQuote {
  coin: CoinTraits;
  price: number;
  marketCap: number;
  rank: number | null;
}

const HOUR = 3600;
const DAY = 24 * HOUR;
/** Time scales (seconds) and weights of the smoothed noise that drives prices. */
const PRICE_SCALES = [
  { period: 4 * HOUR, weight: 0.35 },
  { period: DAY, weight: 0.6 },
  { period: 7 * DAY, weight: 1 },
];
const SYLLABLES = [
  "ka",
  "zor",
  "lu",
  "mi",
  "ven",
  "tra",
  "qui",
  "rho",
  "sa",
  "bex",
  "no",
  "pi",
  "dra",
  "xel",
  "mon",
  "ta",
  "fy",
  "gal",
  "or",
  "chi",
];

/**
 * The synthetic market. `snapshotAt(slot)` gives the pages CoinGecko would have sent for that 5-minute slot;
 * `source` adapts it to the ingest's {@link SnapshotSource}.
 */
export class MarketSimulator {
  /** The coins, in definition order (core coins first). */
  private readonly coins: CoinTraits[];
  private readonly seed: number;

  constructor(options: MarketSimulatorOptions = {}) {
    this.seed = (options.seed ?? DEFAULT_SIMULATOR_SEED) >>> 0;
    const count = options.coins ?? DEFAULT_SIMULATED_COINS;
    if (!Number.isInteger(count) || count < CORE_COINS.length)
      throw new Error(`coins must be an integer of at least ${CORE_COINS.length}, got ${count}`);
    this.coins = Array.from({ length: count }, (_, i) => this.traits(i));
  }

  /** The snapshot of a slot (epoch seconds, floored to 5 minutes): pages of at most {@link SIMULATOR_PAGE_SIZE} coins by market cap. */
  snapshotAt(slotEpochSeconds: number): FetchedSnapshot {
    const t = floorToSlot(slotEpochSeconds);
    const quotes = this.coins.map((coin) => {
      const price = this.price(coin, t);
      return { coin, price, marketCap: coin.unranked ? 0 : Math.round(price * coin.supply), rank: null as number | null };
    });
    const ranked = quotes.filter((q) => !q.coin.unranked).sort((a, b) => b.marketCap - a.marketCap || a.coin.index - b.coin.index);
    ranked.forEach((q, i) => (q.rank = i + 1));
    const ordered = [...ranked, ...quotes.filter((q) => q.coin.unranked)];
    const pages = [];
    for (let start = 0; start < ordered.length; start += SIMULATOR_PAGE_SIZE) {
      const body =
        "[" +
        ordered
          .slice(start, start + SIMULATOR_PAGE_SIZE)
          .map((q) => this.coinJson(q, t))
          .join(",") +
        "]";
      pages.push({ page: pages.length + 1, body: new TextEncoder().encode(body) });
    }
    return {
      pages,
      request: {
        source: "simulator",
        seed: this.seed,
        path: "/coins/markets",
        params: {
          vs_currency: SIMULATOR_VS_CURRENCY,
          order: "market_cap_desc",
          per_page: SIMULATOR_PAGE_SIZE,
          pages: pages.length,
          price_change_percentage: "1h,24h,7d",
        },
      },
      fetchedAt: new Date((t + 1 + ((this.unit(0, t, 1) * 20) | 0)) * 1000).toISOString(),
      retries: 0,
      latencyMs: 0,
    };
  }

  /** This market as an ingest {@link SnapshotSource}. */
  source(): SnapshotSource {
    return async (slot) => this.snapshotAt(slot);
  }

  /** A coin's price at an instant (epoch seconds). */
  private price(coin: CoinTraits, t: number): number {
    let walk = 0;
    for (const [level, scale] of PRICE_SCALES.entries()) walk += scale.weight * this.smoothNoise(coin.index, level + 1, t / scale.period);
    const jitter = 0.08 * (2 * this.unit(coin.index, floor(t / SNAPSHOT_SLOT_SECONDS), 9) - 1);
    return coin.basePrice * exp(coin.volatility * (walk + jitter));
  }

  /** One coin as CoinGecko writes it, with its number-format quirks. */
  private coinJson(q: CoinQuote, t: number): string {
    const { coin, price } = q;
    const past = (seconds: number): number => this.price(coin, t - seconds);
    const change = (seconds: number): number => (price / past(seconds) - 1) * 100;
    const hourly = Array.from({ length: 25 }, (_, k) => (k === 0 ? price : past(k * HOUR)));
    const volumeNoise = Math.exp(0.4 * this.smoothNoise(coin.index, 7, t / (6 * HOUR)));
    const volume = coin.unranked ? this.unit(coin.index, 0, 8) * 5_000 : q.marketCap * coin.turnover * volumeNoise;
    const circulating = coin.supply;
    const slot = Math.floor(t / SNAPSHOT_SLOT_SECONDS);
    // About one quote in 25 lacks its 1 h change, as CoinGecko's do when a coin's recent trades are missing.
    const change1h = this.unit(coin.index, slot, 11) < 0.04 ? null : change(HOUR);
    const fields: [string, string][] = [
      ["id", JSON.stringify(coin.id)],
      ["symbol", JSON.stringify(coin.symbol)],
      ["name", JSON.stringify(coin.name)],
      ["image", JSON.stringify(`https://assets.example.invalid/coins/${coin.id}.png`)],
      ["current_price", priceText(price)],
      ["market_cap", String(q.marketCap)],
      ["market_cap_rank", q.rank === null ? "null" : String(q.rank)],
      ["fully_diluted_valuation", coin.maxSupply === null ? "null" : String(Math.round(price * coin.maxSupply))],
      ["total_volume", floatText(Math.round(volume))],
      ["high_24h", priceText(Math.max(...hourly))],
      ["low_24h", priceText(Math.min(...hourly))],
      ["price_change_24h", priceText(price - past(DAY))],
      ["price_change_percentage_24h", floatText(change(DAY))],
      ["market_cap_change_24h", floatText(q.marketCap - Math.round(past(DAY) * coin.supply))],
      ["market_cap_change_percentage_24h", floatText(change(DAY))],
      ["circulating_supply", supplyText(circulating)],
      ["total_supply", supplyText(coin.maxSupply ?? circulating)],
      ["max_supply", coin.maxSupply === null ? "null" : supplyText(coin.maxSupply)],
      ["roi", "null"],
      ["last_updated", JSON.stringify(new Date((t - ((this.unit(coin.index, slot, 12) * 240) | 0)) * 1000).toISOString())],
      ["price_change_percentage_1h_in_currency", change1h === null ? "null" : floatText(change1h)],
      ["price_change_percentage_24h_in_currency", floatText(change(DAY))],
      ["price_change_percentage_7d_in_currency", floatText(change(7 * DAY))],
    ];
    return "{" + fields.map(([k, v]) => `"${k}":${v}`).join(",") + "}";
  }

  /** Fixed traits of coin `i`: the core coins first, then generated ones with market caps falling by rank. */
  private traits(i: number): CoinTraits {
    const core = CORE_COINS[i];
    if (core !== undefined) {
      return {
        index: i,
        id: core.id,
        symbol: core.symbol,
        name: core.name,
        basePrice: core.price,
        supply: core.supply,
        maxSupply: core.maxSupply,
        volatility: core.volatility,
        turnover: 0.04,
        unranked: false,
      };
    }
    const syllables = 2 + Math.floor(this.unit(i, 0, 1) * 2);
    const word = Array.from({ length: syllables }, (_, k) => SYLLABLES[Math.floor(this.unit(i, k, 2) * SYLLABLES.length)]).join("");
    const name = `${word[0].toUpperCase()}${word.slice(1)} ${i}`;
    // Market caps fall off as a power of the index, like the real ranking; prices span 1e-8..1e3.
    const marketCap = 9e11 * Math.pow(i - 1, -1.6) * (0.6 + 0.8 * this.unit(i, 0, 3));
    const basePrice = Math.pow(10, -8 + 11 * this.unit(i, 0, 4));
    const supply = Math.round(marketCap / basePrice);
    return {
      index: i,
      id: `${word}-${i}`,
      symbol: `${word.slice(0, 3)}${i}`,
      name,
      basePrice,
      supply,
      maxSupply: this.unit(i, 0, 5) < 0.7 ? null : Math.round(supply * (1 + this.unit(i, 0, 6))),
      volatility: 0.08 + 0.25 * this.unit(i, 0, 7),
      turnover: 0.01 + 0.3 * this.unit(i, 0, 10),
      unranked: i === 7 + (this.seed % 5),
    };
  }

  /** Smoothed value noise in [-1, 1]: hashed values at integer points, eased between them. */
  private smoothNoise(coin: number, channel: number, x: number): number {
    const k = floor(x);
    const f = x - k;
    const e = f * f * (3 - 2 * f);
    const a = 2 * this.unit(coin, k, channel) - 1;
    const b = 2 * this.unit(coin, k + 1, channel) - 1;
    return a + (b - a) * e;
  }

  /** A deterministic uniform number in [0, 1) for (seed, coin, step, channel). */
  private unit(coin: number, step: number, channel: number): number {
    let h = imul(this.seed ^ 0x9e3779b9, 0x85ebca6b) ^ imul(coin + 1, 0xc2b2ae35) ^ imul(channel + 1, 0x27d4eb2f);
    h = imul(h ^ (step | 0), 0x165667b1) ^ imul(floor(step / 4294967296), 0x9e3779b1);
    h ^= h >>> 15;
    h = imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    h = imul(h, 0x297a2d39);
    h ^= h >>> 15;
    return (h >>> 0) / 4294967296;
  }
}

/** Arguments of {@link ingestSimulatedHistory}. */
export interface SimulatedHistoryArgs {
  /** The lake to write to. */
  store: ObjectStore;
  /** The market to sample. */
  simulator: MarketSimulator;
  /** First slot, epoch seconds (floored to 5 minutes). */
  fromEpochSeconds: number;
  /** Last slot, epoch seconds, included. */
  toEpochSeconds: number;
  /** Seconds between snapshots, a multiple of 5 minutes. Defaults to {@link SNAPSHOT_SLOT_SECONDS}. */
  everySeconds?: number;
  logger: Logger;
  metrics: MetricsEmitter;
  /** Called after each snapshot. Defaults to none. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Ingests the simulated snapshots of a time range through {@link runIngest}, oldest first, and returns how
 * many slots it processed. Slots already in the lake are left as they are (the ingest's conditional writes).
 */
export async function ingestSimulatedHistory(args: SimulatedHistoryArgs): Promise<number> {
  const every = args.everySeconds ?? SNAPSHOT_SLOT_SECONDS;
  if (!Number.isInteger(every) || every <= 0 || every % SNAPSHOT_SLOT_SECONDS !== 0)
    throw new Error(`everySeconds must be a positive multiple of ${SNAPSHOT_SLOT_SECONDS}, got ${every}`);
  const first = floorToSlot(args.fromEpochSeconds);
  const total = first > args.toEpochSeconds ? 0 : Math.floor((args.toEpochSeconds - first) / every) + 1;
  const source = args.simulator.source();
  for (let i = 0; i < total; i++) {
    const slot = first + i * every;
    await runIngest({
      store: args.store,
      source,
      scheduledTime: slot * 1000,
      vsCurrency: SIMULATOR_VS_CURRENCY,
      logger: args.logger,
      metrics: args.metrics,
    });
    args.onProgress?.(i + 1, total);
  }
  return total;
}

/** A price as CoinGecko writes it: exponent notation with a two-digit exponent below 1e-4, else plain. */
function priceText(x: number): string {
  if (x !== 0 && Math.abs(x) < 1e-4) return exponentText(x, 3);
  return floatText(Number(x.toPrecision(Math.abs(x) >= 1 ? 8 : 6)));
}

/** A supply: exponent notation from 1e15 (`1.0e+15`), plain below. */
function supplyText(x: number): string {
  return x >= 1e15 ? exponentText(x, 2) : floatText(x);
}

/** A float as Ruby prints it: integral values keep a `.0`. */
function floatText(x: number): string {
  return Number.isInteger(x) && Math.abs(x) < 1e15 ? `${x}.0` : String(x);
}

/** `d.ddde-06` style: mantissa with `digits` significant digits, signed two-digit exponent. */
function exponentText(x: number, digits: number): string {
  const [mantissa, exponent] = x.toExponential(digits - 1).split("e");
  const e = Number(exponent);
  const m = mantissa.includes(".") ? mantissa : `${mantissa}.0`;
  return `${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}
