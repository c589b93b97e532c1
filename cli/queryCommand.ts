/**
 * `crypto-analytics query VIEW --lake DIR [--format table|json|csv]`: one of the `v_*` views on DuckDB
 * over the local lake. Only view names from `sql/views` are accepted; nothing else reaches the engine.
 */
import { viewNames } from "../functions/sqlFiles";
import { DuckDbEngine } from "../local/duckdbEngine";
import { requireLake } from "../local/lakeFolder";

/** Output formats of {@link queryCommand}. */
export const QUERY_FORMATS = ["table", "json", "csv"] as const;

/** An output format of {@link queryCommand}. */
export type QueryFormat = (typeof QUERY_FORMATS)[number];

/** Arguments of {@link queryCommand}. */
export interface QueryCommandArgs {
  /** The lake folder; must be a lake ({@link requireLake}). */
  lake: string;
  /** A view name, e.g. `v_top_100`. */
  view: string;
  /** Output format. Defaults to `table`. */
  format?: QueryFormat;
}

/**
 * The view's rows as text: an aligned table, a JSON array of objects, or CSV (RFC 4180, header first).
 * Rows come sorted by every column left to right, which puts each view's leading rank or time column first.
 * Throws for an unknown view (listing the valid ones) or format, and for a folder that is not a lake.
 */
export async function queryCommand(args: QueryCommandArgs): Promise<string> {
  const format = args.format ?? "table";
  if (!(QUERY_FORMATS as readonly string[]).includes(format))
    throw new Error(`unknown format ${JSON.stringify(format)}; use one of ${QUERY_FORMATS.join(", ")}`);
  const views = viewNames();
  if (!views.includes(args.view)) throw new Error(`unknown view ${JSON.stringify(args.view)}; valid views: ${views.join(", ")}`);
  requireLake(args.lake);
  // The default window, the files: one view statement reads them once, where loading them into memory first
  // would read them all and then run the view (npm run bench times this command end to end).
  const engine = await DuckDbEngine.open(args.lake);
  try {
    const columns = (await engine.viewSchema(args.view)).map((c) => c.name);
    // The name was checked against the view files above, so it is a plain identifier.
    const { rows } = await engine.execute(`SELECT * FROM ${args.view} ORDER BY ALL`);
    return formatRows(columns, rows, format);
  } finally {
    engine.close();
  }
}

/**
 * Rows as `format` text: an aligned table with a row count, a JSON array of objects, or CSV (RFC 4180,
 * header first). Throws for an unknown format.
 */
export function formatRows(columns: string[], rows: Record<string, unknown>[], format: QueryFormat): string {
  if (!(QUERY_FORMATS as readonly string[]).includes(format))
    throw new Error(`unknown format ${JSON.stringify(format)}; use one of ${QUERY_FORMATS.join(", ")}`);
  if (format === "json") return JSON.stringify(rows, null, 2) + "\n";
  if (format === "csv")
    return [columns, ...rows.map((r) => columns.map((c) => r[c]))].map((cells) => cells.map(csvCell).join(",")).join("\r\n") + "\r\n";
  return table(columns, rows);
}

/** A CSV field: empty for null, quoted when it holds a comma, quote, line break or edge space. */
function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.split('"').join('""')}"` : text;
}

/** An aligned text table; numbers right-aligned, nulls blank, with a row count at the end. */
function table(columns: string[], rows: Record<string, unknown>[]): string {
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? "" : String(r[c]))));
  const numeric = columns.map(
    (c) => rows.some((r) => typeof r[c] === "number") && rows.every((r) => r[c] === null || typeof r[c] === "number"),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]): string =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return (
    [
      line(columns),
      widths.map((w) => "-".repeat(w)).join("  "),
      ...cells.map(line),
      `(${rows.length} row${rows.length === 1 ? "" : "s"})`,
    ].join("\n") + "\n"
  );
}
