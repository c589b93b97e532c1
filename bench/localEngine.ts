/**
 * Local mode's two ways of running the views, measured as users meet them:
 * - the long-lived engine (the dashboard server, window in memory): each view's latency once loaded, and,
 *   in a process of its own (bench/dashboardProcess.ts), its start-up, the page's full refresh over HTTP
 *   and its resident memory;
 * - the one-shot `crypto-analytics query` (window read from the files): a fresh Node process running the
 *   CLI, from spawn to exit, with the CLI's modules transpiled one file per module as `npm run build` lays
 *   them out (esbuild instead of tsc, which takes minutes on a busy machine and emits the same modules).
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { build } from "esbuild";
import { DuckDbEngine } from "../local/duckdbEngine";
import type { DashboardProcessReport } from "./dashboardProcess";
import { Figure, nowMs, single, summarize, timeRuns } from "./stats";
import { queryLatency, viewQuery } from "./viewScans";

/** Each view's latency on the long-lived engine over one lake. */
export interface MemoryViews {
  /** One figure per view, in the order given. */
  latencies: { view: string; latency: Figure }[];
  /** Opening the engine and loading the window (its first view statement), ms. */
  loadMs: number;
}

/**
 * Opens an engine holding the window in memory on `lake`, loads it with a first view statement (timed with
 * the open), then times {@link viewQuery} of each view as {@link queryLatency} does.
 */
export async function measureMemoryViews(
  lake: string,
  views: readonly string[],
  label: string,
  runs: number,
  budgetMs: number,
): Promise<MemoryViews> {
  const started = nowMs();
  const engine = await DuckDbEngine.open(lake, { window: "memory" });
  try {
    await engine.execute(viewQuery("v_recent_prices"));
    const loadMs = nowMs() - started;
    const latencies = [];
    for (const view of views)
      latencies.push({
        view,
        latency: await queryLatency(
          engine,
          `view ${view}: latency on the long-lived engine (window in memory), ${label}`,
          viewQuery(view),
          runs,
          budgetMs,
        ),
      });
    return { latencies, loadMs };
  } finally {
    engine.close();
  }
}

/** What {@link measureDashboardProcess} found. */
export interface DashboardProcessBench {
  figures: Figure[];
  /** Median full refresh, ms. */
  refreshMs: number;
  /** Largest resident set size of the process, bytes. */
  rssBytes: number;
}

/** Runs bench/dashboardProcess.ts on `lake` under ts-node (as `npm start` runs local mode) and reads its report. */
export async function measureDashboardProcess(repoRoot: string, lake: string, label: string, runs: number): Promise<DashboardProcessBench> {
  const { stdout } = await run(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(repoRoot, "bench", "dashboardProcess.ts"), lake, String(runs)],
    repoRoot,
  );
  const report = JSON.parse(stdout.trim().split("\n").pop() ?? "") as DashboardProcessReport;
  const refresh = summarize(
    `dashboard: full refresh (the spec and every view the page fetches, over HTTP), ${label}`,
    "ms",
    report.refreshMs,
  );
  return {
    refreshMs: refresh.median,
    rssBytes: report.rssBytes,
    figures: [
      single(`dashboard server: start-up (DuckDB opened, window loaded into memory, spec checked), ${label}`, "ms", report.startMs),
      single(`dashboard server: resident memory once started, ${label}`, "bytes", report.rssAfterStartBytes),
      single(`dashboard server: resident memory after the refreshes, ${label}`, "bytes", report.rssBytes),
      refresh,
    ],
  };
}

/**
 * Transpiles the package's modules (the folders tsconfig.build.json compiles) into `outDir`, one CommonJS file
 * per module as tsc lays out dist/, inside the repository so the SQL and page folders are found above them.
 * Returns the path of `cli/main.js`.
 */
export async function transpileCli(repoRoot: string, outDir: string): Promise<string> {
  const entryPoints: string[] = [];
  const { include } = JSON.parse(await fs.readFile(path.join(repoRoot, "tsconfig.build.json"), "utf8")) as { include: string[] };
  // Each include is `<folder>/**/*.ts`; components/ is left out, as the CLI never loads it (nor Pulumi).
  const dirs = include.map((pattern) => pattern.split("/")[0]).filter((dir) => dir !== "components");
  for (const dir of dirs) {
    for (const name of await fs.readdir(path.join(repoRoot, dir)))
      if (name.endsWith(".ts")) entryPoints.push(path.join(repoRoot, dir, name));
  }
  await build({
    entryPoints,
    outdir: outDir,
    outbase: repoRoot,
    bundle: false,
    format: "cjs",
    platform: "node",
    target: "node20",
    logLevel: "silent",
  });
  return path.join(outDir, "cli", "main.js");
}

/** End-to-end wall time of `crypto-analytics query VIEW --lake LAKE --format json` in a fresh process, `runs` times after one warm-up. */
export async function measureCliQuery(cliMain: string, lake: string, view: string, label: string, runs: number): Promise<Figure> {
  const samples = await timeRuns(
    runs,
    () => run(process.execPath, [cliMain, "query", view, "--lake", lake, "--format", "json"], path.dirname(cliMain)),
    1,
  );
  return summarize(`cli: query ${view} end to end (a fresh process, window read from the files), ${label}`, "ms", samples);
}

/** Runs a command to completion; rejects with its stderr when it exits non-zero. */
function run(command: string, args: string[], cwd: string): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve({ stdout: Buffer.concat(out).toString("utf8") })
        : reject(new Error(`${path.basename(args[0] ?? command)} exited ${code}: ${Buffer.concat(err).toString("utf8").slice(0, 2000)}`)),
    );
  });
}
