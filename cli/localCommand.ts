/**
 * `crypto-analytics local`: the whole pipeline on one machine. A lake folder instead of S3, DuckDB instead
 * of Athena, the in-process scheduler instead of EventBridge (ingest every 5 minutes on the clock, the
 * transform at :05 each hour, a catch-up at start) and the dashboard on http://127.0.0.1:8787 instead of
 * QuickSight. `--source simulate` replaces CoinGecko by the deterministic simulator, so it runs offline;
 * on an empty lake it first writes {@link BACKFILL_DAYS} days of hourly history so every chart has data.
 * Live, an empty lake is first backfilled with that many days of CoinGecko's hourly history of the
 * trendline coins (one market_chart request each); `--no-backfill` skips either.
 * `--once` runs one ingest, one transform and writes the static dashboard into the lake, then exits.
 *
 * Status lines go to stdout; warnings and errors of the runtime code go to stderr as JSON lines.
 */
import * as path from "node:path";
import { runBackfill } from "../functions/backfill";
import { DEFAULT_VS_CURRENCY } from "../functions/coingeckoClient";
import { SnapshotSource } from "../functions/ingest";
import { LocalObjectStore } from "../functions/localObjectStore";
import { ObjectStore } from "../functions/objectStore";
import { createLogger, LineSink, redact } from "../functions/telemetry";
import { DASHBOARD_SPEC } from "../dashboard/spec";
import { DashboardServer, DEFAULT_DASHBOARD_PORT, startDashboardServer } from "../local/dashboardServer";
import {
  acquireLakeLock,
  BACKFILL_DAYS,
  BACKFILL_EVERY_SECONDS,
  createLocalJobs,
  lakeIsEmpty,
  removeAbandonedWrites,
  RepairResult,
  repairInterruptedSnapshots,
} from "../local/localPipeline";
import { Clock, runScheduler, SchedulerEvent, SchedulerStats, SYSTEM_CLOCK } from "../local/scheduler";
import {
  CORE_COINS,
  DEFAULT_SIMULATED_COINS,
  DEFAULT_SIMULATOR_SEED,
  ingestSimulatedHistory,
  MarketSimulator,
  SIMULATOR_VS_CURRENCY,
} from "../local/simulator";
import { dashboardCommand } from "./dashboardCommand";
import { requireLakeOrNew } from "../local/lakeFolder";
import { describeRetry, LiveSource, liveSourceFromFlags } from "./ingestCommand";
import { createProgress, ProgressStream } from "./progress";

/** Where `local` takes snapshots from: CoinGecko, or the offline simulator. */
export const LOCAL_SOURCES = ["live", "simulate"] as const;

/** A snapshot source name of `local`. */
export type LocalSource = (typeof LOCAL_SOURCES)[number];

/** Source of `local` by default. */
export const DEFAULT_LOCAL_SOURCE: LocalSource = "live";

/** File name of the static dashboard `--once` writes into the lake folder. */
export const STATIC_DASHBOARD_FILE = "dashboard.html";

