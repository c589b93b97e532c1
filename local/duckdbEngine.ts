/**
 * Local mode's query engine: DuckDB (`@duckdb/node-api`) over a lake folder laid out like the S3 bucket.
 * The three lake tables are DuckDB views over the lake's files, with the column names and types of
 * functions/schema.ts and unpadded integer Hive partitions, and the `v_*` views are created from the same
 * `sql/views` files Athena runs, so local queries answer exactly what the deployed views answer.
 *
 * The views read `analytics_prices` through the window: the files of the window's own hour folders (see
 * {@link VIEW_FOLDER_HOURS}), listed before each statement that names a view, the way Athena's partition
 * projection enumerates partitions instead of listing S3 (DuckDB would otherwise list every file of the
 * lake and evaluate the views' clock predicate once per file while planning, a cost that grows with
 * history). How the window is held is the engine's {@link ViewWindow}: `files` reads those files in each
 * statement (a one-shot command: it reads them once anyway); `memory` holds their rows in an in-memory
 * table, loaded at the first view statement, appended with the files that appear (an hour the transform
 * materialised, in this process or another), trimmed of the hours that leave the window, so a view never
 * reads Parquet again (a long-lived engine: local mode's dashboard). The views' own predicate still
 * applies to what the window holds, so both answer what the same SQL answers over the whole lake.
 *
 * The clock: `current_timestamp`, `now()` and `current_date` are pinned, in every statement, to the engine's
 * injectable clock ({@link DuckDbEngineOptions.now}), read once per statement, which also decides the
 * window's hours; so the window and the views' predicate never disagree (not even across an hour
 * boundary), and a test or an "as-of" query moves both by passing another clock.
 *
 * The views are created at the first statement that names one: an engine that only transforms never pays
 * for them.
 *
 * Writes never touch the data tree until they are complete: a statement writes under a staging folder
 * (`<lake>/.staging/<pid>-<uuid>/`, one per engine, mirroring the lake layout) and the engine renames the
 * finished files into place, because DuckDB's globs would read a half-written Parquet file. The folder is
 * deleted after each statement; the one a killed process leaves is named after its pid, so `local`'s
 * start-up can tell it is abandoned and remove it.
 */
import { DuckDBConnection, DuckDBInstance, ResultReturnType } from "@duckdb/node-api";
import { randomUUID } from "node:crypto";
import { promises as fs, readdirSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inFlightName } from "../functions/localObjectStore";
import { HOUR_SECONDS, HourPartition, LAKE_PREFIXES, partitionOf, partitionPath } from "../functions/partitions";
import { QueryEngine, QueryResult } from "../functions/queryEngine";
import { ColumnDef, ColumnType, LAKE_DATABASE, LAKE_TABLES, PARTITION_COLUMNS, PROCESSED_COLUMNS } from "../functions/schema";
import { duckDbInsertTemplate, stripLineComments, viewNames, viewsInDependencyOrder } from "../functions/sqlFiles";
import { renderTemplate, sqlStringLiteral } from "../functions/sqlTemplate";

/** Folder under the lake root holding in-flight writes; outside every table's glob. */
export const STAGING_DIR = ".staging";

/** The placeholder of the DuckDB insert wrapper that receives the staging folder. */
export const STAGING_PLACEHOLDER = "staging_dir";

/** DuckDB's name for each lake column type. */
export const DUCKDB_TYPES: Record<ColumnType, string> = { string: "VARCHAR", double: "DOUBLE", bigint: "BIGINT", int: "INTEGER" };

/** Glue type of each DuckDB type a view may return; anything else must be CAST in the SQL. */
const GLUE_TYPES: Record<string, ColumnType> = { VARCHAR: "string", DOUBLE: "double", BIGINT: "bigint", INTEGER: "int" };

/** Keyed results an engine remembers for idempotent re-execution (more than a day of hourly transforms). */
export const IDEMPOTENCY_MEMORY = 256;

/**
 * Hours of `analytics/` folders before the current one that the views read locally: 8 days, a superset of
 * `v_recent_prices`' window (the current hour and the 168 before it) by a day, so a view reads every file
 * its own predicate keeps (views.test.ts compares every view against the whole lake).
 */
