/**
 * `crypto-analytics sql`: one read-only SELECT/WITH query over a simulated lake, with the Glue catalog's
 * names. The answer to "what was the top 100 twelve hours ago?" equals an independent computation over the
 * processed files; every refused kind of statement fails with a one-line reason, and the lake's files are
 * byte for byte the same afterwards.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { sqlCommand } from "../cli/sqlCommand";
import { localTransform } from "../local/localTransform";
import { floorToSlot } from "../functions/partitions";
import { queryLake } from "../local/lakeSql";
import { makeTempDir, recorder, removeTempDir } from "./helpers/factories";
import { processedRows, simulateInto } from "./helpers/simulatedLake";

const COINS = 120;
const HOUR = 3600;
const EVERY = 1800;

/** The README's example: the top 100 of the newest snapshot at least twelve hours old. */
const TOP_100_TWELVE_HOURS_AGO = `
WITH target AS (
  SELECT max("timestamp") AS ts
  FROM crypto_data.analytics_prices
  WHERE "timestamp" <= epoch(current_timestamp) - 12 * 3600
)
SELECT p.market_cap_rank, p.id, p.symbol, p.current_price, p.market_cap, p."timestamp"
FROM crypto_data.analytics_prices AS p
JOIN target AS t ON p."timestamp" = t.ts
WHERE p.market_cap_rank <= 100
ORDER BY p.market_cap_rank`;

let root: string;
let lake: string;
let target: number;
let lakeDigest: string;

/** sha256 over every file and folder under `dir` (dot folders included): names, and file bytes. */
function treeDigest(dir: string): string {
  const hash = createHash("sha256");
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const child = path.join(rel, entry.name);
      hash.update(`${entry.isDirectory() ? "d" : "f"} ${child}\n`);
      if (entry.isDirectory()) walk(child);
      else hash.update(fs.readFileSync(path.join(dir, child)));
    }
  };
  walk("");
  return hash.digest("hex");
}

beforeAll(async () => {
  root = makeTempDir("lake-sql");
  lake = path.join(root, "lake");
  const now = Math.floor(Date.now() / 1000);
  // The snapshot the query must pick sits 10-15 minutes before "twelve hours ago" and the next one 15-20
  // minutes after it, so the answer does not depend on when during the test the query runs.
  target = floorToSlot(now - 12 * HOUR - 600);
  await simulateInto(lake, { from: target - 2 * HOUR, to: target + 23 * EVERY, every: EVERY, coins: COINS });
  await localTransform({ lake, all: true, logger: recorder().logger, nowMs: () => now * 1000 });
  // Files outside the lake that refused queries try to read.
  fs.mkdirSync(path.join(root, "outside"));
  fs.writeFileSync(path.join(root, "outside", "secret.txt"), "outside the lake\n");
  fs.mkdirSync(`${lake}2`);
  fs.writeFileSync(path.join(`${lake}2`, "secret.txt"), "a sibling whose name starts with the lake's\n");
  lakeDigest = treeDigest(lake);
}, 120_000);

afterAll(() => removeTempDir(root));

describe("sql answers", () => {
  it("the top 100 twelve hours ago, exactly as computed from the processed files", async () => {
    const expected = processedRows(lake)
      .filter((r) => r.timestamp === target && r.market_cap_rank !== null && r.market_cap_rank <= 100)
      .sort((a, b) => (a.market_cap_rank ?? 0) - (b.market_cap_rank ?? 0))
      .map((r) => ({
        market_cap_rank: r.market_cap_rank,
        id: r.id,
        symbol: r.symbol,
        current_price: r.current_price,
        market_cap: r.market_cap,
        timestamp: r.timestamp,
      }));
    expect(expected).toHaveLength(100);

    const got = JSON.parse(await sqlCommand({ lake, query: TOP_100_TWELVE_HOURS_AGO, format: "json" })) as unknown[];

    expect(got).toEqual(expected);
  });

  it.each([
    ["a view", "v_top_100"],
    ["a lake table", "processed_prices"],
    ["the raw-text table", "processed_prices_raw"],
    ["the analytics table", "analytics_prices"],
  ])("%s by its bare name and qualified crypto_data. gives the same rows", async (_what, name) => {
    const bare = await queryLake(lake, `SELECT count(*) AS n, max("timestamp") AS newest FROM ${name}`);
    const qualified = await queryLake(lake, `SELECT count(*) AS n, max("timestamp") AS newest FROM crypto_data.${name}`);
    expect(qualified).toEqual(bare);
    expect(bare.rows[0].n).toBeGreaterThan(0);
  });

  it("keeps the column names of an empty result, for the table and CSV headers", async () => {
    const csv = await sqlCommand({ lake, query: "SELECT id, current_price FROM v_top_100 WHERE id = 'no-such-coin'", format: "csv" });
    expect(csv).toBe("id,current_price\r\n");
  });

  it("reads files inside the lake with DuckDB's file functions", async () => {
    const { rows } = await queryLake(lake, `SELECT count(*) AS files FROM glob('${lake}/processed/**/*.ndjson.gz')`);
    expect(rows[0].files).toBe(new Set(processedRows(lake).map((r) => r.timestamp)).size);
  });
});

