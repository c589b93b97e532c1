/**
 * Every SQL file is Trino SQL in the subset DuckDB shares (checked with dt-sql-parser's TrinoSQL grammar,
 * which Athena engine 3 follows) — except the one DuckDB-only wrapper, which must be the only exception.
 */
import * as fs from "fs";
import * as path from "path";
import { athenaInsertTemplate, readSqlFile, sqlRoot, stripLineComments, TRANSFORM_FILES, viewNames, viewSql } from "../functions/sqlFiles";
import { renderTemplate } from "../functions/sqlTemplate";
import { checkTrino, TrinoCheck } from "./helpers/trinoGrammar";

const HOUR = { year: 2024, month: 9, day: 3, hour: 7 };

/** Every `.sql` file under sql/, relative to it. */
function sqlFiles(): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(sqlRoot(), rel), { withFileTypes: true })) {
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith(".sql")) out.push(child);
    }
  };
  walk("");
  return out.sort();
}

/** What the Trino check parses for each file: views as they are, transform files rendered for one hour. */
const TRINO_STATEMENTS: Record<string, () => string> = {
  [TRANSFORM_FILES.select]: () => renderTemplate(readSqlFile(TRANSFORM_FILES.select), HOUR),
  [TRANSFORM_FILES.athenaInsert]: () => renderTemplate(athenaInsertTemplate(), HOUR),
  ...Object.fromEntries(viewNames().map((v) => [`views/${v}.sql`, () => viewSql(v)])),
};

/** Files that are not Trino SQL, with the reason; the DuckDB tests run them instead. */
const DUCKDB_ONLY: Record<string, string> = {
  [TRANSFORM_FILES.duckdbInsert]: "DuckDB's COPY ... TO, the local wrapper around the same SELECT",
};

const NON_TRINO: [string, string][] = [
  ["a :: cast", "SELECT x::int AS y FROM t"],
  ["QUALIFY", "SELECT a AS a FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1"],
  ["SELECT * EXCLUDE", "SELECT * EXCLUDE (a) FROM t"],
  ["GROUP BY ALL", "SELECT a AS a, count(*) AS n FROM t GROUP BY ALL"],
  ["LIMIT .. OFFSET", "SELECT a AS a FROM t LIMIT 10 OFFSET 5"],
  ["an unquoted INTERVAL", "SELECT a AS a FROM t WHERE ts > now() - INTERVAL 7 DAY"],
  ["a dangling comma", "SELECT a, FROM t"],
];

describe("Trino grammar check", () => {
  // One child process checks every text (see helpers/trinoGrammar.ts).
  const checks = new Map<string, TrinoCheck>();
  beforeAll(() => {
    const texts = [
      ...Object.values(TRINO_STATEMENTS).map((f) => f()),
      ...Object.keys(DUCKDB_ONLY).map(readSqlFile),
      ...NON_TRINO.map(([, sql]) => sql),
    ];
    checkTrino(texts).forEach((check, i) => checks.set(texts[i], check));
  });
  const check = (sql: string): TrinoCheck => checks.get(sql) as TrinoCheck;

  it("covers every .sql file: each is either Trino-checked or a listed DuckDB-only wrapper", () => {
    expect(sqlFiles()).toEqual([...Object.keys(TRINO_STATEMENTS), ...Object.keys(DUCKDB_ONLY)].sort());
  });

  it.each(Object.keys(TRINO_STATEMENTS))("%s parses as one Trino statement", (file) => {
    expect(check(TRINO_STATEMENTS[file]())).toEqual({ errors: [], statements: 1 });
  });

  it.each(Object.keys(DUCKDB_ONLY))("%s is not Trino SQL, so the check does fail on it", (file) => {
    expect(check(readSqlFile(file)).errors.length).toBeGreaterThan(0);
  });

  it.each(NON_TRINO)("rejects %s", (_what, sql) => {
    expect(check(sql).errors.length).toBeGreaterThan(0);
  });
});

describe("common Trino/DuckDB subset", () => {
  const files = sqlFiles();

  // Things the Trino grammar accepts but DuckDB lacks or treats differently, or the design rules out.
  it.each([
    ["any_value (DuckDB name; Trino has arbitrary)", /\bany_value\s*\(/i],
    ["from_unixtime / to_timestamp (use epoch-second arithmetic)", /\b(from_unixtime|to_timestamp|to_unixtime|epoch)\s*\(/i],
    [
      "INTERVAL other than the standard quoted day form, e.g. INTERVAL '7' DAY (for timestamps use epoch seconds)",
      /\bINTERVAL\b(?!\s+'\d+'\s+DAY\b)/i,
    ],
    ["a :: cast", /::/],
    ["date_add / date_diff (different signatures)", /\bdate_(add|diff)\s*\(/i],
  ])("no file uses %s", (_what, pattern) => {
    const offenders = files.filter((f) => pattern.test(stripLineComments(readSqlFile(f))));
    expect(offenders).toEqual([]);
  });

  it.each(viewNames())("%s orders rows only together with a LIMIT", (view) => {
    const sql = stripLineComments(viewSql(view)).replace(/OVER\s*\([^)]*\)/gi, "");
    if (/\bORDER\s+BY\b/i.test(sql)) expect(sql).toMatch(/\bLIMIT\s+\d+\s*$/i);
    else expect(sql).not.toMatch(/\bLIMIT\b/i);
  });

  it("only v_recent_prices reads analytics_prices, so one predicate bounds the partitions of every view", () => {
    const readers = viewNames().filter((v) => /\banalytics_prices\b/.test(stripLineComments(viewSql(v))));
    expect(readers).toEqual(["v_recent_prices"]);
    for (const v of viewNames().filter((n) => n !== "v_recent_prices")) {
      expect(stripLineComments(viewSql(v))).toMatch(/\b(v_recent_prices|v_latest_snapshot)\b/);
    }
  });

  it("the window predicate compares only partition columns with constant expressions of the engine's clock", () => {
    const where = stripLineComments(viewSql("v_recent_prices")).split(/\bWHERE\b/)[1];
    const columns = new Set(where.match(/\bp\.[a-z_]+/g));
    expect([...columns].sort()).toEqual(["p.day", "p.hour", "p.month", "p.year"]);
    expect(where).not.toMatch(/SELECT/i);
    // Each comparison is a partition column against an expression of current_date/current_timestamp and
    // literals only, the shape both Athena's projection and DuckDB's file pruning evaluate before reading.
    const comparisons = [...where.matchAll(/\bp\.[a-z]+\s*(?:>=|>|=)\s*([^\n]+)/g)].map((m) => m[1]);
    expect(comparisons.length).toBeGreaterThan(0);
    for (const right of comparisons)
      expect(
        right.replace(
          /\b(current_date|current_timestamp|year|month|day|hour|CAST|AS|INTEGER|CASE|WHEN|THEN|ELSE|END|INTERVAL|DAY)\b|'\d+'|\d+|[-+()=\s]/gi,
          "",
        ),
      ).toBe("");
  });
});