export const VIEW_FOLDER_HOURS = 8 * 24;

/** The relation views read as `analytics_prices`: the analytics rows of the last {@link VIEW_FOLDER_HOURS}. */
const ANALYTICS_WINDOW = "analytics_window";

/**
 * How an engine holds the views' window.
 * - `files`: a relation over the window's Parquet files, re-listed before each view statement; nothing is
 *   loaded, so it suits an engine that runs a few statements and closes (`query`, the static `dashboard`).
 * - `memory`: the window's rows in an in-memory table, loaded at the first view statement (about a second
 *   for a full window), then kept in step with the files before each view statement (new files appended,
 *   hours that left the window or lost a file dropped, an hour that lost a file reloaded), so views read no
 *   Parquet; it suits a long-lived engine (the dashboard server).
 */
export type ViewWindow = "files" | "memory";

/** The window an engine holds unless told otherwise: nothing loaded, as a one-shot command wants. */
export const DEFAULT_VIEW_WINDOW: ViewWindow = "files";

/** Options of {@link DuckDbEngine.open}. */
export interface DuckDbEngineOptions {
  /** How the views' window is held. Defaults to {@link DEFAULT_VIEW_WINDOW}. */
  window?: ViewWindow;
  /**
   * The clock (epoch ms) of every statement: `current_timestamp`, `now()` and `current_date` return it, and
   * it decides the window's hours. Read once per statement. Defaults to `Date.now`.
   */
  now?: () => number;
}

/** DuckDB variable holding the current statement's clock (see {@link CLOCK_MACROS}). */
const CLOCK_VARIABLE = "engine_clock";

const PINNED_NOW = `CAST(getvariable('${CLOCK_VARIABLE}') AS TIMESTAMPTZ)`;

/**
 * DuckDB's clock functions, shadowed by temporary macros reading {@link CLOCK_VARIABLE} (a user macro takes
 * precedence over a built-in of the same name, and `getvariable` is folded to a constant while binding, so
 * the views' partition bounds stay constants): `current_timestamp` is parsed as `get_current_timestamp()`.
 */
const CLOCK_MACROS: Record<string, string> = {
  get_current_timestamp: PINNED_NOW,
  now: PINNED_NOW,
  current_date: `CAST(${PINNED_NOW} AS DATE)`,
};

/** Characters DuckDB's globs would interpret in a lake path. */
const GLOB_CHARACTERS = /[*?[\]{}]/;

/** One output column of a view: name and Athena/Glue type. */
export interface ViewColumn {
  name: string;
  type: ColumnType;
}

/** A view's output schema. */
export interface ViewSchema {
  /** View name, e.g. `v_top_100`. */
  name: string;
  /** Columns in output order. */
  columns: ViewColumn[];
}

/** How each lake table is read from the folder. */
interface TableSource {
  name: string;
  /** Glob of the table's files, relative to the lake root. */
  glob: string;
  /** File format: newline-delimited JSON (gzipped) or Parquet. */
  format: "json" | "parquet";
  /** The table's data columns with their types (partition columns follow). */
  columns: readonly ColumnDef[];
}

const HOUR_GLOB = "year=*/month=*/day=*/hour=*";

/** How the DuckDB insert template opens; the hour's tables are placed after it as CTEs. */
const COPY_OPENING = "COPY (\n";

/** The analytics table's source; the views also read its files through {@link ANALYTICS_WINDOW}. */
const ANALYTICS_SOURCE: TableSource = {
  name: LAKE_TABLES.analytics,
  glob: `${LAKE_PREFIXES.analytics}/${HOUR_GLOB}/*.parquet`,
  format: "parquet",
  columns: PROCESSED_COLUMNS,
};

const TABLE_SOURCES: readonly TableSource[] = [
  // Every column as text, as the Glue table declares it; the transform types them with TRY_CAST.
  {
    name: LAKE_TABLES.processedRaw,
    glob: `${LAKE_PREFIXES.processed}/${HOUR_GLOB}/*.ndjson.gz`,
    format: "json",
    columns: PROCESSED_COLUMNS.map((c) => ({ ...c, type: "string" as const })),
  },
  { name: LAKE_TABLES.processed, glob: `${LAKE_PREFIXES.processed}/${HOUR_GLOB}/*.ndjson.gz`, format: "json", columns: PROCESSED_COLUMNS },
  ANALYTICS_SOURCE,
];

