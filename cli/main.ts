#!/usr/bin/env node
/**
 * `crypto-analytics`: the local-mode command line. Every command runs the same runtime code and SQL as
 * the AWS deployment, with a folder as the object store and DuckDB as the query engine.
 */
import { Command, Option } from "commander";
import { ingestCommand } from "./ingestCommand";
import { QUERY_FORMATS, queryCommand } from "./queryCommand";
import { transformCommand } from "./transformCommand";

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
    .command("transform")
    .description("materialise processed snapshots into Parquet under analytics/")
    .option("--lake <dir>", "lake folder", DEFAULT_LAKE_DIR)
    .option("--hour <iso>", "materialise the hour holding this time")
    .option("--all", "materialise every hour that has processed data")
    .action(async (o: { lake: string; hour?: string; all?: boolean }) => {
      const s = await transformCommand(o);
      process.stdout.write(`materialised ${s.rowsMaterialised} rows in ${s.hours.length} hour(s)\n`);
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

  return program;
}

/** Runs the CLI; any failure becomes a one-line reason on stderr and exit code 1. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`crypto-analytics: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main(process.argv);
