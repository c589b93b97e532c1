/**
 * The hourly transform on real DuckDB over real lake folders built through the ingest path: which hours
 * run, that re-runs and late data add only missing rows, catch-up, manifests, metrics, failures; and the
 * SQL template rendering that feeds it.
 */
import * as fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import { localTransform } from "../local/localTransform";
import { LocalObjectStore } from "../functions/localObjectStore";
import { HourPartition, partitionOf, partitionPath, processedKey } from "../functions/partitions";
import { QueryEngine } from "../functions/queryEngine";
import { LAKE_TABLES, PARTITION_COLUMNS, PROCESSED_COLUMNS } from "../functions/schema";
import { athenaInsertTemplate, readSqlFile, TRANSFORM_FILES } from "../functions/sqlFiles";
import { checkHourPartition, fillPlaceholders, renderTemplate, sqlStringLiteral } from "../functions/sqlTemplate";
import {
  DEFAULT_LOOKBACK_HOURS,
  manifestKey,
  runTransform,
  TransformDeps,
  TransformManifest,
  transformIdempotencyKey,
} from "../functions/transform";
import { DuckDbEngine, renderDuckDbInsert, STAGING_DIR } from "../local/duckdbEngine";
import { makeTempDir, recorder, removeTempDir } from "./helpers/factories";
import { simulateInto } from "./helpers/simulatedLake";

/** 2024-09-03T00:00:00Z: a fixed past day, so these tests never depend on the clock. */
const BASE = Date.UTC(2024, 8, 3, 0) / 1000;
const HOUR = 3600;
const COINS = 30;
/** Snapshots every 10 minutes: 6 per hour. */
const EVERY = 600;
const PER_HOUR = HOUR / EVERY;

const hourAt = (h: number): HourPartition => partitionOf(BASE + h * HOUR);
/** Epoch ms of minute `m` of hour `h` after BASE. */
const clock = (h: number, m = 5): number => (BASE + h * HOUR + m * 60) * 1000;

let lake: string;
let engines: DuckDbEngine[];

beforeEach(() => {
  lake = makeTempDir("transform-test");
  engines = [];
});
afterEach(() => {
  engines.forEach((e) => e.close());
  removeTempDir(lake);
});

async function openEngine(): Promise<DuckDbEngine> {
  const engine = await DuckDbEngine.open(lake);
  engines.push(engine);
  return engine;
}

/** Snapshots of hours [fromHour, toHour) after BASE, or of slots [first, last] within one hour. */
async function ingestHours(fromHour: number, toHour: number): Promise<void> {
  await simulateInto(lake, { from: BASE + fromHour * HOUR, to: BASE + toHour * HOUR - 1, every: EVERY, coins: COINS });
}
async function ingestSlots(hour: number, firstSlot: number, lastSlot: number): Promise<void> {
  await simulateInto(lake, {
    from: BASE + hour * HOUR + firstSlot * EVERY,
    to: BASE + hour * HOUR + lastSlot * EVERY,
    every: EVERY,
    coins: COINS,
  });
}

function transformDeps(
  engine: QueryEngine & { renderInsert?(p: HourPartition): string },
  nowMs: number,
  rec = recorder(),
  render?: (p: HourPartition) => string,
): TransformDeps {
  const store = new LocalObjectStore(lake);
  return {
    processed: store,
    state: store,
    engine,
    renderInsert: render ?? ((p) => (engine as DuckDbEngine).renderInsert(p)),
    logger: rec.logger,
    metrics: rec.metrics,
    nowMs: () => nowMs,
  };
}

/** Rows and distinct (id, timestamp) keys of one analytics hour. */
async function analyticsCount(engine: DuckDbEngine, p: HourPartition): Promise<{ rows: number; keys: number }> {
  const { rows } = await engine.execute(
    `SELECT count(*) AS n, count(DISTINCT id || '@' || CAST("timestamp" AS VARCHAR)) AS k FROM analytics_prices WHERE year = ${p.year} AND month = ${p.month} AND day = ${p.day} AND hour = ${p.hour}`,
  );
  return { rows: Number(rows[0].n), keys: Number(rows[0].k) };
}

function manifestOf(p: HourPartition): TransformManifest | undefined {
  const file = path.join(lake, ...manifestKey(p).split("/"));
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as TransformManifest) : undefined;
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

