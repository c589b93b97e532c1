/**
 * `npm run bench [-- --quick] [--out FILE] [--lakes DIR]`: measures ingest, deployment archives, the local
 * transform, every view (on the long-lived engine that holds the window in memory, and reading the files as
 * the one-shot CLI does), the dashboard server's refresh, memory and start-up, the CLI's `query`, Parquet
 * against NDJSON.gz and the Athena cost of the dashboard; prints a table of every figure and target and
 * writes `bench/results.json` (see bench/report.ts for its shape).
 *
 * `--quick` is a smoke run (small lakes, few repetitions) whose numbers are not the published ones.
 * Simulated histories are cached under `--lakes` (default `bench/.lakes/`), keyed by their parameters and
 * rolled forward to the current slot on each run, so only the first run pays for writing them.
 */
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ZIP_BUDGET_BYTES } from "../__tests__/helpers/functionZip";
import { dashboardViews } from "../dashboard/spec";
import { floorToHour, HOUR_SECONDS, SNAPSHOT_SLOT_SECONDS } from "../functions/partitions";
import { viewNames } from "../functions/sqlFiles";
import { DuckDbEngine } from "../local/duckdbEngine";
import { DashboardProcessBench, measureCliQuery, measureDashboardProcess, measureMemoryViews, transpileCli } from "./localEngine";
import { billedBytes, modelledScanBytes, monthlyCostUsd, windowChunks } from "./athenaCost";
import { FormatBench, compareFormats } from "./formatComparison";
import { measureArchives, MODULE_LOAD_RUNS } from "./functionArchives";
import { measureIngest } from "./ingestTiming";
import { cachedHistory, DAY_SECONDS, HistorySpec, linkProcessed } from "./lakes";
import { BenchResults, machineInfo, renderMarkdown, renderReport, Target, target } from "./report";
import { Figure, single } from "./stats";
import { measureFullMaterialisation, measureIncremental } from "./transformTiming";
import { measureViews, ViewMeasurement } from "./viewScans";

/** The repository root (bench/ is one level below it). */
const REPO_ROOT = path.resolve(__dirname, "..");

/** Where results go by default (git-ignored; the README carries the published table). */
const DEFAULT_RESULTS_FILE = path.join(REPO_ROOT, "bench", "results.json");
/** The published page a full run rewrites (a quick run's numbers are not published). */
const BENCHMARKS_DOC = path.join(REPO_ROOT, "docs", "benchmarks.md");

/** Where simulated histories are cached by default (git-ignored). */
const DEFAULT_LAKES_DIR = path.join(REPO_ROOT, "bench", ".lakes");

/** The targets of issues 6 and 13. */
const TARGETS = {
  /** Median of our own ingest work per 250-coin snapshot, ms. */
  ingestOwnWorkMs: 15,
  /** Median latency of each view on the long-lived engine over the long history and over a year, ms. */
  viewLatencyMs: 50,
  /** Median full refresh of the dashboard page (every API call it makes) over the long history, ms. */
  dashboardRefreshMs: 150,
  /** Resident memory of the long-lived engine's process over a year, bytes (500 MB). */
  dashboardRssBytes: 500e6,
  /** The one-shot `crypto-analytics query` over a year, end to end, ms. */
  cliQueryMs: 1_500,
  /** Latest top 100 from analytics/ against raw NDJSON, at least this many times faster. */
  top100Speedup: 20,
  /** One hourly incremental transform, ms. */
  incrementalTransformMs: 100,
} as const;