/**
 * A {@link QueryEngine} on DuckDB over a lake folder. Open with {@link DuckDbEngine.open}; close when done.
 * Statements run one at a time. BIGINT results come back as numbers when they are safe integers, else as
 * decimal strings (JSON has no 64-bit integers).
 */
export class DuckDbEngine implements QueryEngine {
  /** Tables currently defined over no files (an empty lake area); re-checked before each statement. */
  private readonly emptyTables = new Set<string>();
  /** Results of the latest statements run with an idempotency key, so a repeated call runs nothing twice. */
  private readonly completed = new Map<string, QueryResult>();
  /** The files {@link ANALYTICS_WINDOW} is defined over (newline-joined), to redefine it only when they change (`files`). */
  private windowFiles: string | undefined;
  /** The files whose rows {@link ANALYTICS_WINDOW} holds, by hour (epoch hours), with the hour's partition (`memory`); undefined before the first load. */
  private loadedHours: Map<number, WindowHour> | undefined;
  /** Whether the `v_*` views exist yet (created by the first statement naming one). */
  private viewsCreated = false;
  /** The time {@link CLOCK_VARIABLE} holds, epoch ms. */
  private clockMs = Number.NaN;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    /** Absolute path of the lake folder. */
    readonly lake: string,
    /** This engine's staging folder (`<lake>/.staging/<pid>-<uuid>`), mirroring the lake layout. */
    readonly stagingRoot: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    /** How the views' window is held. */
    readonly window: ViewWindow,
    private readonly now: () => number,
  ) {}

  /**
   * Opens an in-memory DuckDB over `lake` (which need not exist yet: missing areas read as empty tables),
   * sets the session time zone to UTC (the views' partition window follows the UTC calendar, as Athena's
   * does), pins the clock functions to `options.now` and creates the lake tables; the `v_*` views follow at
   * the first statement that names one. Throws if the path holds glob characters.
   */
  static async open(lake: string, options: DuckDbEngineOptions = {}): Promise<DuckDbEngine> {
    const root = path.resolve(lake);
    if (GLOB_CHARACTERS.test(root))
      throw new Error(`lake path ${JSON.stringify(root)} must not contain any of * ? [ ] { } (DuckDB would read them as a glob)`);
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    const engine = new DuckDbEngine(
      root,
      path.join(root, STAGING_DIR, inFlightName()),
      instance,
      connection,
      options.window ?? DEFAULT_VIEW_WINDOW,
      options.now ?? Date.now,
    );
    try {
      await connection.run("SET TimeZone = 'UTC'");
      // Tables and views live in a catalog named like the Glue database, so `crypto_data.v_top_100` and
      // `v_top_100` both resolve, as they do in Athena.
      await connection.run(`ATTACH ':memory:' AS ${LAKE_DATABASE}`);
      await connection.run(`USE ${LAKE_DATABASE}`);
      for (const [name, body] of Object.entries(CLOCK_MACROS)) await connection.run(`CREATE TEMP MACRO ${name}() AS ${body}`);
      await engine.setClock(engine.now());
      for (const source of TABLE_SOURCES) await engine.defineTable(source);
    } catch (err) {
      engine.close();
      throw err;
    }
    return engine;
  }

  /**
   * Runs one statement. Files it writes under {@link stagingRoot} are moved to the same relative path in
   * the lake when it succeeds and deleted when it fails. `rowsWritten` is DuckDB's changed-row count
   * (a COPY's row count); `queryId` is a fresh UUID. With `idempotencyKey`, a second call with the same key
   * and statement returns the first result without running anything.
   */
  execute(sql: string, options: { idempotencyKey?: string } = {}): Promise<QueryResult> {
    const run = this.queue.then(() => this.executeNow(sql, options.idempotencyKey));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The transform's statement for one hour on this engine: `sql/transform/duckdb_insert.sql` with the
   * SELECT included, the staging folder as a quoted literal and the hour's checked integers. The lake
   * tables it reads are shadowed by same-named CTEs over the hour's own folders (the rows the partition
   * filter keeps), because DuckDB would otherwise list every file of the lake to filter them by path.
   */
  renderInsert(partition: HourPartition): string {
    const insert = renderDuckDbInsert(partition, path.join(this.stagingRoot, LAKE_PREFIXES.analytics));
    if (!insert.startsWith(COPY_OPENING)) throw new Error(`the DuckDB insert template must start with ${JSON.stringify(COPY_OPENING)}`);
    const hourTables = TABLE_SOURCES.map((source) => {
      const glob = hourGlob(source, partition);
      return `${source.name} AS (${relation(source, hasFileIn(path.join(this.lake, path.dirname(glob)), path.basename(glob)) ? this.globLiteral(glob) : undefined)})`;
    });
    return `${COPY_OPENING}WITH ${hourTables.join(",\n")}\n${insert.slice(COPY_OPENING.length)}`;
  }

  /** Output columns of a view (DESCRIBE), with Glue types; throws for a type outside the lake's four. */
  async viewSchema(view: string): Promise<ViewColumn[]> {
    const names = viewNames();
    if (!names.includes(view)) throw new Error(`unknown view ${JSON.stringify(view)}; valid views: ${names.join(", ")}`);
    const { rows } = await this.execute(`DESCRIBE SELECT * FROM ${view}`);
    return rows.map((row) => {
      const name = String(row.column_name);
      const duckType = String(row.column_type);
      const type = GLUE_TYPES[duckType];
      if (type === undefined) {
        throw new Error(
          `view ${view} column ${name} has DuckDB type ${duckType}, which is not one of ${Object.keys(GLUE_TYPES).join(", ")}: CAST it in the SQL so Athena and DuckDB agree`,
        );
      }
      return { name, type };
    });
  }

  /** Releases DuckDB. The lake is left as it is (a statement's staging files never outlive the statement). */
  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  private async executeNow(sql: string, idempotencyKey: string | undefined): Promise<QueryResult> {
    const memoKey = idempotencyKey === undefined ? undefined : `${idempotencyKey}\n${sql}`;
    const previous = memoKey === undefined ? undefined : this.completed.get(memoKey);
    if (previous !== undefined) return previous;
    await this.refreshFor(sql);
    const writes = sql.includes(this.stagingRoot);
    if (writes) {
      await fs.rm(this.stagingRoot, { recursive: true, force: true });
      await fs.mkdir(path.join(this.stagingRoot, LAKE_PREFIXES.analytics), { recursive: true });
    }
    const queryId = randomUUID();
    try {
      const result = await this.connection.run(sql);
      const changed = result.returnType === ResultReturnType.CHANGED_ROWS;
      const rows = changed ? [] : (await result.getRowObjectsJS()).map(convertRow);
      if (writes) await publish(this.stagingRoot, this.lake);
      const out: QueryResult = { rows, queryId, ...(changed ? { rowsWritten: result.rowsChanged } : {}) };
      if (memoKey !== undefined) this.remember(memoKey, out);
      return out;
    } finally {
      if (writes) await fs.rm(this.stagingRoot, { recursive: true, force: true });
    }
  }

  /**
   * Runs `work` on the engine's connection, in turn with every other statement, after the lake tables and
   * the views' window are brought up to date for `sql` (as {@link execute} does): for callers that need
   * DuckDB's own API, such as the ad-hoc query's parser checks and configuration lock.
   */
  withConnection<T>(sql: string, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      await this.refreshFor(sql);
      return work(this.connection);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Redefines the tables that had no files, and the views' window when `sql` names a view. */
  private async refreshFor(sql: string): Promise<void> {
    await this.refreshEmptyTables();
    if (VIEW_NAME.test(sql) || CLOCK_FUNCTION.test(sql)) await this.setClock(this.now());
    if (VIEW_NAME.test(sql)) {
      await this.createViews();
      await this.refreshAnalyticsWindow(this.clockMs);
    }
  }

  /** Keeps a keyed result, forgetting the oldest beyond {@link IDEMPOTENCY_MEMORY} (a long-running local mode). */
  private remember(key: string, result: QueryResult): void {
    this.completed.set(key, result);
    for (const oldest of this.completed.keys()) {
      if (this.completed.size <= IDEMPOTENCY_MEMORY) break;
      this.completed.delete(oldest);
    }
  }

  /** `glob` (relative to the lake) as a quoted absolute path for {@link reader}. */
  private globLiteral(glob: string): string {
    return sqlStringLiteral(path.join(this.lake, glob));
  }

  /** (Re)defines a table over its files, or as an empty typed relation when there are none yet. */
  private async defineTable(source: TableSource): Promise<void> {
    const glob = this.globLiteral(source.glob);
    const files = await this.connection.runAndReadAll(`SELECT count(*) AS n FROM glob(${glob})`);
    const hasFiles = Number(files.getRowObjectsJS()[0].n) > 0;
    const body = relation(source, hasFiles ? glob : undefined);
    await this.connection.run(`CREATE OR REPLACE VIEW ${source.name} AS ${body}`);
    if (hasFiles) this.emptyTables.delete(source.name);
    else this.emptyTables.add(source.name);
  }

  /**
   * Sets the clock of the statements that follow. Only statements that read the clock (they name a view or
   * a clock function) move it, so the others stay single statements (DuckDB's profiler, for one, reports
   * the last statement run).
   */
  private async setClock(nowMs: number): Promise<void> {
    if (!Number.isFinite(nowMs)) throw new Error(`the engine's clock returned ${nowMs}, not a time`);
    if (nowMs === this.clockMs) return;
    await this.connection.run(`SET VARIABLE ${CLOCK_VARIABLE} = TIMESTAMPTZ '${new Date(nowMs).toISOString()}'`);
    this.clockMs = nowMs;
  }

  /** Creates every `v_*` view, once: from the `sql/views` files, reading `analytics_prices` through {@link ANALYTICS_WINDOW}. */
  private async createViews(): Promise<void> {
    if (this.viewsCreated) return;
    // The views bind to the window relation when created, so it must exist first.
    await this.connection.run(
      `CREATE OR REPLACE ${this.window === "memory" ? "TABLE" : "VIEW"} ${ANALYTICS_WINDOW} AS ${relation(ANALYTICS_SOURCE, undefined)}`,
    );
    for (const view of viewsInDependencyOrder()) await this.connection.run(`CREATE OR REPLACE VIEW ${view.name} AS\n${windowed(view.sql)}`);
    this.viewsCreated = true;
  }

  /**
   * Brings {@link ANALYTICS_WINDOW} in step with the Parquet files of the hour folders of `nowMs`'s hour and
   * the {@link VIEW_FOLDER_HOURS} before it (a few hundred directory reads, independent of history).
   */
  private async refreshAnalyticsWindow(nowMs: number): Promise<void> {
    const hours = windowHours(this.lake, nowMs);
    if (this.window === "memory") return this.syncLoadedWindow(hours);
    const files = hours.flatMap((h) => h.files);
    const key = files.join("\n");
    if (key === this.windowFiles) return;
    await this.connection.run(`CREATE OR REPLACE VIEW ${ANALYTICS_WINDOW} AS ${relation(ANALYTICS_SOURCE, fileList(files))}`);
    this.windowFiles = key;
  }

  /**
   * The `memory` window: drops the rows of every hour that left the window or lost a file it was loaded from
   * (it is then loaded again whole), and appends the rows of every file not loaded yet, in one transaction,
   * so a failed read leaves the table as it was and the next statement tries again.
   */
  private async syncLoadedWindow(hours: readonly WindowHour[]): Promise<void> {
    const loaded = this.loadedHours ?? new Map<number, WindowHour>();
    const current = new Map(hours.map((h) => [h.hour, h]));
    const dropped = [...loaded.values()].filter((was) => {
      const now = new Set(current.get(was.hour)?.files ?? []);
      return !was.files.every((f) => now.has(f));
    });
    const droppedHours = new Set(dropped.map((h) => h.hour));
    const appended = hours.flatMap((h) => {
      const kept = new Set(droppedHours.has(h.hour) ? [] : (loaded.get(h.hour)?.files ?? []));
      return h.files.filter((f) => !kept.has(f));
    });
    if (dropped.length > 0 || appended.length > 0) {
      await this.connection.run("BEGIN TRANSACTION");
      try {
        if (dropped.length > 0)
          await this.connection.run(
            `DELETE FROM ${ANALYTICS_WINDOW} WHERE ${dropped.map((h) => partitionPredicate(h.partition)).join(" OR ")}`,
          );
        if (appended.length > 0)
          await this.connection.run(`INSERT INTO ${ANALYTICS_WINDOW} ${relation(ANALYTICS_SOURCE, fileList(appended))}`);
        await this.connection.run("COMMIT");
      } catch (err) {
        await this.connection.run("ROLLBACK");
        throw err;
      }
    }
    this.loadedHours = current;
  }

  /** Tables defined while their area had no files are redefined once files appear. */
  private async refreshEmptyTables(): Promise<void> {
    for (const source of TABLE_SOURCES) {
      if (this.emptyTables.has(source.name)) await this.defineTable(source);
    }
  }
}

