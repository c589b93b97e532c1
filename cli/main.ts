#!/usr/bin/env node
/**
 * `crypto-analytics`: the command line. The local-mode commands run the same runtime code and SQL as the
 * AWS deployment, with a folder as the object store and DuckDB as the query engine; `verify` checks a
 * deployed AWS stack end to end.
 */
import { Command, CommanderError, Option } from "commander";
import { DEFAULT_DASHBOARD_PORT } from "../local/dashboardServer";
import { DEFAULT_SIMULATED_COINS, DEFAULT_SIMULATOR_SEED } from "../local/simulator";
import { backfillCommand, DEFAULT_BACKFILL_COINS } from "./backfillCommand";
import { dashboardCommand } from "./dashboardCommand";
import { ingestCommand } from "./ingestCommand";
import { DEFAULT_LOCAL_SOURCE, LOCAL_SOURCES, localCommand, LocalCommandOptions, STATIC_DASHBOARD_FILE } from "./localCommand";
import { createProgress } from "./progress";
import { QUERY_FORMATS, queryCommand } from "./queryCommand";
import { DEFAULT_SIMULATE_EVERY_MINUTES, simulateCommand } from "./simulateCommand";
import { sqlCommand } from "./sqlCommand";
import { localTransform } from "../local/localTransform";
import { verifyCommand, VerifyCommandOptions } from "./verifyCommand";
import {
  DEFAULT_INGEST_CHECK_TIMEOUT_MS,
  DEFAULT_QUICKSIGHT_CHECK_TIMEOUT_MS,
  DEFAULT_TOPIC_CHECK_TIMEOUT_MS,
  DEFAULT_TRANSFORM_CHECK_TIMEOUT_MS,
  DEFAULT_VIEW_CHECK_TIMEOUT_MS,
} from "../verify/checks";
import { EXIT_USAGE } from "../verify/stackOutputs";

/** Default local lake folder of every command. */
export const DEFAULT_LAKE_DIR = "./lake";