/** How much a run measures. */
interface BenchProfile {
  mode: "full" | "quick";
  ingestRuns: number;
  ingestWarmup: number;
  /** The cached history; the long lake is all of it. */
  history: HistorySpec;
  /** The year's cached history (sparser before the window, as the long one is); its lake is all of it. */
  yearHistory: HistorySpec;
  /** Days of the short lake (the newest days of the history). */
  shortDays: number;
  /** Full materialisations of the short and of the long lake. */
  materialiseRuns: { short: number; long: number };
  /** Runs of each view, after one warm-up... */
  viewRuns: number;
  /** ...or fewer (at least three) once this much time was spent on the view, ms. */
  viewBudgetMs: number;
  /** Alternating runs of the two top-100 queries. */
  top100Runs: number;
  /** Times DuckDB is started over a lake. */
  engineStartRuns: number;
  /** Timed full refreshes of the dashboard, after one warm-up. */
  refreshRuns: number;
  /** Timed runs of the CLI's `query`, after one warm-up. */
  cliRuns: number;
  /** Fresh Node processes loading each function's archive. */
  moduleLoadRuns: number;
}

const FULL: BenchProfile = {
  mode: "full",
  ingestRuns: 50,
  ingestWarmup: 5,
  // 5-minute snapshots (production) for the newest 12 days, which hold every partition the views' window
  // reaches (the current hour and the 168 before it) with days to spare; 15-minute snapshots before, so
  // building and materialising 30 days stays within minutes.
  history: { days: 30, everySeconds: 900, denseDays: 12, denseEverySeconds: 300, coins: 250, seed: 42 },
  // The same newest 12 days; one snapshot every 6 hours before, so the year has 353 more days of hour
  // folders (1,412) while building and materialising it stays within minutes.
  yearHistory: { days: 365, everySeconds: 21_600, denseDays: 12, denseEverySeconds: 300, coins: 250, seed: 42 },
  shortDays: 7,
  materialiseRuns: { short: 2, long: 1 },
  viewRuns: 15,
  viewBudgetMs: 4_000,
  top100Runs: 2,
  engineStartRuns: 5,
  refreshRuns: 15,
  cliRuns: 5,
  moduleLoadRuns: MODULE_LOAD_RUNS,
};

const QUICK: BenchProfile = {
  mode: "quick",
  ingestRuns: 5,
  ingestWarmup: 2,
  history: { days: 2, everySeconds: 3600, denseDays: 0, denseEverySeconds: 3600, coins: 20, seed: 42 },
  yearHistory: { days: 3, everySeconds: 21_600, denseDays: 1, denseEverySeconds: 3600, coins: 20, seed: 42 },
  shortDays: 1,
  materialiseRuns: { short: 1, long: 1 },
  viewRuns: 1,
  viewBudgetMs: 0,
  top100Runs: 1,
  engineStartRuns: 1,
  refreshRuns: 1,
  cliRuns: 1,
  moduleLoadRuns: 3,
};

/** Command-line options. */
interface BenchArgs {
  quick: boolean;
  out: string;
  lakes: string;
}

/** Parses `--quick`, `--out FILE`, `--lakes DIR`; throws for anything else. */
function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { quick: false, out: DEFAULT_RESULTS_FILE, lakes: DEFAULT_LAKES_DIR };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new Error(`${arg} needs a value`);
      return path.resolve(next);
    };
    if (arg === "--quick") args.quick = true;
    else if (arg === "--out") args.out = value();
    else if (arg === "--lakes") args.lakes = value();
    else throw new Error(`unknown argument ${JSON.stringify(arg)}; usage: npm run bench -- [--quick] [--out FILE] [--lakes DIR]`);
  }
  return args;
}

/** A history in words, e.g. `30 days, 250 coins (seed 42): every 5 min for the newest 12 days, every 15 min before`. */
function historyText(h: HistorySpec): string {
  const cadence =
    h.denseDays > 0
      ? `every ${h.denseEverySeconds / 60} min for the newest ${h.denseDays} days, every ${h.everySeconds / 60} min before`
      : `every ${h.everySeconds / 60} min`;
  return `${h.days} days, ${h.coins} coins (seed ${h.seed}): ${cadence}`;
}

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/** One lake (short or long history) measured end to end. */
interface LakeMeasurement {
  label: string;
  /** Full materialisation, incremental run and DuckDB start figures. */
  transformFigures: Figure[];
  views: ViewMeasurement[];
  /** Each view on the long-lived engine (window in memory). */
  memoryViews: { view: string; latency: Figure }[];
  /** The dashboard server in its own process: start-up, memory, refresh. */
  dashboard: DashboardProcessBench;
  /** The one-shot CLI `query`, end to end. */
  cliQuery: Figure;
  formats: FormatBench;
  incrementalMs: number;
  /** Billed Athena bytes of each view (per query), by view name. */
  billed: Map<string, number>;
  /** Partitions inside the window holding data. */
  windowPartitions: number;
}