/**
 * The transform's DuckDB statement for one hour, writing Parquet under `analyticsStagingDir` (a folder
 * that mirrors the lake's `analytics/`; the engine publishes its files). Exported for engines or tests
 * that manage their own staging; {@link DuckDbEngine.renderInsert} supplies its own folder.
 */
export function renderDuckDbInsert(partition: HourPartition, analyticsStagingDir: string): string {
  // One pass: a `${` inside the quoted path is text, never a placeholder.
  return renderTemplate(duckDbInsertTemplate(), partition, { [STAGING_PLACEHOLDER]: sqlStringLiteral(analyticsStagingDir) });
}

/**
 * Output schema of every view in `sql/views`, derived by DESCRIBE on DuckDB over an empty lake (the SQL is
 * bound, not run, so no data is needed). AnalyticsLayer builds the Glue VIRTUAL_VIEW columns from this,
 * and tests compare the deployed definitions against it, so a change to a view's SQL cannot leave its
 * catalog columns stale.
 */
export async function deriveViewSchemas(): Promise<ViewSchema[]> {
  const lake = await fs.mkdtemp(path.join(os.tmpdir(), "view-schemas-"));
  const engine = await DuckDbEngine.open(lake);
  try {
    const schemas: ViewSchema[] = [];
    for (const name of viewNames()) schemas.push({ name, columns: await engine.viewSchema(name) });
    return schemas;
  } finally {
    engine.close();
    await fs.rm(lake, { recursive: true, force: true });
  }
}