/** Options of {@link localCommand}: the CLI flags (numbers may come as text), then injection points for tests. */
export interface LocalCommandOptions {
  /** `--lake DIR`: the lake folder: a lake, or a missing or empty folder to start one in ({@link requireLakeOrNew}). */
  lake: string;
  /** `--source`: `live` (CoinGecko) or `simulate`. Defaults to {@link DEFAULT_LOCAL_SOURCE}. */
  source?: string;
  /** `--api-url`: CoinGecko base URL (live only). Defaults to the plan's host. */
  apiUrl?: string;
  /** `--api-key`: CoinGecko key (live only). Defaults to the {@link API_KEY_ENV} environment variable, else keyless. */
  apiKey?: string;
  /** `--plan`: demo, pro or keyless (live only). Defaults to demo with a key, else keyless. */
  plan?: string;
  /** `--port`: dashboard port on 127.0.0.1, 0 for any free one. Defaults to {@link DEFAULT_DASHBOARD_PORT}. */
  port?: number | string;
  /** `--once`: one ingest, one transform, the static dashboard, then return. Defaults to false. */
  once?: boolean;
  /** `--out`: where `--once` writes the static dashboard. Defaults to {@link STATIC_DASHBOARD_FILE} in the lake folder. */
  out?: string;
  /** `--coins` (simulate only). Defaults to {@link DEFAULT_SIMULATED_COINS}. */
  coins?: number | string;
  /** `--seed` (simulate only). Defaults to {@link DEFAULT_SIMULATOR_SEED}. */
  seed?: number | string;
  /** `--verbose`: every JSON log line of the runtime code on stderr, not only warnings and errors. Defaults to false. */
  verbose?: boolean;
  /** Environment to read {@link API_KEY_ENV} from. Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Stops the run (the CLI aborts it on SIGINT/SIGTERM). Defaults to never. */
  signal?: AbortSignal;
  /** The scheduler's clock. Defaults to {@link SYSTEM_CLOCK}. */
  clock?: Clock;
  /** Replaces the source `source` names (tests, fault injection). */
  snapshotSource?: SnapshotSource;
  /** Replaces the lake's object store for ingest writes (fault injection). Defaults to a LocalObjectStore on `lake`. */
  store?: ObjectStore;
  /** Seconds between ingests. Defaults to the 5-minute slot. */
  ingestEverySeconds?: number;
  /**
   * Days of history written into an empty lake: simulated (simulate), or CoinGecko's market_chart of the
   * trendline coins (live); 0 for none. Defaults to {@link BACKFILL_DAYS}.
   */
  backfillDays?: number;
  /** `--no-backfill` sets it false: an empty lake starts without history. Defaults to true. */
  backfill?: boolean;
  /** Receives each status line. Defaults to stdout. */
  status?: (line: string) => void;
  /** Receives the runtime code's JSON log lines. Defaults to stderr, warnings and errors only unless `verbose`. */
  logSink?: LineSink;
  /** Where the backfill's progress is drawn. Defaults to stderr. */
  progressStream?: ProgressStream;
  /** Called once the dashboard server listens, with its URL. Defaults to none. */
  onServerReady?: (url: string) => void;
}

/** What a {@link localCommand} run did. */
export interface LocalRunResult {
  /** Dashboard URL while it ran (not with `--once`). */
  url?: string;
  /** Static dashboard path (`--once` only). */
  dashboardFile?: string;
  /** Jobs run by the scheduler. */
  stats: SchedulerStats;
  /** Snapshots written into an empty lake at start (simulated, or backfilled from CoinGecko's history). */
  backfilled: number;
  /** Half-written snapshots found at start, over the whole lake. */
  repair: RepairResult;
  /** Temporary files and staging folders of killed processes removed at start, lake-relative. */
  removedLeftovers: string[];
}

/**
 * Runs local mode until `signal` aborts (or once). Flags are checked before anything is written. Start-up:
 * lock the lake, remove what killed processes left in its temporary and staging folders, serve the
 * dashboard, backfill an empty lake (simulate), finish half-written snapshots, then the schedule (whose
 * transform job finishes snapshots a failed write leaves meanwhile). Stopping waits for the running job
 * and leaves no partial file.
 */
