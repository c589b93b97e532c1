/**
 * Local mode's query engine: DuckDB (`@duckdb/node-api`) over a lake folder laid out like the S3 bucket.
 * The three lake tables are DuckDB views over the lake's files, with the column names and types of
 * functions/schema.ts and unpadded integer Hive partitions, and the `v_*` views are created from the same
 * `sql/views` files Athena runs, so local queries answer exactly what the deployed views answer.
 *
 * The views read `analytics_prices` through a relation over the files of the window's own hour folders
 * (see {@link VIEW_FOLDER_HOURS}), listed before each statement that names a view, the way Athena's
 * partition projection enumerates partitions instead of listing S3: DuckDB would otherwise list every
 * file of the lake and evaluate the views' clock predicate once per file while planning, a cost that grows
 * with history. The views' own predicate still applies to those files.
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

/** The relation views read as `analytics_prices`: the analytics files of the last {@link VIEW_FOLDER_HOURS}. */
const ANALYTICS_WINDOW = "analytics_window";

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
const ANALYTICS_SOURCE: TableSource = { name: LAKE_TABLES.analytics, glob: `${LAKE_PREFIXES.analytics}/${HOUR_GLOB}/*.parquet`, format: "parquet", columns: PROCESSED_COLUMNS };

const TABLE_SOURCES: readonly TableSource[] = [
  // Every column as text, as the Glue table declares it; the transform types them with TRY_CAST.
  { name: LAKE_TABLES.processedRaw, glob: `${LAKE_PREFIXES.processed}/${HOUR_GLOB}/*.ndjson.gz`, format: "json", columns: PROCESSED_COLUMNS.map((c) => ({ ...c, type: "string" as const })) },
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
  /** The files {@link ANALYTICS_WINDOW} is defined over (newline-joined), to redefine it only when they change. */
  private windowFiles: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    /** Absolute path of the lake folder. */
    readonly lake: string,
    /** This engine's staging folder (`<lake>/.staging/<pid>-<uuid>`), mirroring the lake layout. */
    readonly stagingRoot: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  /**
   * Opens an in-memory DuckDB over `lake` (which need not exist yet: missing areas read as empty tables),
   * sets the session time zone to UTC (the views' partition window follows the UTC calendar, as Athena's
   * does) and creates the lake tables and every `v_*` view. Throws if the path holds glob characters.
   */
  static async open(lake: string): Promise<DuckDbEngine> {
    const root = path.resolve(lake);
    if (GLOB_CHARACTERS.test(root)) throw new Error(`lake path ${JSON.stringify(root)} must not contain any of * ? [ ] { } (DuckDB would read them as a glob)`);
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    const engine = new DuckDbEngine(root, path.join(root, STAGING_DIR, inFlightName()), instance, connection);
    try {
      await connection.run("SET TimeZone = 'UTC'");
      // Tables and views live in a catalog named like the Glue database, so `crypto_data.v_top_100` and
      // `v_top_100` both resolve, as they do in Athena.
      await connection.run(`ATTACH ':memory:' AS ${LAKE_DATABASE}`);
      await connection.run(`USE ${LAKE_DATABASE}`);
      for (const source of TABLE_SOURCES) await engine.defineTable(source);
      await engine.refreshAnalyticsWindow();
      for (const view of viewsInDependencyOrder()) await connection.run(`CREATE OR REPLACE VIEW ${view.name} AS\n${windowed(view.sql)}`);
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
        throw new Error(`view ${view} column ${name} has DuckDB type ${duckType}, which is not one of ${Object.keys(GLUE_TYPES).join(", ")}: CAST it in the SQL so Athena and DuckDB agree`);
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
    if (VIEW_NAME.test(sql)) await this.refreshAnalyticsWindow();
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
   * (Re)defines {@link ANALYTICS_WINDOW} over the Parquet files of the current hour's folder and the
   * {@link VIEW_FOLDER_HOURS} before it (a few hundred directory reads, independent of history), or as an
   * empty typed relation when there are none.
   */
  private async refreshAnalyticsWindow(): Promise<void> {
    const nowHour = Math.floor(Date.now() / 1000 / HOUR_SECONDS);
    const files: string[] = [];
    for (let hour = nowHour - VIEW_FOLDER_HOURS; hour <= nowHour; hour++) {
      const dir = path.join(this.lake, LAKE_PREFIXES.analytics, partitionPath(partitionOf(hour * HOUR_SECONDS)));
      files.push(...filesIn(dir, ".parquet").map((name) => path.join(dir, name)));
    }
    const key = files.join("\n");
    if (key === this.windowFiles) return;
    const body = relation(ANALYTICS_SOURCE, files.length === 0 ? undefined : `[${files.map(sqlStringLiteral).join(", ")}]`);
    await this.connection.run(`CREATE OR REPLACE VIEW ${ANALYTICS_WINDOW} AS ${body}`);
    this.windowFiles = key;
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

/** Whether a statement names a view (every view is called `v_...`), so it needs a current window. */
const VIEW_NAME = /\bv_[a-z0-9_]+\b/i;

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
  return [...columns, ...PARTITION_COLUMNS].map((c) => `CAST(${quoteIdent(c.name)} AS ${DUCKDB_TYPES[c.type]}) AS ${quoteIdent(c.name)}`).join(", ");
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