/** What {@link measureLake} needs. */
interface LakeRun {
  /** The work lake, holding the history's processed snapshots except the held-out ones. */
  dir: string;
  /** The cached history the held-out snapshots are linked from. */
  cacheDir: string;
  label: string;
  materialiseRuns: number;
  heldOut: readonly number[];
  profile: BenchProfile;
  nowMs: number;
  scratch: string;
  /** `cli/main.js` of the transpiled CLI. */
  cliMain: string;
}

/** The view the CLI's `query` is timed with: the dashboard's headline table. */
const CLI_QUERY_VIEW = "v_top_100";

/**
 * Materialises a work lake (timed), runs the incremental transforms, then measures every view (in memory
 * and from the files), the dashboard server, the CLI's `query`, the top 100 both ways and the window's
 * Parquet metadata.
 */
async function measureLake(run: LakeRun): Promise<LakeMeasurement> {
  const { dir, label, profile } = run;
  const transformFigures = await measureFullMaterialisation(dir, label, run.materialiseRuns, run.nowMs);
  const incremental = await measureIncremental(run.cacheDir, dir, run.heldOut, label, profile.engineStartRuns, run.nowMs);
  transformFigures.push(...incremental.figures);
  const memory = await measureMemoryViews(dir, viewNames(), label, profile.viewRuns, profile.viewBudgetMs);
  transformFigures.push(
    single(`views: long-lived engine opened and the window loaded into memory (in the benchmark's process), ${label}`, "ms", memory.loadMs),
  );
  const dashboard = await measureDashboardProcess(REPO_ROOT, dir, label, profile.refreshRuns);
  const cliQuery = await measureCliQuery(run.cliMain, dir, CLI_QUERY_VIEW, label, profile.cliRuns);
  const engine = await DuckDbEngine.open(dir);
  try {
    const views = await measureViews(engine, viewNames(), label, profile.viewRuns, profile.viewBudgetMs, run.scratch);
    const formats = await compareFormats(engine, label, profile.top100Runs, run.scratch);
    const window = await windowChunks(engine);
    const billed = new Map(views.map((v) => [v.view, billedBytes(modelledScanBytes(v.profile, window))]));
    return {
      label,
      transformFigures,
      views,
      memoryViews: memory.latencies,
      dashboard,
      cliQuery,
      formats,
      incrementalMs: incremental.medianMs,
      billed,
      windowPartitions: window.partitions,
    };
  } finally {
    engine.close();
  }
}

/**
 * The Athena figures: each view's billed scan over the long history, a dashboard refresh and its monthly
 * cost at the short history, the long one and a year, and the top 100 over NDJSON for contrast.
 */
