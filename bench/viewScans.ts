/**
 * What a query costs DuckDB: its latency over repeated runs, and what it reads. Files come from DuckDB's
 * JSON profiling output (each TABLE_SCAN operator's `Total Files Read`, with the columns it projects);
 * bytes come from DuckDB's own FileSystem log (`enable_logging('FileSystem')`: every READ with its byte
 * count), which counts what the Parquet reader actually fetched (footers and the projected column chunks)
 * rather than whole files.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { sqlStringLiteral } from "../functions/sqlTemplate";
import { DuckDbEngine } from "../local/duckdbEngine";
import { Figure, summarize, timeRuns } from "./stats";

/** One table scan in a query's profile. */
export interface ScanProfile {
  /** Reader, e.g. `READ_PARQUET` or `READ_JSON`. */
  reader: string;
  /** Files the scan read (after partition and dynamic-filter pruning). */
  filesRead: number;
  /** Columns the scan produced, partition columns included. */
  columns: string[];
}

/** What one run of a query read. */
export interface QueryProfile {
  /** Every table scan of the plan. */
  scans: ScanProfile[];
  /** Files read, summed over the scans (a file two scans read counts twice, as it is read twice). */
  filesRead: number;
  /** Bytes DuckDB read from the lake's files. */
  bytesRead: number;
}

/** Profiling JSON node, as far as it is read here. */
interface ProfileNode {
  operator_type?: string;
  extra_info?: Record<string, unknown>;
  children?: ProfileNode[];
}

/**
 * Runs `sql` once with JSON profiling and file-system logging on (writing the profile to a file in
 * `scratchDir`), and returns its scans, files and bytes read from files under `lake`. Leaves both off.
 */
export async function profileQuery(engine: DuckDbEngine, sql: string, lake: string, scratchDir: string): Promise<QueryProfile> {
  await fs.mkdir(scratchDir, { recursive: true });
  const output = path.join(scratchDir, "profile.json");
  // The output file must be set after the format: DuckDB checks its extension against the current one.
  await engine.execute("PRAGMA enable_profiling = 'json'");
  await engine.execute(`PRAGMA profiling_output = ${sqlStringLiteral(output)}`);
  await engine.execute("CALL enable_logging('FileSystem')");
  await engine.execute("CALL truncate_duckdb_logs()");
  try {
    await engine.execute(sql);
  } finally {
    // Profiling first: every statement profiled overwrites the output file.
    await engine.execute("PRAGMA disable_profiling");
    await engine.execute("CALL disable_logging()");
  }
  const scans: ScanProfile[] = [];
  const walk = (node: ProfileNode): void => {
    if (node.operator_type === "TABLE_SCAN") {
      const info = node.extra_info ?? {};
      const projections = info.Projections;
      scans.push({
        reader: String(info.Function),
        filesRead: Number(info["Total Files Read"] ?? 0),
        columns: Array.isArray(projections) ? projections.map(String) : projections === undefined ? [] : [String(projections)],
      });
    }
    for (const child of node.children ?? []) walk(child);
  };
  walk(JSON.parse(await fs.readFile(output, "utf8")) as ProfileNode);
  const { rows } = await engine.execute(
    `SELECT CAST(coalesce(sum(CAST(bytes AS BIGINT)), 0) AS BIGINT) AS bytes FROM duckdb_logs_parsed('FileSystem') WHERE op = 'READ' AND starts_with(path, ${sqlStringLiteral(lake + path.sep)})`,
  );
  return { scans, filesRead: scans.reduce((sum, s) => sum + s.filesRead, 0), bytesRead: Number(rows[0].bytes) };
}

/** Fewest timed runs of a view, whatever the time budget. */
export const MIN_VIEW_RUNS = 3;

/** Temporary table a view's result is materialised into while it is timed. */
const RESULT_TABLE = "bench_view_result";

/**
 * The query a view is timed with: its whole result, except `v_recent_prices`, the window itself, which no
 * page shows row by row (the dashboard's views aggregate it), timed as a count and the newest time.
 */
export function viewQuery(view: string): string {
  return view === "v_recent_prices" ? `SELECT count(*) AS n, max("timestamp") AS newest FROM ${view}` : `SELECT * FROM ${view}`;
}

/**
 * Latency of `query` on `engine`: the whole result computed and materialised inside DuckDB
 * (`CREATE TEMP TABLE .. AS query`), not converted to JS objects, whose cost belongs to the client. After
 * one untimed run, `runs` timed runs, or fewer (at least {@link MIN_VIEW_RUNS}) once `budgetMs` of timed
 * runs is spent.
 */
export async function queryLatency(engine: DuckDbEngine, name: string, query: string, runs: number, budgetMs: number): Promise<Figure> {
  const materialise = (): Promise<unknown> => engine.execute(materialiseSql(query));
  await materialise();
  const samples: number[] = [];
  while (samples.length < runs && (samples.length < MIN_VIEW_RUNS || samples.reduce((a, b) => a + b, 0) < budgetMs)) {
    samples.push(...(await timeRuns(1, materialise)));
  }
  await engine.execute(`DROP TABLE ${RESULT_TABLE}`);
  return summarize(name, "ms", samples);
}

/** One view measured over one lake. */
export interface ViewMeasurement {
  view: string;
  latency: Figure;
  profile: QueryProfile;
}

/** The statement a query is timed and profiled with: its whole result into a temporary table. */
function materialiseSql(query: string): string {
  return `CREATE OR REPLACE TEMP TABLE ${RESULT_TABLE} AS ${query}`;
}

/**
 * Latency ({@link queryLatency} of {@link viewQuery}) and a profile of the whole view's result, for each view
 * over the engine's lake.
 */
export async function measureViews(
  engine: DuckDbEngine,
  views: readonly string[],
  label: string,
  runs: number,
  budgetMs: number,
  scratchDir: string,
): Promise<ViewMeasurement[]> {
  const out: ViewMeasurement[] = [];
  for (const view of views) {
    // The names come from sql/views file names, so they are plain identifiers.
    const latency = await queryLatency(
      engine,
      `view ${view}: latency reading the window's files (one-shot engine), ${label}`,
      viewQuery(view),
      runs,
      budgetMs,
    );
    const profile = await profileQuery(engine, materialiseSql(`SELECT * FROM ${view}`), engine.lake, scratchDir);
    await engine.execute(`DROP TABLE ${RESULT_TABLE}`);
    out.push({ view, latency, profile });
  }
  return out;
}