/** Builds the command tree; exported so tests can run commands in-process. */
export function buildProgram(): Command {
  const program = new Command("crypto-analytics")
    .description("CoinGecko analytics data lake: local mode on DuckDB, same code and SQL as AWS")
    .showHelpAfterError();

  program
    .command("ingest")
    .description("fetch one CoinGecko snapshot into the lake (raw/ and processed/)")
    .option("--lake <dir>", "lake folder", DEFAULT_LAKE_DIR)
    .option("--api-url <url>", "CoinGecko base URL (defaults to the plan's host)")
    .option("--api-key <key>", "CoinGecko API key (defaults to $CRYPTO_ANALYTICS_API_KEY, else keyless)")
    .option("--plan <plan>", "demo, pro or keyless (defaults to demo with a key, else keyless)")
    .option("--at <iso>", "the scheduled time this snapshot stands for (defaults to now)")
    .action(async (o: { lake: string; apiUrl?: string; apiKey?: string; plan?: string; at?: string }) => {
      const r = await ingestCommand(o);
      process.stdout.write(`${r.status}: ${r.coins} coins at ${new Date(r.timestamp * 1000).toISOString()} -> ${r.processedKey}\n`);
    });

  program
    .command("backfill")
    .description("fetch CoinGecko's hourly history of the top coins into the lake (raw/ and processed/, marked source=backfill); resumable")
    .requiredOption("--days <n>", "days of history, 1-90")
    .option(
      "--coins <n>",
      "how many of the top coins (of the newest snapshot, else of a fresh /coins/markets page)",
      String(DEFAULT_BACKFILL_COINS),
    )
    .option("--lake <dir>", `lake folder (default ${DEFAULT_LAKE_DIR})`)
    .option("--bucket <name>", "S3 bucket of a deployed lake, instead of --lake")
    .option("--api-url <url>", "CoinGecko base URL (defaults to the plan's host)")
    .option("--api-key <key>", "CoinGecko API key (defaults to $CRYPTO_ANALYTICS_API_KEY, else keyless)")
    .option("--plan <plan>", "demo, pro or keyless (defaults to demo with a key, else keyless)")
    .action(async (o: { days: string; coins: string; lake?: string; bucket?: string; apiUrl?: string; apiKey?: string; plan?: string }) => {
      const r = await backfillCommand({ ...o, lake: o.bucket === undefined ? (o.lake ?? DEFAULT_LAKE_DIR) : o.lake });
      const what = r.alreadyCovered
        ? "every hour already held a snapshot, nothing fetched"
        : `${r.slotsWritten} snapshot(s), ${r.rows} rows written, ${r.slotsSkipped} slot(s) left to snapshots already there; ${r.requests} request(s), ${r.reused} stored response(s) reused`;
      process.stdout.write(`backfilled ${r.coins} coin(s) into ${r.target} from ${new Date(r.fromSlot * 1000).toISOString()}: ${what}\n`);
      if (o.bucket === undefined && r.slotsWritten > 0)
        process.stdout.write("run `crypto-analytics transform --all` to materialise them (`local` does at start)\n");
    });

  program
    .command("transform")
    .description("materialise processed snapshots into Parquet under analytics/")
    .option("--lake <dir>", "lake folder", DEFAULT_LAKE_DIR)
    .option("--hour <iso>", "materialise the hour holding this time")
    .option("--all", "materialise every hour that has processed data")
    .action(async (o: { lake: string; hour?: string; all?: boolean }) => {
      const progress = o.all === true ? createProgress({ label: "hours" }) : undefined;
      try {
        const s = await localTransform({ ...o, onProgress: (p) => progress?.update(p.done, p.total, `${p.rowsMaterialised} rows`) });
        progress?.finish();
        process.stdout.write(`materialised ${s.rowsMaterialised} rows in ${s.hours.length} hour(s)\n`);
      } finally {
        progress?.finish();
      }
    });

  program
    .command("query")
    .description("print one of the analytics views")
    .argument("<view>", "view name, e.g. v_top_100")
    .option("--lake <dir>", "lake folder", DEFAULT_LAKE_DIR)
    .addOption(new Option("--format <format>", "output format").choices([...QUERY_FORMATS]).default("table"))
    .action(async (view: string, o: { lake: string; format: (typeof QUERY_FORMATS)[number] }) => {
      process.stdout.write(await queryCommand({ lake: o.lake, view, format: o.format }));
    });

  program
    .command("sql")
    .description(
      "run one read-only SELECT or WITH query over the lake; tables and views as in the Glue catalog (crypto_data.v_top_100 or v_top_100)",
    )
    .argument("<query>", "one SELECT or WITH statement")
    .option("--lake <dir>", "lake folder", DEFAULT_LAKE_DIR)
    .addOption(new Option("--format <format>", "output format").choices([...QUERY_FORMATS]).default("table"))
    .action(async (query: string, o: { lake: string; format: (typeof QUERY_FORMATS)[number] }) => {
      process.stdout.write(await sqlCommand({ lake: o.lake, query, format: o.format }));
    });

  program
    .command("simulate")
    .description("write a deterministic synthetic market history into the lake, through the real ingest path")
    .option("--lake <dir>", "lake folder", DEFAULT_LAKE_DIR)
    .requiredOption("--days <n>", "days of history, ending now")
    .option("--coins <n>", "coins per snapshot", String(DEFAULT_SIMULATED_COINS))
    .option("--seed <n>", "simulator seed (same seed, same market)", String(DEFAULT_SIMULATOR_SEED))
    .option("--every <minutes>", "minutes between snapshots, a multiple of 5", String(DEFAULT_SIMULATE_EVERY_MINUTES))
    .action(async (o: { lake: string; days: string; coins: string; seed: string; every: string }) => {
      const progress = createProgress({ label: "snapshots" });
      try {
        const r = await simulateCommand({
          lake: o.lake,
          days: o.days,
          coins: o.coins,
          seed: o.seed,
          everyMinutes: o.every,
          onProgress: (done, total) => progress.update(done, total),
        });
        progress.finish();
        process.stdout.write(
          `simulated ${r.snapshots} snapshot(s) from ${new Date(r.from * 1000).toISOString()} to ${new Date(r.to * 1000).toISOString()}\n`,
        );
      } finally {
        progress.finish();
      }
    });

  program
    .command("dashboard")
    .description("write the dashboard as one self-contained HTML file (data, styles and charts inlined)")
    .option("--lake <dir>", "lake folder", DEFAULT_LAKE_DIR)
    .requiredOption("--out <file>", "HTML file to write")
    .action(async (o: { lake: string; out: string }) => {
      const r = await dashboardCommand(o);
      process.stdout.write(`wrote ${r.out} (${Math.round(r.bytes / 1024)} KiB)\n`);
    });

  program
    .command("local")
    .description("run the pipeline continuously on this machine: ingest every 5 min, transform hourly, dashboard on 127.0.0.1")
    .option("--lake <dir>", "lake folder", DEFAULT_LAKE_DIR)
    .addOption(new Option("--source <source>", "where snapshots come from").choices([...LOCAL_SOURCES]).default(DEFAULT_LOCAL_SOURCE))
    .option("--api-url <url>", "CoinGecko base URL (live; defaults to the plan's host)")
    .option("--api-key <key>", "CoinGecko API key (live; defaults to $CRYPTO_ANALYTICS_API_KEY, else keyless)")
    .option("--plan <plan>", "demo, pro or keyless (live; defaults to demo with a key, else keyless)")
    .option("--coins <n>", `coins per simulated snapshot (simulate; default ${DEFAULT_SIMULATED_COINS})`)
    .option("--seed <n>", `simulator seed (simulate; default ${DEFAULT_SIMULATOR_SEED})`)
    .option("--port <port>", "dashboard port on 127.0.0.1 (0: any free port)", String(DEFAULT_DASHBOARD_PORT))
    .option("--once", "one ingest, one transform, write the static dashboard, then exit")
    .option("--out <file>", `static dashboard of --once (default: <lake>/${STATIC_DASHBOARD_FILE})`)
    .option("--verbose", "print every JSON log line on stderr, not only warnings and errors")
    .option(
      "--no-backfill",
      "start an empty lake without history (live: CoinGecko's 7 days of the trendline coins; simulate: simulated days)",
    )
    .action(async (o: Omit<LocalCommandOptions, "signal">) => {
      const controller = new AbortController();
      const stop = (signalName: NodeJS.Signals): void => {
        if (controller.signal.aborted) {
          // A second signal: the user does not want to wait. Writes are atomic, so nothing half-written appears.
          process.stderr.write(`crypto-analytics: ${signalName} again, exiting now\n`);
          process.exit(130);
        }
        process.stderr.write(`crypto-analytics: ${signalName}: stopping after the running job (again to exit at once)\n`);
        controller.abort();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      try {
        await localCommand({ ...o, signal: controller.signal });
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });

  program
    .command("verify")
    .description(
      "check a deployed stack end to end: invoke ingest and transform once each, run every view, check the alarm topic and QuickSight " +
        "(exit 0 all passed, 1 a check failed, 2 usage or configuration error)",
    )
    .option("--stack <name>", "read the outputs with `pulumi stack output --json --stack <name>` (run in the Pulumi project's folder)")
    .option("--outputs <file>", "read the outputs from a file saved with `pulumi stack output --json`")
    .option("--ingest-timeout <seconds>", "limit of the ingest check", seconds(DEFAULT_INGEST_CHECK_TIMEOUT_MS))
    .option("--transform-timeout <seconds>", "limit of the transform check", seconds(DEFAULT_TRANSFORM_CHECK_TIMEOUT_MS))
    .option("--view-timeout <seconds>", "limit of each view's query", seconds(DEFAULT_VIEW_CHECK_TIMEOUT_MS))
    .option("--topic-timeout <seconds>", "limit of the alarm topic check", seconds(DEFAULT_TOPIC_CHECK_TIMEOUT_MS))
    .option("--quicksight-timeout <seconds>", "limit of each QuickSight check", seconds(DEFAULT_QUICKSIGHT_CHECK_TIMEOUT_MS))
    .option("--verbose", "print the Athena query log lines on stderr")
    // Commander has reported the problem already; verify's usage errors exit with EXIT_USAGE, not 1.
    .exitOverride((err) => {
      throw new CommanderError(err.exitCode === 0 ? 0 : EXIT_USAGE, err.code, err.message);
    })
    .action(async (o: VerifyCommandOptions) => {
      process.exitCode = await verifyCommand(o);
    });

  return program;
}

/** A millisecond constant as the seconds a flag takes. */
function seconds(ms: number): string {
  return String(ms / 1000);
}

/**
 * Runs the CLI; any failure becomes a one-line reason on stderr and exit code 1, or the error's own
 * `exitCode` when it carries one (verify's configuration errors: 2).
 */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    // Commander printed its own message before throwing (only commands with exitOverride throw).
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`crypto-analytics: ${err instanceof Error ? err.message : String(err)}\n`);
    const code = (err as { exitCode?: unknown }).exitCode;
    process.exitCode = typeof code === "number" ? code : 1;
  }
}

if (require.main === module) void main(process.argv);