function athenaFigures(short: LakeMeasurement, long: LakeMeasurement, dashboard: readonly string[], longSnapshots: number): Figure[] {
  const figures: Figure[] = [];
  const refresh = (m: LakeMeasurement): number => dashboard.reduce((sum, v) => sum + (m.billed.get(v) ?? 0), 0);
  for (const v of long.views)
    figures.push(single(`athena: view ${v.view} billed scan per query, ${long.label}`, "bytes", long.billed.get(v.view) ?? 0));
  const refreshes = [
    { label: short.label, bytes: refresh(short), partitions: short.windowPartitions },
    { label: long.label, bytes: refresh(long), partitions: long.windowPartitions },
    // A year: the views read only the window's partitions (the long lake's files read are the window's, not
    // the history's), so a year of history leaves the same partitions, bytes and bill as the long lake.
    { label: `365 days (the window's partitions, as at ${long.label})`, bytes: refresh(long), partitions: long.windowPartitions },
  ];
  for (const r of refreshes) {
    figures.push(single(`athena: window partitions the views read, ${r.label}`, "partitions", r.partitions));
    figures.push(single(`athena: dashboard refresh (${dashboard.length} views) billed scan, ${r.label}`, "bytes", r.bytes));
    figures.push(single(`athena: hourly dashboard refresh, monthly cost, ${r.label}`, "USD/month", monthlyCostUsd(r.bytes)));
  }
  // NDJSON has no columns to skip and the query no partitions to prune: it reads every object. A year at
  // the production cadence, from the bytes per snapshot the long lake holds.
  const rawYear = billedBytes((long.formats.processedBytes / longSnapshots) * ((365 * DAY_SECONDS) / SNAPSHOT_SLOT_SECONDS));
  figures.push(
    single(
      `athena: top 100 over processed NDJSON.gz (every object), billed scan, ${long.label}`,
      "bytes",
      billedBytes(long.formats.processedBytes),
    ),
  );
  figures.push(single("athena: top 100 over processed NDJSON.gz (every object), billed scan, 365 days at 5 min", "bytes", rawYear));
  figures.push(
    single("athena: top 100 over processed NDJSON.gz hourly, monthly cost, 365 days at 5 min", "USD/month", monthlyCostUsd(rawYear)),
  );
  return figures;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const profile = args.quick ? QUICK : FULL;
  const started = new Date();
  const loadAtStart = os.loadavg()[0];
  const nowMs = started.getTime();
  const figures: Figure[] = [];
  const scratch = path.join(args.lakes, "scratch");

  progress(`ingest: ${profile.ingestRuns} runs of the 250-coin fixture through the loopback stand-in`);
  const ingest = await measureIngest({ runs: profile.ingestRuns, warmup: profile.ingestWarmup });
  figures.push(...ingest.figures);

  const { history, yearHistory } = profile;
  const caches = [];
  for (const spec of [history, yearHistory]) {
    progress(`history: ${historyText(spec)} (cached in ${args.lakes})`);
    let lastReport = 0;
    const cached = await cachedHistory(args.lakes, spec, nowMs / 1000, (done, total) => {
      if (done === total || performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        progress(`  ingested ${done}/${total}`);
      }
    });
    figures.push(
      single(
        `lake: snapshots ingested to bring the ${spec.days}-day cache up to date (of ${cached.slots.length})`,
        "snapshots",
        cached.ingested,
      ),
    );
    if (cached.ingested > 0)
      figures.push(
        single(
          `lake: simulate + runIngest per snapshot while building the ${spec.days}-day cache`,
          "ms",
          cached.ingestMs / cached.ingested,
        ),
      );
    caches.push(cached);
  }
  const [cache, yearCache] = caches;
  // Inside the repository (an ignored .scratch-* folder), where Node finds node_modules and the CLI its sql/.
  const cliDir = path.join(REPO_ROOT, `.scratch-bench-cli-${process.pid}`);
  const cliMain = await transpileCli(REPO_ROOT, cliDir);

  // The hour before the current one is held out of the full materialisation: its snapshots arrive one
  // per incremental run afterwards, as they would between two scheduled transforms.
  const previousHour = floorToHour(Math.floor(nowMs / 1000)) - HOUR_SECONDS;
  const heldOut = cache.slots.filter((t) => t >= previousHour && t < previousHour + HOUR_SECONDS);
  const last = cache.slots[cache.slots.length - 1];

  const daysLabel = (days: number): string => (days === 1 ? "1 day" : `${days} days`);
  const lakes = [
    { label: daysLabel(profile.shortDays), days: profile.shortDays, runs: profile.materialiseRuns.short, cacheDir: cache.dir },
    { label: daysLabel(history.days), days: history.days, runs: profile.materialiseRuns.long, cacheDir: cache.dir },
    // Its dense days are the long history's slots, so the held-out hour is the same.
    { label: daysLabel(yearHistory.days), days: yearHistory.days, runs: profile.materialiseRuns.long, cacheDir: yearCache.dir },
  ];
  const measured: LakeMeasurement[] = [];
  for (const lake of lakes) {
    const dir = path.join(args.lakes, `work-${lake.days}d`);
    const first = last - lake.days * DAY_SECONDS;
    const linked = await linkProcessed(lake.cacheDir, dir, (t) => t > first && !heldOut.includes(t));
    progress(
      `${lake.label}: ${linked} snapshots linked; full materialisation x${lake.runs}, ${heldOut.length} incremental runs, views, dashboard, CLI query, top 100, Parquet metadata`,
    );
    measured.push(
      await measureLake({
        dir,
        cacheDir: lake.cacheDir,
        label: lake.label,
        materialiseRuns: lake.runs,
        heldOut,
        profile,
        nowMs,
        scratch,
        cliMain,
      }),
    );
  }
  const [short, long, year] = measured;

  for (const m of measured) figures.push(...m.transformFigures);
  for (const m of measured) {
    for (const v of m.memoryViews) figures.push(v.latency);
    figures.push(...m.dashboard.figures, m.cliQuery);
    for (const v of m.views) {
      figures.push(v.latency);
      figures.push(single(`view ${v.view}: files read (profiling, summed over scans), ${m.label}`, "files", v.profile.filesRead));
      figures.push(single(`view ${v.view}: bytes read (DuckDB file-system log), ${m.label}`, "bytes", v.profile.bytesRead));
    }
  }
  for (const m of measured) figures.push(...m.formats.figures);

  const dashboard = dashboardViews();
  figures.push(...athenaFigures(short, long, dashboard, cache.slots.length));

  progress("deployment archives under Pulumi mocks, esbuild bundles");
  const archives = await measureArchives(REPO_ROOT, profile.moduleLoadRuns);
  figures.push(...archives.figures);

  const targets: Target[] = [
    target("ingest: own work per 250-coin snapshot (median)", "<=", TARGETS.ingestOwnWorkMs, ingest.ownWorkMedianMs, "ms"),
    ...archives.sizes.map((s) =>
      target(`archive ${s.function}: zipped, within 2x the minified esbuild floor`, "<=", ZIP_BUDGET_BYTES, s.zipped, "bytes"),
    ),
    ...[long, year].flatMap((m) =>
      m.memoryViews.map((v) =>
        target(
          `view ${v.view}: median latency on the long-lived engine over ${m.label}`,
          "<=",
          TARGETS.viewLatencyMs,
          v.latency.median,
          "ms",
        ),
      ),
    ),
    ...[long, year].flatMap((m) =>
      m.views.map((v) => {
        const before = short.views.find((s) => s.view === v.view)?.profile.filesRead ?? Number.NaN;
        return target(`view ${v.view}: files read at ${m.label} = at ${short.label}`, "=", before, v.profile.filesRead, "files");
      }),
    ),
    target(`dashboard: full refresh (median) over ${long.label}`, "<=", TARGETS.dashboardRefreshMs, long.dashboard.refreshMs, "ms"),
    target(`dashboard server: resident memory over ${year.label}`, "<=", TARGETS.dashboardRssBytes, year.dashboard.rssBytes, "bytes"),
    target(`cli: query ${CLI_QUERY_VIEW} end to end (median) over ${year.label}`, "<=", TARGETS.cliQueryMs, year.cliQuery.median, "ms"),
    target(`top 100: analytics/ faster than raw NDJSON at ${long.label}`, ">=", TARGETS.top100Speedup, long.formats.speedup, "x"),
    target(`transform: hourly incremental run (median), ${long.label}`, "<=", TARGETS.incrementalTransformMs, long.incrementalMs, "ms"),
  ];

  const notes = [
    `lakes: a simulated market written through runIngest: ${historyText(history)}; ` +
      `the ${long.label} lake is the cached history ending at the current slot, the ${short.label} lake its newest ${short.label} (hard links to the same files)`,
    `the hour before the current one (${heldOut.length} snapshot${heldOut.length === 1 ? "" : "s"}) is held out of each full materialisation; its snapshots arrive one per incremental run, then the hour is materialised again as one file`,
    "zips: fflate deflate level 6; the deployed archive is the serialized handler bundled by esbuild, unminified (readable stack traces); the floor is the handler module bundled and minified",
    `module load: require("./__index.js") of the archive in ${profile.moduleLoadRuns} fresh Node processes, only the AWS SDK on NODE_PATH, the function's environment set`,
    `the ${year.label} lake: ${historyText(yearHistory)}; its newest 12 days are the same market as the ${long.label} lake's`,
    "view latency: CREATE TEMP TABLE AS SELECT * FROM view (the whole result, not converted to JS), after one warm-up run; v_recent_prices, the window itself, as count(*) and max(timestamp), which is what a page needs of it; " +
      "on the long-lived engine (the dashboard server's: the window's rows held in memory, loaded once) and on the one-shot engine (query, dashboard export: the window's files read by each statement)",
    "dashboard: bench/dashboardProcess.ts in its own Node process under ts-node (as npm start runs local mode; its resident memory includes ts-node and the TypeScript compiler): start-up is startDashboardServer, a refresh is the spec and every view the page fetches, concurrently over HTTP, after one warm-up",
    `cli: node running the CLI's modules transpiled one per file (as dist/ holds them), query ${CLI_QUERY_VIEW} --format json, from spawn to exit, after one warm-up run`,
    `files read: the views read the hour partitions of their window (the current hour and the 168 before it), which both lakes fill, so the counts do not depend on history`,
    "files read: sum of Total Files Read over the plan's TABLE_SCANs (DuckDB JSON profiling); bytes read: READ bytes in DuckDB's FileSystem log; " +
      "a view built on v_latest_snapshot scans the window once for the newest partition and once more, pruned to that partition at run time",
    "view latency: mostly DuckDB planning the scan of the window (the engine lists the window's 8 days of hour folders, then DuckDB evaluates the views' clock predicate once per file, ~0.1 ms a file), the same at any history; executing over the window's files is a fraction",
    "athena model: each Parquet scan of a view's DuckDB plan reads its data columns' chunks (parquet_metadata total_compressed_size) in every file " +
      "of the window's partitions, no run-time pruning; per query rounded up to whole MB (10^6 bytes) with a 10 MB minimum; $5 per TB (10^12 bytes); " +
      `an hourly refresh of the dashboard's ${dashboard.length} views (${dashboard.join(", ")}), 730 refreshes a month`,
    `athena at 365 days: modelled from the ${long.label} lake's window (the views read only the window's partitions; the ${year.label} lake's files read are the same, see the targets), so the refresh scans what it scans at ${long.label}`,
  ];
  const results: BenchResults = {
    mode: profile.mode,
    durationSeconds: (Date.now() - nowMs) / 1000,
    machine: machineInfo(started, loadAtStart),
    figures,
    targets,
    notes,
  };
  await fs.mkdir(path.dirname(args.out), { recursive: true });
  await fs.writeFile(args.out, JSON.stringify(results, null, 2) + "\n");
  if (profile.mode === "full") await fs.writeFile(BENCHMARKS_DOC, renderMarkdown(results));
  await fs.rm(scratch, { recursive: true, force: true });
  await fs.rm(cliDir, { recursive: true, force: true });
  process.stdout.write(renderReport(results) + "\n");
  progress(`results written to ${args.out}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