export async function localCommand(options: LocalCommandOptions): Promise<LocalRunResult> {
  const env = options.env ?? process.env;
  const source = (options.source ?? DEFAULT_LOCAL_SOURCE) as LocalSource;
  if (!LOCAL_SOURCES.includes(source))
    throw new Error(`--source must be one of ${LOCAL_SOURCES.join(", ")}; got ${JSON.stringify(options.source)}`);
  const liveOnly = { "--api-url": options.apiUrl, "--api-key": options.apiKey, "--plan": options.plan };
  const simulateOnly = { "--coins": options.coins, "--seed": options.seed };
  for (const [flag, value] of Object.entries(source === "live" ? simulateOnly : liveOnly)) {
    if (value !== undefined) throw new Error(`${flag} applies to --source ${source === "live" ? "simulate" : "live"} only`);
  }
  const port = integerOption("--port", options.port ?? DEFAULT_DASHBOARD_PORT, 0, 65_535);
  const signal = options.signal ?? new AbortController().signal;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const lake = path.resolve(options.lake);
  const live: LiveSource | undefined = source === "live" ? liveSourceFromFlags(options, env) : undefined;
  const secrets = live?.apiKey === undefined ? [] : [live.apiKey];
  const say = (line: string): void =>
    (options.status ?? ((l: string) => process.stdout.write(l + "\n")))(
      `${new Date(clock.now()).toISOString().slice(11, 19)} ${redact(line, secrets)}`,
    );
  const logSink =
    options.logSink ??
    ((line: string) => (options.verbose === true || !line.startsWith('{"level":"info"') ? process.stderr.write(line + "\n") : undefined));
  const logger = createLogger("local", { secrets, sink: logSink });
  const metrics = { emit: () => undefined };

  let simulator: MarketSimulator | undefined;
  let snapshotSource = options.snapshotSource;
  let describeSource: string;
  if (live === undefined) {
    simulator = new MarketSimulator({
      coins: integerOption("--coins", options.coins ?? DEFAULT_SIMULATED_COINS, 4, 100_000),
      seed: integerOption("--seed", options.seed ?? DEFAULT_SIMULATOR_SEED, 0, 2 ** 32 - 1),
    });
    snapshotSource ??= simulator.source();
    describeSource = "simulated market (offline)";
  } else {
    snapshotSource ??= live.createSource((notice) => say(describeRetry(notice)));
    describeSource = `CoinGecko ${live.baseUrl} (${live.plan})`;
  }
  const vsCurrency = source === "simulate" ? SIMULATOR_VS_CURRENCY : DEFAULT_VS_CURRENCY;
  const store = options.store ?? new LocalObjectStore(lake);
  const deps = { lake, store, source: snapshotSource, vsCurrency, clock, logger, metrics, regenerate: simulator?.source() };

  requireLakeOrNew(lake);
  const release = await acquireLakeLock(lake);
  let server: DashboardServer | undefined;
  try {
    say(`lake ${lake}; snapshots from ${describeSource}`);
    const removedLeftovers = await removeAbandonedWrites(lake);
    if (removedLeftovers.length > 0)
      say(`removed ${removedLeftovers.length} temporary file(s) and staging folder(s) that killed processes left`);
    if (options.once !== true) {
      server = await startDashboardServer({
        lake,
        port,
        now: () => clock.now(),
        onError: (view, err) =>
          logger.error("dashboard view failed", { view, errorMessage: err instanceof Error ? err.message : String(err) }),
      });
      say(`dashboard ${server.url} (refreshes every ${DASHBOARD_SPEC.refreshSeconds} s; Ctrl+C stops)`);
      options.onServerReady?.(server.url);
    }

    let backfilled = 0;
    const backfillDays = options.backfill === false ? 0 : (options.backfillDays ?? BACKFILL_DAYS);
    // Only when CoinGecko is the source: an injected snapshot source (tests, fault injection) is not.
    if (live !== undefined && options.snapshotSource === undefined && backfillDays > 0 && !signal.aborted && (await lakeIsEmpty(lake))) {
      const coins = CORE_COINS.map(({ id, symbol, name }) => ({ id, symbol, name }));
      say(
        `empty lake: backfilling ${backfillDays} days of CoinGecko history of ${coins.map((c) => c.id).join(", ")} (one request each), so the 7-day charts are real at once (--no-backfill skips it)`,
      );
      const progress = createProgress({ label: "coins", stream: options.progressStream });
      try {
        const r = await runBackfill({
          store,
          client: live.createClient((notice) => say(describeRetry(notice))),
          coins,
          days: backfillDays,
          nowMs: clock.now(),
          vsCurrency,
          logger,
          onProgress: (done, total, detail) => progress.update(done, total, detail),
        });
        progress.finish(`${r.slotsWritten} snapshots`);
        backfilled = r.slotsWritten;
      } catch (err) {
        // History is a head start, not a precondition: the live schedule runs without it.
        progress.finish("failed");
        say(`backfill failed, starting with live snapshots only: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (simulator !== undefined && backfillDays > 0 && !signal.aborted && (await lakeIsEmpty(lake))) {
      say(`empty lake: writing ${backfillDays} days of simulated history, one snapshot per hour, so every chart has data`);
      const nowSeconds = Math.floor(clock.now() / 1000);
      const progress = createProgress({ label: "snapshots", stream: options.progressStream });
      backfilled = await ingestSimulatedHistory({
        store,
        simulator,
        // Whole hours before the current slot; the scheduler ingests the current slot itself.
        fromEpochSeconds: nowSeconds - (nowSeconds % BACKFILL_EVERY_SECONDS) - backfillDays * 86_400,
        toEpochSeconds: nowSeconds - (nowSeconds % BACKFILL_EVERY_SECONDS) - BACKFILL_EVERY_SECONDS,
        everySeconds: BACKFILL_EVERY_SECONDS,
        logger,
        metrics,
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.finish();
    }

    const repair = await repairInterruptedSnapshots(deps, "lake");
    if (repair.repaired.length > 0) say(`finished ${repair.repaired.length} snapshot(s) a stopped run had left half-written`);
    if (repair.unrecoverable.length > 0)
      say(`${repair.unrecoverable.length} half-written snapshot(s) cannot be finished (see the log); they stay in raw/ only`);

    const failures: string[] = [];
    let announcedWait = false;
    const onEvent = (event: SchedulerEvent): void => {
      if (event.type === "job-done") say(`${event.job} ${event.detail}: ${event.summary} (${seconds(event.durationMs)})`);
      if (event.type === "job-failed") {
        const reason = event.error instanceof Error ? event.error.message : String(event.error);
        failures.push(`${event.job} ${event.detail} failed: ${reason}`);
        say(`${event.job} ${event.detail} FAILED (${seconds(event.durationMs)}): ${reason}`);
      }
      if (event.type === "slots-missed")
        say(`${event.count} ingest slot(s) from ${new Date(event.firstSlot * 1000).toISOString()} passed while a job ran; they stay empty`);
      if (event.type === "waiting" && !announcedWait) {
        announcedWait = true;
        say(
          `running: next ingest ${new Date(event.nextIngest * 1000).toISOString()}, next transform ${new Date(event.nextTransform * 1000).toISOString()}`,
        );
      }
    };
    const jobs = createLocalJobs(deps);
    const stats = await runScheduler(
      { jobs, clock, ingestEverySeconds: options.ingestEverySeconds, once: options.once, onEvent },
      signal,
    ).finally(() => jobs.close());

    if (options.once === true) {
      const written = await dashboardCommand({ lake, out: options.out ?? path.join(lake, STATIC_DASHBOARD_FILE), now: () => clock.now() });
      say(`static dashboard ${written.out}`);
      if (failures.length > 0) throw new Error(failures.join("; "));
      return { dashboardFile: written.out, stats, backfilled, repair, removedLeftovers };
    }
    say(
      `stopped: ${stats.ingests} ingest(s) (${stats.ingestFailures} failed), ${stats.transforms} transform(s) (${stats.transformFailures} failed)`,
    );
    return { url: server?.url, stats, backfilled, repair, removedLeftovers };
  } finally {
    await server?.close();
    await release();
  }
}

/** An integer option from CLI text or a number, within bounds; throws a clear Error naming the flag. */
export function integerOption(flag: string, value: number | string, min: number, max: number): number {
  const n = typeof value === "number" ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
