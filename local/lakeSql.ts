/**
 * Ad-hoc, read-only SQL over a local lake: one `SELECT` or `WITH` query, on the local engine with the
 * Glue catalog's names (the three lake tables and every `v_*` view, bare or qualified `crypto_data.`).
 *
 * Nothing rests on a keyword list. DuckDB itself decides, in three steps:
 * 1. its parser must find exactly one statement (`extractStatements`);
 * 2. `json_serialize_sql`, which only parses, must accept it: it serialises SELECT statements (WITH
 *    included) and refuses every other kind, without binding, so a refused statement never reaches the
 *    binder (which would already open the files an `EXPORT DATABASE` names);
 * 3. the prepared statement's type must be SELECT (what DuckDB will actually run).
 * Before that, the connection is locked down: files may be read only inside the lake
 * (`allowed_directories`), every other file, network and extension access is off
 * (`enable_external_access = false`, no extension auto-loading), and `lock_configuration` stops a
 * statement from switching any of it back. A SELECT cannot write, and the in-memory catalog the views
 * live in is not the lake, so nothing in the lake can change.
 */
import { DuckDBConnection, DuckDBPreparedStatement, StatementType } from "@duckdb/node-api";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { sqlStringLiteral } from "../functions/sqlTemplate";
import { convertRow, DuckDbEngine } from "./duckdbEngine";

/** Rows of an ad-hoc query. */
export interface LakeQueryResult {
  /** Output column names, in order (also when there are no rows). */
  columns: string[];
  /** Rows in the query's own order; BIGINTs as numbers when safe, else as decimal strings. */
  rows: Record<string, unknown>[];
}

/**
 * Runs one read-only `SELECT`/`WITH` query over the lake folder `lake`. Anything else (DDL, DML, `COPY`,
 * `ATTACH`, `SET`, `PRAGMA`, several statements, files or URLs outside the lake) is refused with a
 * one-line Error starting `refused:`; a query DuckDB cannot parse or bind fails with DuckDB's first line.
 */
export async function queryLake(lake: string, sql: string): Promise<LakeQueryResult> {
  const root = path.resolve(lake);
  const stat = await fs.stat(root).catch(() => undefined);
  if (stat === undefined || !stat.isDirectory()) throw new Error(`no lake folder at ${root}`);
  if (sql.trim() === "") throw refused("the query is empty");
  const engine = await DuckDbEngine.open(root);
  try {
    return await engine.withConnection(sql, async (connection) => {
      await lockDown(connection, engine.lake);
      const statement = await checkedStatement(connection, sql);
      const reader = await oneLine(() => statement.runAndReadAll());
      return { columns: reader.columnNames(), rows: reader.getRowObjectsJS().map(convertRow) };
    });
  } finally {
    engine.close();
  }
}

/**
 * Restricts the connection for good: reads only under `lake`, no other file or network access, no
 * extension installs or loads, and no later `SET` (DuckDB's own settings, so no statement can undo them).
 */
async function lockDown(connection: DuckDBConnection, lake: string): Promise<void> {
  // The trailing separator keeps a sibling folder whose name starts with the lake's (lake2/) out.
  await connection.run(`SET allowed_directories = [${sqlStringLiteral(lake + path.sep)}]`);
  await connection.run("SET autoinstall_known_extensions = false");
  await connection.run("SET autoload_known_extensions = false");
  await connection.run("SET enable_external_access = false");
  await connection.run("SET lock_configuration = true");
}

/** The query as one prepared SELECT statement, after DuckDB's parser has checked it (see the module comment). */
async function checkedStatement(connection: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  const extracted = await oneLine(() => connection.extractStatements(sql));
  if (extracted.count !== 1) throw refused(`one statement is allowed, the text holds ${extracted.count}`);
  const serialized = await connection.runAndReadAll(`SELECT CAST(json_serialize_sql(${sqlStringLiteral(sql)}) AS VARCHAR) AS tree`);
  const tree = JSON.parse(String(serialized.getRowObjectsJS()[0].tree)) as { error?: boolean; error_message?: string };
  if (tree.error === true) throw refused(`only a SELECT or WITH query may run (${tree.error_message ?? "not a SELECT statement"})`);
  const prepared = await oneLine(() => extracted.prepare(0));
  if (prepared.statementType !== StatementType.SELECT)
    throw refused(`only a SELECT or WITH query may run, this is ${StatementType[prepared.statementType]}`);
  return prepared;
}

function refused(why: string): Error {
  return new Error(`refused: ${why}`);
}

/** Runs a DuckDB call, turning its multi-line error (caret diagram, hints) into its first line. */
async function oneLine<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).split("\n")[0].replace(/^Failed to extract statements: /, "");
    throw new Error(
      message.includes("disabled by configuration") ? `refused: ${message} (queries read only files inside the lake)` : message,
      { cause: err },
    );
  }
}
