/**
 * `crypto-analytics ingest`: one snapshot into a local lake folder, through the same runIngest, CoinGecko
 * client and layout as the Lambda, with a folder as the object store.
 *
 * `--at` may name any past time: unlike the Lambda, which refuses stale events because CoinGecko serves
 * only current prices, the command trusts its user to know that the snapshot holds the prices of now,
 * labelled with the slot of `--at` (for example to fill a slot by hand right after an outage).
 */
import {
  COINGECKO_PLANS,
  CoinGeckoClient,
  CoinGeckoPlan,
  createCoinGeckoClient,
  DEFAULT_BASE_URLS,
  DEFAULT_VS_CURRENCY,
  resolvePlan,
  RetryNotice,
} from "../functions/coingeckoClient";
import { IngestResult, parseIsoTime, runIngest, SnapshotSource } from "../functions/ingest";
import { LocalObjectStore } from "../functions/localObjectStore";
import { createLogger, createMetrics, LineSink, redact } from "../functions/telemetry";
import { requireLakeOrNew } from "../local/lakeFolder";

/** Environment variable read for the API key when `--api-key` is not given. */
export const API_KEY_ENV = "CRYPTO_ANALYTICS_API_KEY";

/** The CoinGecko flags `ingest` and `local --source live` share. */
export interface LiveSourceFlags {
  /** `--api-url URL`: CoinGecko base URL; defaults to the plan's host. */
  apiUrl?: string;
  /** `--api-key KEY`: CoinGecko key; defaults to the {@link API_KEY_ENV} environment variable, else keyless. */
  apiKey?: string;
  /** `--plan`: `demo`, `pro` or `keyless`; defaults to `demo` with a key, else `keyless`. */
  plan?: string;
}

/** CoinGecko as the flags configure it. */
export interface LiveSource {
  /** The plan in effect. */
  plan: CoinGeckoPlan;
  /** The key in effect (the flag, else the environment variable), for redaction; undefined when keyless. */
  apiKey?: string;
  /** Where requests go: the flag, else the plan's host. */
  baseUrl: string;
  /**
   * Builds the snapshot source, telling `onRetry` about each retry before its wait (the commands print
   * {@link describeRetry} of it, so a wait of a minute is not silence). Throws a configuration error,
   * before any request, when plan, key and host do not fit together or the base URL can never work.
   */
  createSource(onRetry: (notice: RetryNotice) => void): SnapshotSource;
  /** The same CoinGecko as a client for other endpoints too (backfill); `topN` sizes its snapshot (defaults to the client's). */
  createClient(onRetry: (notice: RetryNotice) => void, topN?: number): CoinGeckoClient;
}

/** Reads the live-source flags, with the key from `env` when `--api-key` is absent; throws for an unknown plan. */
export function liveSourceFromFlags(flags: LiveSourceFlags, env: Record<string, string | undefined>): LiveSource {
  if (flags.plan !== undefined && !COINGECKO_PLANS.includes(flags.plan as CoinGeckoPlan)) {
    throw new Error(`--plan must be one of ${COINGECKO_PLANS.join(", ")}; got "${flags.plan}"`);
  }
  const envKey = env[API_KEY_ENV]?.trim();
  const apiKey = flags.apiKey ?? (envKey === undefined || envKey === "" ? undefined : envKey);
  const plan = resolvePlan(flags.plan as CoinGeckoPlan | undefined, apiKey);
  return {
    plan,
    apiKey,
    baseUrl: flags.apiUrl ?? DEFAULT_BASE_URLS[plan],
    createSource: (onRetry) => createClient(onRetry).snapshot,
    createClient,
  };

  function createClient(onRetry: (notice: RetryNotice) => void, topN?: number): CoinGeckoClient {
    return createCoinGeckoClient({ plan, apiKey, baseUrl: flags.apiUrl, topN, onRetry });
  }
}

/** A retry as one status line: which attempt failed, why, and when the next one starts. */
export function describeRetry(notice: RetryNotice): string {
  return `CoinGecko ${notice.label}: attempt ${notice.retry} failed (${notice.reason}); attempt ${notice.retry + 1} in ${(notice.delayMs / 1000).toFixed(1)} s`;
}

/** Options of {@link ingestCommand} (the CLI flags, plus injection points for tests). */
export interface IngestCommandOptions extends LiveSourceFlags {
  /** `--lake DIR`: the local lake folder: a lake, or a missing or empty folder to start one in ({@link requireLakeOrNew}). */
  lake: string;
  /** `--at ISO-8601`: the scheduled time this run stands for, past times included; defaults to now. */
  at?: string;
  /** Environment to read {@link API_KEY_ENV} from. Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Clock for the default `--at`. Defaults to `Date.now`. */
  now?: () => number;
  /** Where JSON log lines go. Defaults to stderr, keeping stdout for the result. */
  logSink?: LineSink;
  /** Receives a {@link describeRetry} line before each retry's wait. Defaults to stderr, keeping stdout for the result. */
  status?: (line: string) => void;
}

/**
 * Fetches one snapshot and writes it into the lake folder; resolves the {@link IngestResult}, rejects with a
 * one-line reason (bad flag, CoinGecko error, invalid body). Flags are checked before any request.
 */
export async function ingestCommand(opts: IngestCommandOptions): Promise<IngestResult> {
  const scheduledTime = opts.at === undefined ? new Date((opts.now ?? Date.now)()) : parseIsoTime(opts.at, "--at");
  const live = liveSourceFromFlags(opts, opts.env ?? process.env);
  requireLakeOrNew(opts.lake);
  const logSink = opts.logSink ?? ((line: string) => process.stderr.write(line + "\n"));
  const secrets = live.apiKey === undefined ? [] : [live.apiKey];
  const logger = createLogger("ingest", { secrets, sink: logSink });
  const status = opts.status ?? ((line: string) => process.stderr.write(`crypto-analytics: ${line}\n`));
  const source = live.createSource((notice) => status(redact(describeRetry(notice), secrets)));
  return runIngest({
    store: new LocalObjectStore(opts.lake),
    source,
    scheduledTime,
    vsCurrency: DEFAULT_VS_CURRENCY,
    logger,
    // No CloudWatch on a laptop: the log line of each run already carries coins, drops, retries and latency.
    metrics: createMetrics("local", { sink: () => undefined }),
  });
}