/** Moves every file under `stagingRoot` to the same relative path under `lake` (rename: atomic per file). */
async function publish(stagingRoot: string, lake: string, relative = ""): Promise<void> {
  for (const entry of await fs.readdir(path.join(stagingRoot, relative), { withFileTypes: true })) {
    const child = path.join(relative, entry.name);
    if (entry.isDirectory()) {
      await publish(stagingRoot, lake, child);
    } else if (entry.isFile()) {
      await fs.mkdir(path.dirname(path.join(lake, child)), { recursive: true });
      await fs.rename(path.join(stagingRoot, child), path.join(lake, child));
    }
  }
}

/** A table's glob narrowed to one hour's folder, relative to the lake root. */
function hourGlob(source: TableSource, partition: HourPartition): string {
  return source.glob.replace(HOUR_GLOB, partitionPath(partition));
}

/** Whether `dir` holds a file matching `pattern` (`*` plus a suffix, as the tables' globs end); false when it does not exist. */
function hasFileIn(dir: string, pattern: string): boolean {
  return filesIn(dir, pattern.replace(/^\*/, "")).length > 0;
}

/** Names of the files in `dir` ending in `suffix`, sorted; none when `dir` does not exist. */
function filesIn(dir: string, suffix: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith(suffix))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** The files of one hour folder of the window. */
interface WindowHour {
  /** Epoch hours (epoch seconds / 3600) of the folder's hour. */
  hour: number;
  partition: HourPartition;
  /** Absolute paths of the folder's Parquet files, sorted. */
  files: string[];
}

