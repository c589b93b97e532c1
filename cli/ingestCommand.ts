/**
 * `crypto-analytics ingest`: one snapshot into a local lake folder, through the same runIngest, CoinGecko
 * client and layout as the Lambda, with a folder as the object store.
 */
import { COINGECKO_PLANS, CoinGeckoPlan, createCoinGeckoSource, DEFAULT_VS_CURRENCY } from "../functions/coingeckoClient";
import { IngestResult, parseIsoTime, runIngest } from "../functions/ingest";
import { LocalObjectStore } from "../functions/localObjectStore";
import { createLogger, createMetrics, LineSink } from "../functions/telemetry";

/** Environment variable read for the API key when `--api-key` is not given. */
export const API_KEY_ENV = "CRYPTO_ANALYTICS_API_KEY";

/** Options of {@link ingestCommand} (the CLI flags, plus injection points for tests). */
export interface IngestCommandOptions {
  /** `--lake DIR`: the local lake folder; created on first write. */
  lake: string;
  /** `--api-url URL`: CoinGecko base URL; defaults to the plan's host. */
  apiUrl?: string;
  /** `--api-key KEY`: CoinGecko key; defaults to the {@link API_KEY_ENV} environment variable, else keyless. */
  apiKey?: string;
  /** `--plan`: `demo`, `pro` or `keyless`; defaults to `demo` with a key, else `keyless`. */
  plan?: string;
  /** `--at ISO-8601`: the scheduled time this run stands for; defaults to now. */
  at?: string;
  /** Environment to read {@link API_KEY_ENV} from. Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Clock for the default `--at`. Defaults to `Date.now`. */
  now?: () => number;
  /** Where JSON log lines go. Defaults to stderr, keeping stdout for the result. */
  logSink?: LineSink;
}

/**
 * Fetches one snapshot and writes it into the lake folder; resolves the {@link IngestResult}, rejects with a
 * one-line reason (bad flag, CoinGecko error, invalid body). Flags are checked before any request.
 */
export async function ingestCommand(opts: IngestCommandOptions): Promise<IngestResult> {
  const env = opts.env ?? process.env;
  const scheduledTime = opts.at === undefined ? new Date((opts.now ?? Date.now)()) : parseIsoTime(opts.at, "--at");
  if (opts.plan !== undefined && !COINGECKO_PLANS.includes(opts.plan as CoinGeckoPlan)) {
    throw new Error(`--plan must be one of ${COINGECKO_PLANS.join(", ")}; got "${opts.plan}"`);
  }
  const envKey = env[API_KEY_ENV]?.trim();
  const apiKey = opts.apiKey ?? (envKey === undefined || envKey === "" ? undefined : envKey);
  const logSink = opts.logSink ?? ((line: string) => process.stderr.write(line + "\n"));
  const logger = createLogger("ingest", { secrets: apiKey === undefined ? [] : [apiKey], sink: logSink });
  const source = createCoinGeckoSource({
    plan: opts.plan as CoinGeckoPlan | undefined,
    apiKey,
    baseUrl: opts.apiUrl,
    onRetry: (notice) => logger.warn("retrying CoinGecko", { ...notice }),
  });
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
