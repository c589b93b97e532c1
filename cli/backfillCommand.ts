/**
 * `crypto-analytics backfill --days 1..90 [--coins N] [--lake DIR | --bucket NAME]`: CoinGecko history of
 * the top N coins (of the newest snapshot, else of a fresh `/coins/markets` page) into a lake folder or an
 * S3 bucket, through runBackfill (functions/backfill.ts) and the same CoinGecko client as `ingest`, with a
 * progress bar and ETA on stderr.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { BackfillResult, MAX_BACKFILL_COINS, MAX_BACKFILL_DAYS, MIN_BACKFILL_DAYS, runBackfill, topCoins } from "../functions/backfill";
import { DEFAULT_VS_CURRENCY } from "../functions/coingeckoClient";
import { LocalObjectStore } from "../functions/localObjectStore";
import { ObjectStore } from "../functions/objectStore";
import { S3ObjectStore } from "../functions/s3ObjectStore";
import { createLogger, LineSink, redact } from "../functions/telemetry";
import { describeRetry, LiveSourceFlags, liveSourceFromFlags } from "./ingestCommand";
import { integerOption } from "./localCommand";
import { createProgress, ProgressStream } from "./progress";

/** Coins a backfill takes when `--coins` is not given: the top 100, as v_top_100 shows. */
export const DEFAULT_BACKFILL_COINS = 100;

/** Options of {@link backfillCommand}: the CLI flags (numbers may come as text), then injection points for tests. */
export interface BackfillCommandOptions extends LiveSourceFlags {
  /** `--days`: days of history, 1-90. */
  days: number | string;
  /** `--coins`: how many of the top coins. Defaults to {@link DEFAULT_BACKFILL_COINS}. */
  coins?: number | string;
  /** `--lake DIR`: a local lake folder. Exactly one of `lake` and `bucket`. */
  lake?: string;
  /** `--bucket NAME`: the S3 bucket of a deployed lake (credentials and region from the AWS SDK's usual chain). */
  bucket?: string;
  /** Environment to read the API key from. Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Clock. Defaults to `Date.now`. */
  now?: () => number;
  /** Where JSON log lines go. Defaults to stderr. */
  logSink?: LineSink;
  /** Where the progress bar is drawn. Defaults to stderr. */
  progressStream?: ProgressStream;
  /** S3 client for `bucket`. Defaults to one from the SDK's default configuration. */
  s3Client?: S3Client;
  /** Pause between requests. Defaults to runBackfill's. */
  pacingMs?: number;
}

/** What a backfill did, and where. */
export interface BackfillCommandResult extends BackfillResult {
  /** Coins asked for. */
  coins: number;
  /** `s3://bucket` or the lake folder. */
  target: string;
}

/** Runs the backfill; flags are checked before any request. */
export async function backfillCommand(opts: BackfillCommandOptions): Promise<BackfillCommandResult> {
  if ((opts.lake === undefined) === (opts.bucket === undefined)) throw new Error("give exactly one of --lake DIR and --bucket NAME");
  const days = integerOption("--days", opts.days, MIN_BACKFILL_DAYS, MAX_BACKFILL_DAYS);
  const count = integerOption("--coins", opts.coins ?? DEFAULT_BACKFILL_COINS, 1, MAX_BACKFILL_COINS);
  const live = liveSourceFromFlags(opts, opts.env ?? process.env);
  const secrets = live.apiKey === undefined ? [] : [live.apiKey];
  const sink = opts.logSink ?? ((line: string) => process.stderr.write(line + "\n"));
  const logger = createLogger("backfill", { secrets, sink });
  const store: ObjectStore =
    opts.bucket !== undefined
      ? new S3ObjectStore(opts.s3Client ?? new S3Client({}), opts.bucket)
      : new LocalObjectStore(opts.lake as string);
  // A wait of a minute between retries is said, not silent.
  const client = live.createClient((notice) => sink(redact(describeRetry(notice), secrets)), count);
  const nowMs = (opts.now ?? Date.now)();
  const coins = await topCoins(store, client, count, nowMs, DEFAULT_VS_CURRENCY);
  const progress = createProgress({ label: "coins", stream: opts.progressStream });
  try {
    const result = await runBackfill({
      store,
      client,
      coins,
      days,
      nowMs,
      vsCurrency: DEFAULT_VS_CURRENCY,
      pacingMs: opts.pacingMs,
      logger,
      onProgress: (done, total, detail) => progress.update(done, total, detail),
    });
    progress.finish();
    return { ...result, coins: coins.length, target: opts.bucket !== undefined ? `s3://${opts.bucket}` : (opts.lake as string) };
  } finally {
    progress.finish();
  }
}
