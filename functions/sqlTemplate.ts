/**
 * Rendering of the SQL templates in `sql/`: `${name}` placeholders replaced by checked values. The hour
 * placeholders (`${year}`, `${month}`, `${day}`, `${hour}`) only ever receive integers checked against
 * their calendar range, written as plain digits, so no parameter value can change a statement's structure.
 * A placeholder the caller did not supply, or a malformed one, is an error rather than text left in SQL.
 */
import { HourPartition } from "./partitions";

/** Earliest year an hour partition may have (Bitcoin's genesis; CoinGecko has nothing older). */
export const MIN_PARTITION_YEAR = 2009;

/** Latest year an hour partition may have; matches the bounded year range of the tables' projection. */
export const MAX_PARTITION_YEAR = 2100;

/** The placeholders an hour renders, in partition order. */
export const HOUR_PLACEHOLDERS = ["year", "month", "day", "hour"] as const;

/** What a placeholder looks like: `${` + lower-case name + `}`. */
const PLACEHOLDER = /\$\{([a-z_]+)\}/g;

/** Anything that starts like a placeholder, valid or not. */
const PLACEHOLDER_START = /\$\{/g;

/** Number of days in a month (1-12) of a year, UTC calendar. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Checks that a value is an hour partition: an object whose year, month, day and hour are integers (type
 * number, not strings) within the calendar (year {@link MIN_PARTITION_YEAR}..{@link MAX_PARTITION_YEAR},
 * month 1..12, a day that exists in that month, hour 0..23). Returns just those four fields; throws an
 * Error naming the first bad field otherwise.
 */
export function checkHourPartition(value: unknown): HourPartition {
  if (typeof value !== "object" || value === null) throw new Error(`hour partition must be an object, got ${describe(value)}`);
  const v = value as Record<string, unknown>;
  const year = checkInteger(v, "year", MIN_PARTITION_YEAR, MAX_PARTITION_YEAR);
  const month = checkInteger(v, "month", 1, 12);
  const day = checkInteger(v, "day", 1, daysInMonth(year, month));
  const hour = checkInteger(v, "hour", 0, 23);
  return { year, month, day, hour };
}

/** Names of the placeholders in a template, in order of appearance (repeats included). */
export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/**
 * Replaces every `${name}` with `values[name]`. Throws if the template uses a name `values` lacks, or holds
 * a `${` that is not a well-formed placeholder. Values are inserted verbatim: callers pass only checked
 * integers or text they produced themselves (another SQL file, a quoted literal from {@link sqlStringLiteral}).
 */
export function fillPlaceholders(template: string, values: Readonly<Record<string, string>>): string {
  const wellFormed = placeholdersIn(template).length;
  const starts = (template.match(PLACEHOLDER_START) ?? []).length;
  if (starts !== wellFormed) throw new Error("SQL template holds a malformed placeholder: use ${name} with a lower-case name");
  const unknown = [...new Set(placeholdersIn(template).filter((name) => !Object.prototype.hasOwnProperty.call(values, name)))];
  if (unknown.length > 0) throw new Error(`SQL template has placeholders with no value: ${unknown.map((n) => "${" + n + "}").join(", ")}`);
  return template.replace(PLACEHOLDER, (_match, name: string) => values[name]);
}

/**
 * Renders an hour's statement: checks the partition ({@link checkHourPartition}) and fills the hour
 * placeholders with its integers. `literals` fills other placeholders in the same pass with text the caller
 * produced itself (a quoted literal from {@link sqlStringLiteral}), so a `${` inside that text stays text;
 * none by default. Any other placeholder left in the template is an error, so a template whose includes
 * were not resolved cannot reach the engine.
 */
export function renderTemplate(template: string, partition: HourPartition, literals: Readonly<Record<string, string>> = {}): string {
  const p = checkHourPartition(partition);
  return fillPlaceholders(template, {
    ...literals,
    year: String(p.year),
    month: String(p.month),
    day: String(p.day),
    hour: String(p.hour),
  });
}

/** A SQL string literal holding `value` (single quotes doubled). Rejects NUL, which no engine stores in SQL text. */
export function sqlStringLiteral(value: string): string {
  if (value.includes("\0")) throw new Error("SQL string literal cannot hold a NUL character");
  return `'${value.split("'").join("''")}'`;
}

function checkInteger(v: Record<string, unknown>, field: string, min: number, max: number): number {
  const n = v[field];
  if (typeof n !== "number" || !Number.isInteger(n)) throw new Error(`hour partition ${field} must be an integer, got ${describe(n)}`);
  if (n < min || n > max) throw new Error(`hour partition ${field} must be within ${min}..${max}, got ${n}`);
  return n;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "an object";
  return String(value);
}
