/**
 * Processed snapshots as gzipped newline-delimited JSON, one object per row with the columns of
 * {@link PROCESSED_COLUMNS} in file order. `bigint` and `int` columns are written as plain digits: Athena
 * (Trino) cannot cast `1e+21`-style text to bigint, and JavaScript prints large doubles that way.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { PROCESSED_COLUMNS, ProcessedRow } from "./schema";

/** One row as one JSON line (no trailing newline). */
export function toNdjsonLine(row: ProcessedRow): string {
  const fields = PROCESSED_COLUMNS.map(({ name, type }) => {
    const value = row[name as keyof ProcessedRow];
    return `${JSON.stringify(name)}:${jsonValue(value, type === "bigint" || type === "int")}`;
  });
  return `{${fields.join(",")}}`;
}

/** Rows as NDJSON text: one line per row, each ending in `\n`. */
export function encodeNdjson(rows: readonly ProcessedRow[]): string {
  return rows.map((r) => toNdjsonLine(r) + "\n").join("");
}

/**
 * Rows as gzipped NDJSON bytes. Deterministic (zlib writes no timestamp or file name), so the same rows
 * always give the same bytes.
 */
export function gzipNdjson(rows: readonly ProcessedRow[]): Uint8Array {
  return new Uint8Array(gzipSync(Buffer.from(encodeNdjson(rows), "utf8")));
}

/** Parses gzipped NDJSON back into objects (readers of processed files, tests). */
export function parseNdjsonGz(bytes: Uint8Array): Record<string, unknown>[] {
  return gunzipSync(bytes)
    .toString("utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function jsonValue(value: unknown, integer: boolean): string {
  if (value === null || value === undefined) return "null";
  // BigInt prints every integer-valued double in plain digits, however large.
  if (integer && typeof value === "number") return BigInt(value).toString();
  return JSON.stringify(value);
}