/** The analytics hour folders holding files among `nowMs`'s hour and the {@link VIEW_FOLDER_HOURS} before it, oldest first. */
function windowHours(lake: string, nowMs: number): WindowHour[] {
  const nowHour = Math.floor(nowMs / 1000 / HOUR_SECONDS);
  const hours: WindowHour[] = [];
  for (let hour = nowHour - VIEW_FOLDER_HOURS; hour <= nowHour; hour++) {
    const partition = partitionOf(hour * HOUR_SECONDS);
    const dir = path.join(lake, LAKE_PREFIXES.analytics, partitionPath(partition));
    const files = filesIn(dir, ".parquet").map((name) => path.join(dir, name));
    if (files.length > 0) hours.push({ hour, partition, files });
  }
  return hours;
}

/** A list literal of quoted paths for {@link relation}, or undefined for none. */
function fileList(files: readonly string[]): string | undefined {
  return files.length === 0 ? undefined : `[${files.map(sqlStringLiteral).join(", ")}]`;
}

/** The rows of one hour partition (integers from {@link partitionOf}). */
function partitionPredicate(p: HourPartition): string {
  return `(year = ${p.year} AND month = ${p.month} AND day = ${p.day} AND hour = ${p.hour})`;
}

/** Whether a statement names a view (every view is called `v_...`), so it needs a current window. */
const VIEW_NAME = /\bv_[a-z0-9_]+\b/i;

