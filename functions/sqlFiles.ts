/**
 * The `sql/` directory: one set of files for Athena and DuckDB. Found by walking up from this module to the
 * package root, so it works from the repository (ts-node, ts-jest: `functions/`) and from the built package
 * (`dist/functions/`; the package ships `sql/` beside `dist/`). Used at deploy time (AnalyticsLayer, which
 * stores the Athena template in SSM and builds the Glue views) and by local mode; the transform function
 * itself never reads these files (its template comes from SSM).
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The package's SQL directory name, at the package root. */
export const SQL_DIR_NAME = "sql";

/** The views directory under {@link SQL_DIR_NAME}: one `<view name>.sql` file per view, holding its SELECT. */
export const VIEWS_DIR = "views";

/** The transform's files under {@link SQL_DIR_NAME}. */
export const TRANSFORM_FILES = {
  /** The hourly SELECT (hour placeholders only). */
  select: "transform/select.sql",
  /** Athena wrapper: `INSERT INTO analytics_prices ${select}`. */
  athenaInsert: "transform/athena_insert.sql",
  /** DuckDB wrapper: `COPY (${select}) TO ${staging_dir} ...`. */
  duckdbInsert: "transform/duckdb_insert.sql",
} as const;

/** The placeholder a wrapper uses for the hourly SELECT. */
export const SELECT_INCLUDE = "select";

/** A file the walk-up recognises the SQL directory by. */
const MARKER = path.join(SQL_DIR_NAME, TRANSFORM_FILES.select);

let cachedRoot: string | undefined;

/**
 * Absolute path of the `sql/` directory: the nearest ancestor of this module holding `package.json` and
 * `sql/transform/select.sql`. Throws if none does (a broken install).
 */
export function sqlRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, MARKER))) {
      cachedRoot = path.join(dir, SQL_DIR_NAME);
      return cachedRoot;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ${SQL_DIR_NAME}/ directory above ${__dirname}: the package is incomplete`);
    dir = parent;
  }
}

/** Text of a file under `sql/`, by `/`-separated relative path. */
export function readSqlFile(relativePath: string): string {
  return fs.readFileSync(path.join(sqlRoot(), ...relativePath.split("/")), "utf8");
}

/** Names of the views (`sql/views/<name>.sql`), sorted. */
export function viewNames(): string[] {
  return fs
    .readdirSync(path.join(sqlRoot(), VIEWS_DIR))
    .filter((f) => f.endsWith(".sql"))
    .map((f) => f.slice(0, -".sql".length))
    .sort();
}

/** A view's SELECT text. Throws for a name that is not a view, listing the valid ones. */
export function viewSql(name: string): string {
  const names = viewNames();
  if (!names.includes(name)) throw new Error(`unknown view ${JSON.stringify(name)}; valid views: ${names.join(", ")}`);
  return readSqlFile(`${VIEWS_DIR}/${name}.sql`);
}

/** The other views a view's SQL names. */
export function viewDependencies(name: string): string[] {
  const others = new Set(viewNames().filter((n) => n !== name));
  const words = stripLineComments(viewSql(name)).match(/\b[a-z_][a-z0-9_]*\b/g) ?? [];
  return [...new Set(words.filter((w) => others.has(w)))].sort();
}

/**
 * Every view with its SQL, each after the views it reads (engines that bind a view when it is created,
 * such as DuckDB, need this order). Throws on a dependency cycle.
 */
export function viewsInDependencyOrder(): { name: string; sql: string }[] {
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string): void => {
    if (ordered.includes(name)) return;
    if (visiting.has(name)) throw new Error(`views depend on each other in a cycle through ${name}`);
    visiting.add(name);
    viewDependencies(name).forEach(visit);
    visiting.delete(name);
    ordered.push(name);
  };
  viewNames().forEach(visit);
  return ordered.map((name) => ({ name, sql: viewSql(name) }));
}

/**
 * Replaces the single `${name}` of a wrapper with another SQL text, leaving every other placeholder for
 * rendering. Throws unless the wrapper holds exactly one `${name}`.
 */
export function includeSql(wrapper: string, name: string, body: string): string {
  const parts = wrapper.split("${" + name + "}");
  if (parts.length !== 2) throw new Error(`SQL wrapper must hold \${${name}} exactly once, found ${parts.length - 1}`);
  return parts[0] + body.trimEnd() + parts[1];
}

/**
 * SQL without whole-line `--` comments, trailing spaces and blank lines: the form kept where size counts
 * (the SSM parameter). Comments inside lines are kept, since removing them would need a tokenizer.
 */
export function stripLineComments(sql: string): string {
  return sql
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .map((line) => line.trimEnd())
    .filter((line) => line !== "")
    .join("\n");
}

/**
 * The Athena INSERT template, as stored in SSM: `athena_insert.sql` with the SELECT included and comments
 * stripped, leaving only the `${year}`, `${month}`, `${day}` and `${hour}` placeholders. The transform
 * function renders it per hour with `renderTemplate` (sqlTemplate.ts).
 */
export function athenaInsertTemplate(): string {
  return stripLineComments(includeSql(readSqlFile(TRANSFORM_FILES.athenaInsert), SELECT_INCLUDE, readSqlFile(TRANSFORM_FILES.select)));
}

/**
 * The DuckDB insert template: `duckdb_insert.sql` with the SELECT included and comments stripped, leaving
 * `${staging_dir}` and the hour placeholders (rendered by the local DuckDB engine).
 */
export function duckDbInsertTemplate(): string {
  return stripLineComments(includeSql(readSqlFile(TRANSFORM_FILES.duckdbInsert), SELECT_INCLUDE, readSqlFile(TRANSFORM_FILES.select)));
}