const slotsOf = (h: number, count = PER_HOUR): number[] => Array.from({ length: count }, (_, i) => BASE + h * HOUR + i * EVERY);

describe("runTransform on DuckDB", () => {
  it("materialises every completed hour of the lookback, leaves the current hour, and records manifests and metrics", async () => {
    await ingestHours(0, 3);
    await ingestSlots(3, 0, 2); // the current, incomplete hour
    const engine = await openEngine();
    const rec = recorder();

    const summary = await runTransform(transformDeps(engine, clock(3, 35), rec));

    expect(summary.hours.map((h) => h.partition)).toEqual([hourAt(0), hourAt(1), hourAt(2)]);
    expect(summary.hours.map((h) => [h.snapshots, h.rowsWritten])).toEqual([
      [6, 180],
      [6, 180],
      [6, 180],
    ]);
    expect(summary).toMatchObject({ rowsMaterialised: 3 * PER_HOUR * COINS, hoursCaughtUp: 2, lagHours: 0 });
    for (const h of [0, 1, 2]) {
      expect(await analyticsCount(engine, hourAt(h))).toEqual({ rows: 180, keys: 180 });
      expect(manifestOf(hourAt(h))).toMatchObject({ version: 1, partition: partitionPath(hourAt(h)), snapshots: slotsOf(h) });
    }
    expect(await analyticsCount(engine, hourAt(3))).toEqual({ rows: 0, keys: 0 });
    expect(manifestOf(hourAt(3))).toBeUndefined();

    const emf = rec.emf();
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ RowsMaterialised: 540, HoursMaterialised: 3, HoursCaughtUp: 2, TransformLagHours: 0 });
    const materialised = rec.logs().filter((l) => l.message === "hour materialised");
    expect(materialised).toHaveLength(3);
    for (const line of materialised) expect(line.queryId).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    // The staged Parquet files were all published: nothing is left outside the data tree.
    expect(filesUnder(path.join(lake, STAGING_DIR))).toEqual([]);
  });

  it("running an hour twice adds nothing, even when the manifest was lost after the insert", async () => {
    await ingestHours(0, 2);
    const first = await openEngine();
    await runTransform(transformDeps(first, clock(2)));
    expect(await analyticsCount(first, hourAt(1))).toEqual({ rows: 180, keys: 180 });

    // With its manifest in place the hour is not run again at all.
    const again = await runTransform(transformDeps(first, clock(2)));
    expect(again.hours).toEqual([]);

    // A crash between the insert and the manifest: a new process runs the hour again; the SQL skips every row.
    fs.rmSync(path.join(lake, ...manifestKey(hourAt(1)).split("/")));
    const restarted = await openEngine();
    const rerun = await runTransform(transformDeps(restarted, clock(2)));
    expect(rerun.hours).toEqual([expect.objectContaining({ partition: hourAt(1), snapshots: 6, rowsWritten: 0 })]);
    expect(await analyticsCount(restarted, hourAt(1))).toEqual({ rows: 180, keys: 180 });
    expect(manifestOf(hourAt(1))?.snapshots).toEqual(slotsOf(1));
  });

  it("orphaned files of a FAILED INSERT (part of the hour's rows, no manifest) are completed, not duplicated, by the retry", async () => {
    // Athena: "Even if a CTAS or INSERT INTO statement fails, orphaned data can be left in the data location
    // specified in the statement" (https://docs.aws.amazon.com/athena/latest/ug/troubleshooting-athena.html).
    // Here a statement over the first half of the hour's snapshots stands for such a partial write.
    await ingestSlots(0, 0, 2);
    const engine = await openEngine();
    await engine.execute(engine.renderInsert(hourAt(0)));
    await ingestSlots(0, 3, 5);
    expect(manifestOf(hourAt(0))).toBeUndefined();
    expect(await analyticsCount(engine, hourAt(0))).toEqual({ rows: 3 * COINS, keys: 3 * COINS });

    const retry = await runTransform(transformDeps(engine, clock(1)));

    expect(retry.hours).toEqual([expect.objectContaining({ partition: hourAt(0), snapshots: 6, rowsWritten: 3 * COINS })]);
    expect(await analyticsCount(engine, hourAt(0))).toEqual({ rows: 6 * COINS, keys: 6 * COINS });
    expect(manifestOf(hourAt(0))?.snapshots).toEqual(slotsOf(0));
  });

  it("an hour whose late snapshots arrive after it was materialised gains only the new rows", async () => {
    await ingestSlots(0, 0, 2);
    const engine = await openEngine();
    const early = await runTransform(transformDeps(engine, clock(1)));
    expect(early.hours.map((h) => h.rowsWritten)).toEqual([3 * COINS]);
    expect(manifestOf(hourAt(0))?.snapshots).toEqual(slotsOf(0, 3));

    await ingestSlots(0, 3, 5);
    const late = await runTransform(transformDeps(engine, clock(1, 40)));

    expect(late.hours).toEqual([expect.objectContaining({ partition: hourAt(0), snapshots: 6, rowsWritten: 3 * COINS })]);
    expect(await analyticsCount(engine, hourAt(0))).toEqual({ rows: 6 * COINS, keys: 6 * COINS });
    expect(manifestOf(hourAt(0))?.snapshots).toEqual(slotsOf(0));
  });

  it("catches up a 6-hour gap in one run and reports it", async () => {
    await ingestHours(0, 8);
    const engine = await openEngine();
    await runTransform(transformDeps(engine, clock(1)));
    const rec = recorder();

    const summary = await runTransform(transformDeps(engine, clock(8), rec));

    expect(summary.hours.map((h) => h.partition)).toEqual([1, 2, 3, 4, 5, 6, 7].map(hourAt));
    expect(summary).toMatchObject({ rowsMaterialised: 7 * PER_HOUR * COINS, hoursCaughtUp: 6, lagHours: 0 });
    expect(rec.emf()[0]).toMatchObject({ HoursMaterialised: 7, HoursCaughtUp: 6, TransformLagHours: 0 });
    for (let h = 0; h < 8; h++) expect(await analyticsCount(engine, hourAt(h))).toEqual({ rows: 180, keys: 180 });
  });

  it("runs the other hours when one fails, writes no manifest for it, then throws naming it", async () => {
    await ingestHours(0, 4);
    const engine = await openEngine();
    const failing: QueryEngine = {
      execute: (sql, options) =>
        sql.includes("r.hour = 2\n") ? Promise.reject(new Error("engine exploded")) : engine.execute(sql, options),
    };
    const rec = recorder();

    await expect(runTransform(transformDeps(failing, clock(4), rec, (p) => engine.renderInsert(p)))).rejects.toThrow(
      /transform failed for 1 hour\(s\): year=2024\/month=9\/day=3\/hour=2: engine exploded/,
    );

    expect([0, 1, 2, 3].map((h) => manifestOf(hourAt(h)) !== undefined)).toEqual([true, true, false, true]);
    expect(rec.emf()[0]).toMatchObject({ HoursMaterialised: 3, TransformLagHours: 0 });
    expect(rec.logs().find((l) => l.message === "hour failed")).toMatchObject({
      partition: "year=2024/month=9/day=3/hour=2",
      errorMessage: "engine exploded",
    });

    const retry = await runTransform(transformDeps(engine, clock(4)));
    expect(retry.hours.map((h) => h.partition)).toEqual([hourAt(2)]);
    expect(retry.hoursCaughtUp).toBe(1);
  });

  it("a corrupt processed file fails its hour and leaves no partial Parquet or manifest behind", async () => {
    await ingestHours(0, 2);
    await new LocalObjectStore(lake).put(processedKey(BASE + HOUR + 30), new Uint8Array([0x1f, 0x8b, 1, 2, 3]));
    const engine = await openEngine();

    await expect(runTransform(transformDeps(engine, clock(2)))).rejects.toThrow(/hour=1: /);

    expect(manifestOf(hourAt(0))).toBeDefined();
    expect(manifestOf(hourAt(1))).toBeUndefined();
    expect(await analyticsCount(engine, hourAt(1))).toEqual({ rows: 0, keys: 0 });
    expect(filesUnder(path.join(lake, STAGING_DIR))).toEqual([]);
  });

  it("types strings safely: bad numbers become NULL, rows without id are dropped, repeated keys collapse", async () => {
    const t = BASE + 600;
    const row = (fields: Record<string, unknown>): string =>
      JSON.stringify({
        ...Object.fromEntries(PROCESSED_COLUMNS.map((c) => [c.name, null])),
        symbol: "x",
        name: "X",
        vs_currency: "usd",
        timestamp: t,
        ...fields,
      });
    const lines = [
      row({ id: "good", current_price: 8.64e-7, market_cap: 123456789012, market_cap_rank: 1, price_change_pct_24h: -1.5e-3 }),
      row({ id: "bad", current_price: "not a number", market_cap: "12.5e", market_cap_rank: "first" }),
      row({ id: null, current_price: 1 }),
      row({ id: "", current_price: 1 }),
      row({ id: "twice", current_price: 1, last_updated: "2024-09-03T00:09:00Z" }),
      row({ id: "twice", current_price: 2, last_updated: "2024-09-03T00:08:00Z" }),
    ];
    const { gzipSync } = await import("zlib");
    await new LocalObjectStore(lake).put(processedKey(t), new Uint8Array(gzipSync(lines.join("\n") + "\n")));
    const engine = await openEngine();

    await runTransform(transformDeps(engine, clock(1)));

    const { rows } = await engine.execute(
      `SELECT id, current_price, market_cap, market_cap_rank, price_change_pct_24h FROM analytics_prices ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: "bad", current_price: null, market_cap: null, market_cap_rank: null, price_change_pct_24h: null },
      { id: "good", current_price: 8.64e-7, market_cap: 123456789012, market_cap_rank: 1, price_change_pct_24h: -1.5e-3 },
      { id: "twice", current_price: 1, market_cap: null, market_cap_rank: null, price_change_pct_24h: null },
    ]);
  });

  it("with explicit hours runs them outside the lookback, the current hour included", async () => {
    await ingestHours(0, 1);
    await ingestSlots(40 * 24, 0, 1);
    const engine = await openEngine();
    const now = clock(40 * 24, 15);

    const scheduled = await runTransform(transformDeps(engine, now));
    expect(scheduled.hours).toEqual([]);
    expect(scheduled.lagHours).toBe(DEFAULT_LOOKBACK_HOURS);

    const explicit = await runTransform(transformDeps(engine, now), { hours: [hourAt(40 * 24), hourAt(0), hourAt(0)] });
    expect(explicit.hours.map((h) => [h.partition, h.rowsWritten])).toEqual([
      [hourAt(0), 180],
      [hourAt(40 * 24), 2 * COINS],
    ]);
    expect(explicit.lagHours).toBe(0);
  });

  it("passes the engine a deterministic idempotency key per hour, snapshot set and run hour", async () => {
    await ingestHours(0, 1);
    const engine = await openEngine();
    const keys: (string | undefined)[] = [];
    const recording: QueryEngine = { execute: (sql, options) => (keys.push(options?.idempotencyKey), engine.execute(sql, options)) };

    await runTransform(transformDeps(recording, clock(1), recorder(), (p) => engine.renderInsert(p)));

    const expected = transformIdempotencyKey(hourAt(0), slotsOf(0), BASE + HOUR);
    expect(keys).toEqual([expected]);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
    expect(transformIdempotencyKey(hourAt(0), [...slotsOf(0)].reverse(), BASE + HOUR + 3599)).toBe(expected);
    expect(transformIdempotencyKey(hourAt(0), slotsOf(0, 5), BASE + HOUR)).not.toBe(expected);
    expect(transformIdempotencyKey(hourAt(0), slotsOf(0), BASE + 2 * HOUR)).not.toBe(expected);
  });

  it.each([0, -1, 1.5])("rejects lookbackHours %p", async (lookbackHours) => {
    const engine = await openEngine();
    await expect(runTransform({ ...transformDeps(engine, clock(1)), lookbackHours })).rejects.toThrow(
      /lookbackHours must be a positive integer/,
    );
  });

  it("the hourly SELECT returns the analytics schema: processed columns in order, partition columns last", async () => {
    const engine = await openEngine();
    const { rows } = await engine.execute(`DESCRIBE ${renderTemplate(readSqlFile(TRANSFORM_FILES.select), hourAt(0))}`);
    const duckTypes: Record<string, string> = { string: "VARCHAR", double: "DOUBLE", bigint: "BIGINT", int: "INTEGER" };
    expect(rows.map((r) => [r.column_name, r.column_type])).toEqual(
      [...PROCESSED_COLUMNS, ...PARTITION_COLUMNS].map((c) => [c.name, duckTypes[c.type]]),
    );
  });
});

describe("localTransform", () => {
  it("--all materialises every hour holding snapshots, the current one included", async () => {
    await ingestHours(0, 2);
    const summary = await localTransform({ lake, all: true, logger: recorder().logger, nowMs: () => clock(1, 30) });
    expect(summary.hours.map((h) => h.partition)).toEqual([hourAt(0), hourAt(1)]);
    expect(summary.rowsMaterialised).toBe(2 * PER_HOUR * COINS);
  });

  it("--hour materialises the hour holding that time", async () => {
    await ingestHours(0, 2);
    const summary = await localTransform({ lake, hour: "2024-09-03T01:59:59Z", logger: recorder().logger });
    expect(summary.hours.map((h) => h.partition)).toEqual([hourAt(1)]);
  });

  it("runs on an engine it is given and leaves it open; that engine reads snapshots and Parquet published after it opened", async () => {
    await ingestHours(0, 1);
    const engine = await openEngine();
    const first = await localTransform({ lake, hour: "2024-09-03T00:00Z", logger: recorder().logger, engine });
    // Both areas now hold files the engine's table views were not defined over (hour 1's snapshots, hour 1's Parquet).
    await ingestHours(1, 2);
    const second = await localTransform({ lake, hour: "2024-09-03T01:00Z", logger: recorder().logger, engine });
    const { rows } = await engine.execute(`SELECT hour, count(*) AS n FROM ${LAKE_TABLES.analytics} GROUP BY hour ORDER BY hour`);

    expect([first.rowsMaterialised, second.rowsMaterialised]).toEqual([PER_HOUR * COINS, PER_HOUR * COINS]);
    expect(rows).toEqual([
      { hour: hourAt(0).hour, n: PER_HOUR * COINS },
      { hour: hourAt(1).hour, n: PER_HOUR * COINS },
    ]);
  });

  it("refuses --hour together with --all", async () => {
    await expect(localTransform({ lake, hour: "2024-09-03T01:00Z", all: true })).rejects.toThrow(/--hour and --all exclude each other/);
  });

  // The parser itself (offsets, calendar checks) is covered in partitions.test.ts; this pins the CLI's wording.
  it.each(["yesterday", "2024-09-03", "2023-02-29T00:00Z", "2024-09-03T24:00Z", ""])(
    "rejects --hour %p with the CLI's wording",
    async (iso) => {
      await expect(localTransform({ lake, hour: iso })).rejects.toThrow(
        `--hour must be an ISO-8601 time such as 2024-09-03T07:00Z, got ${JSON.stringify(iso)}`,
      );
    },
  );
});

describe("SQL template rendering", () => {
  const template = athenaInsertTemplate();

  it("the Athena template keeps only the hour placeholders and fits a standard SSM parameter (4 KB)", () => {
    expect([...new Set(template.match(/\$\{[^}]*\}/g))].sort()).toEqual(["${day}", "${hour}", "${month}", "${year}"]);
    expect(template.startsWith("INSERT INTO analytics_prices\nSELECT")).toBe(true);
    expect(template.length).toBeLessThanOrEqual(4096);
  });

  it("renders an hour as plain integers", () => {
    const sql = renderTemplate(template, { year: 2024, month: 9, day: 3, hour: 0 });
    expect(sql).toContain("r.year = 2024\n    AND r.month = 9\n    AND r.day = 3\n    AND r.hour = 0");
    expect(sql).not.toContain("${");
  });

  it.each<[string, unknown, RegExp]>([
    ["a month past 12", { year: 2024, month: 13, day: 1, hour: 0 }, /month must be within 1\.\.12, got 13/],
    ["month 0", { year: 2024, month: 0, day: 1, hour: 0 }, /month must be within 1\.\.12/],
    ["September 31st", { year: 2024, month: 9, day: 31, hour: 0 }, /day must be within 1\.\.30, got 31/],
    ["29 February in a common year", { year: 2023, month: 2, day: 29, hour: 0 }, /day must be within 1\.\.28/],
    ["hour 24", { year: 2024, month: 9, day: 3, hour: 24 }, /hour must be within 0\.\.23/],
    ["a year before 2009", { year: 2008, month: 9, day: 3, hour: 0 }, /year must be within 2009\.\.2100/],
    ["a year after 2100", { year: 2101, month: 9, day: 3, hour: 0 }, /year must be within 2009\.\.2100/],
    ["a numeric string", { year: "2024", month: 9, day: 3, hour: 0 }, /year must be an integer, got "2024"/],
    ["an injected string", { year: 2024, month: 9, day: 3, hour: "0 OR 1=1; DROP TABLE analytics_prices" }, /hour must be an integer/],
    ["a fraction", { year: 2024, month: 9, day: 3.5, hour: 0 }, /day must be an integer, got 3\.5/],
    ["NaN", { year: 2024, month: NaN, day: 3, hour: 0 }, /month must be an integer, got NaN/],
    ["Infinity", { year: Infinity, month: 9, day: 3, hour: 0 }, /year must be an integer/],
    ["a bigint", { year: 2024n, month: 9, day: 3, hour: 0 }, /year must be an integer, got 2024n/],
    ["a missing field", { year: 2024, month: 9, day: 3 }, /hour must be an integer, got undefined/],
    ["null", null, /hour partition must be an object/],
  ])("rejects %s", (_what, partition, message) => {
    expect(() => renderTemplate(template, partition as HourPartition)).toThrow(message);
  });

  it("no parameter value can change the statement's structure (property)", () => {
    const anyValue = fc.oneof(fc.integer({ min: -5, max: 2200 }), fc.double(), fc.string(), fc.constant(null), fc.bigInt(), fc.anything());
    const candidate = fc.oneof(
      fc.record({ year: anyValue, month: anyValue, day: anyValue, hour: anyValue }),
      fc.record({
        year: fc.integer({ min: 2000, max: 2110 }),
        month: fc.integer({ min: -1, max: 14 }),
        day: fc.integer({ min: -1, max: 33 }),
        hour: fc.integer({ min: -1, max: 25 }),
      }),
    );
    fc.assert(
      fc.property(candidate, (partition) => {
        let sql: string;
        try {
          sql = renderTemplate(template, partition as HourPartition);
        } catch (err) {
          // Rejected values never render: the error names the bad field.
          expect((err as Error).message).toMatch(/^hour partition (must be an object|(year|month|day|hour) must be)/);
          return;
        }
        const p = checkHourPartition(partition);
        const digits = { year: String(p.year), month: String(p.month), day: String(p.day), hour: String(p.hour) };
        for (const value of Object.values(digits)) expect(value).toMatch(/^\d{1,4}$/);
        // Rendering is exactly "each placeholder replaced by the digits of its integer", nothing else.
        expect(sql).toBe(template.replace(/\$\{(year|month|day|hour)\}/g, (_m, name: keyof typeof digits) => digits[name]));
      }),
      { numRuns: 500 },
    );
  });

  it("leaves nothing unresolved: unknown, leftover or malformed placeholders are errors", () => {
    const hour = { year: 2024, month: 9, day: 3, hour: 7 };
    expect(() => renderTemplate(readSqlFile(TRANSFORM_FILES.athenaInsert), hour)).toThrow(/placeholders with no value: \$\{select\}/);
    expect(() => renderTemplate("SELECT ${year} AS y, ${Year} AS z", hour)).toThrow(/malformed placeholder/);
    expect(() => renderTemplate("SELECT ${year AS y", hour)).toThrow(/malformed placeholder/);
    expect(() => fillPlaceholders("SELECT ${a} AS x, ${b} AS y", { a: "1" })).toThrow(/no value: \$\{b\}/);
    expect(fillPlaceholders("SELECT ${a} AS x", { a: "${b}" })).toBe("SELECT ${b} AS x");
  });

  it("quotes the DuckDB staging path as one string literal, whatever it holds", () => {
    expect(sqlStringLiteral("/tmp/o'brien/lake")).toBe("'/tmp/o''brien/lake'");
    expect(() => sqlStringLiteral("a\0b")).toThrow(/NUL/);
    const sql = renderDuckDbInsert({ year: 2024, month: 9, day: 3, hour: 7 }, "/tmp/o'brien/.staging/x/analytics");
    expect(sql).toContain("TO '/tmp/o''brien/.staging/x/analytics' (");
    expect(sql.startsWith("COPY (\nSELECT")).toBe(true);
  });

  it("the local engine refuses a lake path DuckDB would read as a glob", async () => {
    await expect(DuckDbEngine.open(path.join(lake, "a[1]"))).rejects.toThrow(/must not contain any of \* \? \[ \] \{ \}/);
  });
});