/** Whether a statement names one of the clock functions {@link CLOCK_MACROS} pins. */
const CLOCK_FUNCTION = /\b(?:current_timestamp|current_date|get_current_timestamp|now)\b/i;

/**
 * A view's SQL as the engine creates it: one that reads `analytics_prices` reads it through
 * {@link ANALYTICS_WINDOW} (a same-named CTE shadows the table, as the transform's hour CTEs do); the SQL
 * itself, its predicate included, is unchanged.
 */
function windowed(sql: string): string {
  if (!new RegExp(`\\b${LAKE_TABLES.analytics}\\b`).test(stripLineComments(sql))) return sql;
  return `WITH ${LAKE_TABLES.analytics} AS (SELECT * FROM ${ANALYTICS_WINDOW})\nSELECT * FROM (\n${sql}\n) AS windowed`;
}

/** DuckDB's reader of a table's files, given a quoted absolute glob or a list literal of quoted paths; partitions from the Hive path as unpadded integers. */
function reader(source: TableSource, globLiteral: string): string {
  const hive = `hive_partitioning = true, hive_types = {${PARTITION_COLUMNS.map((c) => `${sqlStringLiteral(c.name)}: ${DUCKDB_TYPES[c.type]}`).join(", ")}}`;
  if (source.format === "parquet") return `read_parquet(${globLiteral}, ${hive})`;
  const columns = `{${source.columns.map((c) => `${sqlStringLiteral(c.name)}: '${DUCKDB_TYPES[c.type]}'`).join(", ")}}`;
  return `read_json(${globLiteral}, format = 'newline_delimited', columns = ${columns}, ${hive})`;
}

/** `id, symbol, ..., year, month, day, hour` cast to the lake types, in schema order. */
function projection(columns: readonly ColumnDef[]): string {
  return [...columns, ...PARTITION_COLUMNS]
    .map((c) => `CAST(${quoteIdent(c.name)} AS ${DUCKDB_TYPES[c.type]}) AS ${quoteIdent(c.name)}`)
    .join(", ");
}

/**
 * A table's relation over `paths` (what {@link reader} takes: a quoted absolute glob or a list literal of
 * quoted paths), or {@link emptyRelation} when `paths` is undefined (there are no files to read).
 */
function relation(source: TableSource, paths: string | undefined): string {
  return paths === undefined ? emptyRelation(source.columns) : `SELECT ${projection(source.columns)} FROM ${reader(source, paths)}`;
}

/** A relation with the table's columns and no rows (DuckDB cannot read an empty glob). */
function emptyRelation(columns: readonly ColumnDef[]): string {
  return `SELECT ${[...columns, ...PARTITION_COLUMNS].map((c) => `CAST(NULL AS ${DUCKDB_TYPES[c.type]}) AS ${quoteIdent(c.name)}`).join(", ")} WHERE false`;
}

function quoteIdent(name: string): string {
  return `"${name.split('"').join('""')}"`;
}

/** DuckDB's JS values to plain JSON-friendly ones: BIGINT/HUGEINT as numbers when safe, else strings. */
export function convertRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) out[key] = typeof value === "bigint" ? bigintValue(value) : value;
  return out;
}

function bigintValue(value: bigint): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value.toString();
}