describe("sql refuses", () => {
  const refusals: [string, () => string, RegExp][] = [
    ["DDL: DROP VIEW", () => "DROP VIEW v_top_100", /^refused: only a SELECT or WITH query/],
    [
      "DDL: CREATE TABLE AS",
      () => "CREATE TABLE crypto_data.copy AS SELECT * FROM analytics_prices",
      /^refused: only a SELECT or WITH query/,
    ],
    ["DML: INSERT", () => "INSERT INTO analytics_prices SELECT * FROM analytics_prices", /^refused: only a SELECT or WITH query/],
    ["DML: DELETE", () => "DELETE FROM processed_prices", /^refused: only a SELECT or WITH query/],
    ["DML: UPDATE", () => "UPDATE analytics_prices SET current_price = 0", /^refused: only a SELECT or WITH query/],
    [
      "COPY a query into the lake",
      () => `COPY (SELECT 1 AS x) TO '${lake}/analytics/injected.parquet'`,
      /^refused: only a SELECT or WITH query/,
    ],
    [
      "COPY a table into the lake",
      () => `COPY analytics_prices TO '${lake}/processed/injected.csv'`,
      /^refused: only a SELECT or WITH query/,
    ],
    ["EXPORT DATABASE", () => `EXPORT DATABASE '${lake}/export'`, /^refused: only a SELECT or WITH query/],
    ["ATTACH", () => `ATTACH '${lake}/other.duckdb' AS other`, /^refused: only a SELECT or WITH query/],
    ["SET", () => "SET enable_external_access = true", /^refused: only a SELECT or WITH query/],
    ["PRAGMA", () => "PRAGMA show_tables", /^refused: only a SELECT or WITH query/],
    ["INSTALL", () => "INSTALL httpfs", /^refused: only a SELECT or WITH query/],
    ["LOAD", () => "LOAD httpfs", /^refused: only a SELECT or WITH query/],
    ["CALL", () => "CALL pragma_version()", /^refused: only a SELECT or WITH query/],
    ["EXPLAIN ANALYZE", () => "EXPLAIN ANALYZE SELECT * FROM v_top_100", /^refused: only a SELECT or WITH query/],
    ["two SELECTs", () => "SELECT 1; SELECT 2", /^refused: one statement is allowed, the text holds 2/],
    ["a SELECT followed by a DROP", () => "SELECT 1; DROP VIEW v_top_100", /^refused: one statement is allowed, the text holds 2/],
    [
      "a file outside the lake",
      () => `SELECT * FROM read_text('${root}/outside/secret.txt')`,
      /^refused: .*disabled by configuration \(queries read only files inside the lake\)$/,
    ],
    [
      "a path climbing out of the lake",
      () => `SELECT * FROM read_text('${lake}/../outside/secret.txt')`,
      /^refused: .*disabled by configuration/,
    ],
    [
      "a sibling folder sharing the lake's name as prefix",
      () => `SELECT * FROM read_text('${lake}2/secret.txt')`,
      /^refused: .*disabled by configuration/,
    ],
    ["a system file", () => "SELECT * FROM read_csv('/etc/passwd')", /^refused: .*disabled by configuration/],
    ["a URL", () => "SELECT * FROM read_parquet('https://example.com/data.parquet')", /^refused: .*disabled by configuration/],
    ["a statement smuggled through query()", () => "SELECT * FROM query('DROP VIEW v_top_100')", /SELECT statement/],
    ["an empty text", () => "  ", /^refused: the query is empty$/],
    ["text DuckDB cannot parse", () => "SELEC * FROM v_top_100", /^Parser Error: syntax error/],
  ];

  it.each(refusals)("%s, with a one-line reason", async (_kind, sql, reason) => {
    const failure = queryLake(lake, sql());
    await expect(failure).rejects.toThrow(reason);
    await expect(failure).rejects.toThrow(/^[^\n]*$/);
  });

  it("left every file of the lake as it was, and the views still answer", async () => {
    expect(treeDigest(lake)).toBe(lakeDigest);
    const { rows } = await queryLake(lake, "SELECT count(*) AS n FROM crypto_data.v_top_100");
    expect(rows[0].n).toBe(100);
  });

  it("refuses a folder that is not a lake before opening anything", async () => {
    await expect(queryLake(path.join(root, "missing"), "SELECT 1")).rejects.toThrow(/^no lake folder at /);
    expect(fs.existsSync(path.join(root, "missing"))).toBe(false);
  });
});
