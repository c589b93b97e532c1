/**
 * The long-lived engine as local mode runs it, in a process of its own so its memory is its own:
 * `node -r ts-node/register/transpile-only bench/dashboardProcess.ts LAKE RUNS` starts the dashboard server
 * on LAKE (DuckDB with the views' window in memory), then makes the page's full refresh (the spec and
 * every view the page fetches, concurrently as the page does) RUNS times after one warm-up, and prints one
 * JSON line: {@link DashboardProcessReport}. Run by bench/localEngine.ts.
 */
import { dashboardViews } from "../dashboard/spec";
import { SPEC_API_PATH, startDashboardServer, VIEWS_API_PREFIX } from "../local/dashboardServer";

/** What the process prints. */
export interface DashboardProcessReport {
  /** Wall time of startDashboardServer: DuckDB opened, the window loaded, the spec checked, listening. */
  startMs: number;
  /** Resident set size once started, bytes. */
  rssAfterStartBytes: number;
  /** Wall time of each timed refresh. */
  refreshMs: number[];
  /** Largest resident set size seen (after the refreshes), bytes. */
  rssBytes: number;
}

/** Every API call of one refresh of the page: the spec and each view, concurrently. */
export function refreshPaths(): string[] {
  return [SPEC_API_PATH, ...dashboardViews().map((v) => `${VIEWS_API_PREFIX}${v}`)];
}

async function main(): Promise<void> {
  const [lake, runsText] = process.argv.slice(2);
  const runs = Number(runsText);
  if (lake === undefined || !Number.isInteger(runs) || runs < 1) throw new Error("usage: dashboardProcess.ts LAKE RUNS");
  const started = performance.now();
  const server = await startDashboardServer({ lake, port: 0 });
  const startMs = performance.now() - started;
  const rssAfterStartBytes = process.memoryUsage().rss;
  try {
    const refresh = async (): Promise<void> => {
      await Promise.all(
        refreshPaths().map(async (p) => {
          const response = await fetch(new URL(p.slice(1), server.url));
          if (!response.ok) throw new Error(`${p} answered ${response.status}`);
          await response.json();
        }),
      );
    };
    await refresh();
    const refreshMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await refresh();
      refreshMs.push(performance.now() - t);
    }
    const report: DashboardProcessReport = {
      startMs,
      rssAfterStartBytes,
      refreshMs,
      rssBytes: Math.max(rssAfterStartBytes, process.memoryUsage().rss),
    };
    process.stdout.write(JSON.stringify(report) + "\n");
  } finally {
    await server.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
