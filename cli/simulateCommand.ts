/**
 * `crypto-analytics simulate --lake DIR --days N [--coins 250] [--seed S] [--every MINUTES]`: a deterministic
 * synthetic market history of the last N days, one snapshot on every multiple of the cadence, written through the real ingest path (raw pages,
 * request records and processed NDJSON.gz), exactly as live snapshots are. Slots already in the lake are
 * left as they are, so re-running it or widening the range adds only what is missing.
 */
import { LocalObjectStore } from "../functions/localObjectStore";
import { floorToSlot, SNAPSHOT_SLOT_SECONDS } from "../functions/partitions";
import { createLogger, LineSink } from "../functions/telemetry";
import { DEFAULT_SIMULATED_COINS, DEFAULT_SIMULATOR_SEED, ingestSimulatedHistory, MarketSimulator } from "../local/simulator";
import { requireLakeOrNew } from "../local/lakeFolder";

/** Longest history `simulate` writes, in days. */
export const MAX_SIMULATED_DAYS = 400;

/** Minutes between simulated snapshots by default: the live schedule's 5. */
export const DEFAULT_SIMULATE_EVERY_MINUTES = SNAPSHOT_SLOT_SECONDS / 60;

/** Options of {@link simulateCommand}; numbers may come as CLI text. */
export interface SimulateCommandOptions {
  /** The lake folder: a lake, or a missing or empty folder to start one in ({@link requireLakeOrNew}). */
  lake: string;
  /** Days of history ending now, more than 0 and at most {@link MAX_SIMULATED_DAYS}; fractions allowed. */
  days: number | string;
  /** Coins per snapshot, at least 4 (BTC, ETH, USDT, SOL). Defaults to {@link DEFAULT_SIMULATED_COINS}. */
  coins?: number | string;
  /** Simulator seed, an integer. Defaults to {@link DEFAULT_SIMULATOR_SEED}. */
  seed?: number | string;
  /** Minutes between snapshots, a multiple of 5. Defaults to {@link DEFAULT_SIMULATE_EVERY_MINUTES}. */
  everyMinutes?: number | string;
  /** Clock, epoch ms: the history ends at the last cadence slot not after it. Defaults to `Date.now`. */
  now?: () => number;
  /** Where JSON log lines go. Defaults to none: the progress display says what happens. */
  logSink?: LineSink;
  /** After each snapshot. Defaults to none. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link simulateCommand} wrote. */
export interface SimulateResult {
  /** Slots processed (written or already present). */
  snapshots: number;
  /** First slot, epoch seconds. */
  from: number;
  /** Last slot, epoch seconds. */
  to: number;
}

/** Validates the options (before writing anything) and writes the history. */
export async function simulateCommand(options: SimulateCommandOptions): Promise<SimulateResult> {
  const days = numberOption(
    "--days",
    options.days,
    (n) => n > 0 && n <= MAX_SIMULATED_DAYS,
    `a number of days above 0 and at most ${MAX_SIMULATED_DAYS}`,
  );
  const coins = numberOption(
    "--coins",
    options.coins ?? DEFAULT_SIMULATED_COINS,
    (n) => Number.isInteger(n) && n >= 4,
    "an integer of at least 4",
  );
  const seed = numberOption("--seed", options.seed ?? DEFAULT_SIMULATOR_SEED, (n) => Number.isSafeInteger(n), "an integer");
  const everyMinutes = numberOption(
    "--every",
    options.everyMinutes ?? DEFAULT_SIMULATE_EVERY_MINUTES,
    (n) => Number.isInteger(n) && n > 0 && (n * 60) % SNAPSHOT_SLOT_SECONDS === 0,
    "a whole number of minutes, a multiple of 5",
  );
  const every = everyMinutes * 60;
  requireLakeOrNew(options.lake);
  const now = floorToSlot(Math.floor((options.now ?? Date.now)() / 1000));
  // Slots on multiples of the cadence (:00, :30, ...), as the local scheduler's, so runs add to each other.
  const from = Math.ceil((now - Math.round(days * 86_400)) / every) * every;
  const logger = createLogger("simulate", { sink: options.logSink ?? (() => undefined) });
  const snapshots = await ingestSimulatedHistory({
    store: new LocalObjectStore(options.lake),
    simulator: new MarketSimulator({ coins, seed }),
    fromEpochSeconds: from,
    toEpochSeconds: now,
    everySeconds: every,
    logger,
    metrics: { emit: () => undefined },
    onProgress: options.onProgress,
  });
  return { snapshots, from, to: from + (snapshots - 1) * every };
}

/** A numeric option from CLI text or a number; throws a clear Error naming the flag otherwise. */
function numberOption(flag: string, value: number | string, valid: (n: number) => boolean, expected: string): number {
  const n = typeof value === "number" ? value : value.trim() === "" ? Number.NaN : Number(value);
  if (!Number.isFinite(n) || !valid(n)) throw new Error(`${flag} must be ${expected}, got ${JSON.stringify(value)}`);
  return n;
}
