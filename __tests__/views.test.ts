/**
 * The `v_*` views on DuckDB over a simulated lake spanning three days (plus older history outside the
 * views' window), each checked against an independent computation from the processed rows themselves.
 * The lake is built through the real path: simulator → runIngest → processed NDJSON → transform → Parquet.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { localTransform } from "../local/localTransform";
import { HOUR_SECONDS, LAKE_PREFIXES, partitionOf, partitionPath } from "../functions/partitions";
import { PROCESSED_COLUMNS } from "../functions/schema";
import { viewNames, viewsInDependencyOrder, viewSql } from "../functions/sqlFiles";
import { sqlStringLiteral } from "../functions/sqlTemplate";
import { deriveViewSchemas, DUCKDB_TYPES, DuckDbEngine, VIEW_FOLDER_HOURS, ViewWindow } from "../local/duckdbEngine";
import { CORE_COINS } from "../local/simulator";
import { makeTempDir, recorder, removeTempDir } from "./helpers/factories";
import { analyticsFiles, ParsedRow, processedRows, simulateInto } from "./helpers/simulatedLake";
import { VirtualClock } from "./helpers/virtualClock";

const HOUR = 3600;
const DAY = 24 * HOUR;
/** One snapshot per 30 minutes keeps the lake small; the SQL does not depend on the cadence. */
const EVERY = 1800;
const COINS = 120;
/** How far back the out-of-window history lies. */
const OLD_HISTORY_DAYS = 20;

let lake: string;
let engine: DuckDbEngine;
let latest: number;
let rows: ParsedRow[];
let latestRows: ParsedRow[];

async function view(name: string): Promise<Record<string, unknown>[]> {
  return (await engine.execute(`SELECT * FROM ${name}`)).rows;
}

const byKeys =
  <T>(...keys: ((r: T) => number | string)[]) =>
  (a: T, b: T): number => {
    for (const key of keys) {
      const [x, y] = [key(a), key(b)];
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };

beforeAll(async () => {
  lake = makeTempDir("views-test");
  const now = Math.floor(Date.now() / 1000);
  // The views' window follows the real clock (current_date), so the lake ends now.
  const end = now - (now % EVERY);
  await simulateInto(lake, { from: end - 3 * DAY, to: end, every: EVERY, coins: COINS });
  await simulateInto(lake, { from: end - OLD_HISTORY_DAYS * DAY, to: end - OLD_HISTORY_DAYS * DAY + 2 * HOUR, every: EVERY, coins: COINS });
  await localTransform({ lake, all: true, logger: recorder().logger, nowMs: () => now * 1000 });
  engine = await DuckDbEngine.open(lake);
  rows = processedRows(lake);
  latest = Math.max(...rows.map((r) => r.timestamp));
  latestRows = rows.filter((r) => r.timestamp === latest);
}, 120_000);

afterAll(() => {
  engine?.close();
  removeTempDir(lake);
});

describe("views over a three-day lake", () => {
  it("v_latest_partition names the newest snapshot and its hour", async () => {
    expect(latest).toBe(Math.max(...rows.map((r) => r.timestamp)));
    expect(await view("v_latest_partition")).toEqual([{ latest_timestamp: latest, ...partitionOf(latest) }]);
  });

  it("v_latest_snapshot holds exactly the newest snapshot's coins", async () => {
    const got = await view("v_latest_snapshot");
    expect(got).toHaveLength(COINS);
    expect(got.map((r) => [r.id, r.market_cap, r.current_price, r.timestamp]).sort()).toEqual(
      latestRows.map((r) => [r.id, r.market_cap, r.current_price, latest]).sort(),
    );
  });

  it("v_total_market_cap sums the newest snapshot and compares it with the one 24 h earlier", async () => {
    const total = (t: number, column: "market_cap" | "volume_24h"): number =>
      rows.filter((r) => r.timestamp === t).reduce((sum, r) => sum + ((r[column] as number | null) ?? 0), 0);
    const previous = Math.max(...rows.map((r) => r.timestamp).filter((t) => t <= latest - DAY && t >= latest - DAY - HOUR));
    expect(previous).toBe(latest - DAY);

    const [got] = await view("v_total_market_cap");

    expect(got).toMatchObject({
      latest_timestamp: latest,
      total_market_cap: total(latest, "market_cap"),
      total_volume_24h: total(latest, "volume_24h"),
      coins: COINS,
      previous_timestamp: previous,
      previous_total_market_cap: total(previous, "market_cap"),
      previous_total_volume_24h: total(previous, "volume_24h"),
    });
    expect(got.market_cap_change_pct).toBeCloseTo((total(latest, "market_cap") / total(previous, "market_cap") - 1) * 100, 9);
    expect(got.volume_change_pct).toBeCloseTo((total(latest, "volume_24h") / total(previous, "volume_24h") - 1) * 100, 9);
  });

  it("v_top_gainers lists the 10 largest 24 h changes of the newest snapshot, in order", async () => {
    const expected = latestRows
      .filter((r) => r.price_change_pct_24h !== null && r.market_cap_rank !== null)
      .sort(
        byKeys(
          (r) => -(r.price_change_pct_24h as number),
          (r) => r.id,
        ),
      )
      .slice(0, 10);

    const got = (await view("v_top_gainers")).sort(byKeys((r) => r.gainer_rank as number));

    expect(got.map((r) => [r.gainer_rank, r.id, r.price_change_pct_24h])).toEqual(
      expected.map((r, i) => [i + 1, r.id, r.price_change_pct_24h]),
    );
    const changes = got.map((r) => r.price_change_pct_24h as number);
    expect(changes).toEqual([...changes].sort((a, b) => b - a));
  });

  it("v_top_100 holds ranks 1..100 of the newest snapshot", async () => {
    const got = await view("v_top_100");
    expect(got.map((r) => r.market_cap_rank)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const expected = latestRows
      .filter((r) => r.market_cap_rank !== null && r.market_cap_rank <= 100)
      .sort(byKeys((r) => r.market_cap_rank as number));
    expect(got.map((r) => [r.id, r.current_price, r.volume_24h, r.market_cap, r.timestamp])).toEqual(
      expected.map((r) => [r.id, r.current_price, r.volume_24h, r.market_cap, latest]),
    );
  });

  it("v_trendline_core has one row per core coin per hour over the last 7 days, with the hour's last and mean price", async () => {
    const firstHour = latest - (latest % HOUR) - 167 * HOUR;
    const groups = new Map<string, ParsedRow[]>();
    for (const r of rows.filter((x) => CORE_COINS.some((c) => c.id === x.id) && x.timestamp >= firstHour && x.timestamp <= latest)) {
      const key = `${r.timestamp - (r.timestamp % HOUR)}|${r.id}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    const expected = [...groups.entries()].map(([key, members]) => {
      const [hourStart, id] = key.split("|");
      const last = members.reduce((a, b) => (b.timestamp > a.timestamp ? b : a));
      return {
        hour_start: Number(hourStart),
        id,
        close_price: last.current_price,
        avg_price: members.reduce((s, m) => s + (m.current_price as number), 0) / members.length,
        snapshots: members.length,
      };
    });

    const got = await view("v_trendline_core");

    const key = (r: Record<string, unknown>): string => `${r.hour_start}|${r.id}`;
    expect(new Set(got.map(key)).size).toBe(got.length);
    expect(got).toHaveLength(4 * 73);
    const sorted = (list: Record<string, unknown>[]): Record<string, unknown>[] => [...list].sort(byKeys(key));
    expect(sorted(got).map((r) => [r.hour_start, r.id, r.close_price, r.snapshots])).toEqual(
      sorted(expected).map((r) => [r.hour_start, r.id, r.close_price, r.snapshots]),
    );
    sorted(got).forEach((r, i) => expect(r.avg_price).toBeCloseTo(sorted(expected)[i].avg_price as number, 6));
  });

  it("v_btc_24h covers the 24 h ending with the newest snapshot, with the change since its start", async () => {
    const expected = rows
      .filter((r) => r.id === "bitcoin" && r.timestamp >= latest - DAY && r.timestamp <= latest)
      .sort(byKeys((r) => r.timestamp));

    const got = (await view("v_btc_24h")).sort(byKeys((r) => r.timestamp as number));

    expect(got.map((r) => [r.timestamp, r.price, r.volume_24h, r.market_cap])).toEqual(
      expected.map((r) => [r.timestamp, r.current_price, r.volume_24h, r.market_cap]),
    );
    expect(got[0].timestamp).toBe(latest - DAY);
    expect(got[got.length - 1].timestamp).toBe(latest);
    expect(got).toHaveLength(DAY / EVERY + 1);
    const first = expected[0].current_price as number;
    got.forEach((r, i) => expect(r.change_pct).toBeCloseTo(((expected[i].current_price as number) / first - 1) * 100, 9));
  });

  it("v_market_cap gives each coin's share of the newest snapshot's total", async () => {
    const total = latestRows.reduce((s, r) => s + (r.market_cap ?? 0), 0);
    const got = await view("v_market_cap");
    expect(got).toHaveLength(latestRows.filter((r) => r.market_cap !== null).length);
    for (const r of got) {
      const source = latestRows.find((x) => x.id === r.id) as ParsedRow;
      expect(r.market_cap_share_pct).toBeCloseTo(((source.market_cap as number) / total) * 100, 9);
    }
    expect(got.reduce((s, r) => s + (r.market_cap_share_pct as number), 0)).toBeCloseTo(100, 6);
  });

  it("v_volume_24h lists the 20 largest 24 h volumes with their share of the total", async () => {
    const total = latestRows.reduce((s, r) => s + (r.volume_24h ?? 0), 0);
    const expected = latestRows
      .filter((r) => r.volume_24h !== null)
      .sort(
        byKeys(
          (r) => -(r.volume_24h as number),
          (r) => r.id,
        ),
      )
      .slice(0, 20);
    const got = (await view("v_volume_24h")).sort(byKeys((r) => r.volume_rank as number));
    expect(got.map((r) => [r.volume_rank, r.id, r.volume_24h])).toEqual(expected.map((r, i) => [i + 1, r.id, r.volume_24h]));
    got.forEach((r, i) => expect(r.volume_share_pct).toBeCloseTo(((expected[i].volume_24h as number) / total) * 100, 9));
  });

  it("v_trending lists the 10 largest absolute 7-day moves of the newest snapshot", async () => {
    const expected = latestRows
      .filter((r) => r.price_change_pct_7d !== null && r.market_cap_rank !== null)
      .sort(
        byKeys(
          (r) => -Math.abs(r.price_change_pct_7d as number),
          (r) => r.id,
        ),
      )
      .slice(0, 10);
    const got = (await view("v_trending")).sort(byKeys((r) => r.mover_rank as number));
    expect(got.map((r) => [r.mover_rank, r.id, r.price_change_pct_7d])).toEqual(
      expected.map((r, i) => [i + 1, r.id, r.price_change_pct_7d]),
    );
  });
});

describe("partition bounds", () => {
  it("v_recent_prices holds the recent days and none of the older history", async () => {
    const { rows: got } = await engine.execute(`SELECT count(*) AS n, min("timestamp") AS first FROM v_recent_prices`);
    const recent = rows.filter((r) => r.timestamp >= latest - 3 * DAY);
    expect(rows.length).toBeGreaterThan(recent.length);
    expect(got).toEqual([{ n: recent.length, first: latest - 3 * DAY }]);
  });

  it("the views' window folders lose nothing: v_recent_prices equals its SQL run over the whole lake's analytics_prices", async () => {
    // Only v_recent_prices reads analytics_prices (sqlParse.test.ts), so every other view follows.
    const key = (r: Record<string, unknown>): string =>
      JSON.stringify([r.id, r.timestamp, r.year, r.month, r.day, r.hour, r.current_price]);
    const windowed = (await view("v_recent_prices")).map(key).sort();
    const whole = (await engine.execute(viewSql("v_recent_prices"))).rows.map(key).sort();
    expect(windowed.length).toBeGreaterThan(0);
    expect(windowed).toEqual(whole);
  });

  it.each(viewNames())("%s reads only the window's Parquet files, however much older history the lake holds", async (name) => {
    const all = analyticsFiles(lake);
    const old = all.filter((f) => {
      const [, y, m, d] = /year=(\d+)\/month=(\d+)\/day=(\d+)/.exec(f) as RegExpExecArray;
      return Date.UTC(Number(y), Number(m) - 1, Number(d)) / 1000 < latest - 10 * DAY;
    });
    expect(old.length).toBeGreaterThan(0);

    const { rows: plan } = await engine.execute(`EXPLAIN ANALYZE SELECT * FROM ${name}`);
    const text = plan.map((r) => String(r.explain_value)).join("\n");
    const scans = [...text.matchAll(/Total Files Read:[\s│]*(\d+)/g)].map((m) => Number(m[1]));

    expect(scans.length).toBeGreaterThan(0);
    for (const read of scans) expect(read).toBeLessThanOrEqual(all.length - old.length);
  });
});

describe("the window over histories of different lengths", () => {
  /**
   * A lake whose analytics/ holds one Parquet file per hour for `hours` hours up to the current one (one
   * bitcoin row each, written by DuckDB straight into the Hive layout), and an engine opened on it.
   */
  async function hourlyLake(hours: number): Promise<{ lake: string; engine: DuckDbEngine }> {
    const dir = makeTempDir("views-window");
    const writer = await DuckDbEngine.open(dir);
    const nowHour = Math.floor(Date.now() / 1000 / HOUR_SECONDS);
    const columns = PROCESSED_COLUMNS.map((c) =>
      c.name === "id"
        ? "'bitcoin' AS id"
        : c.name === "timestamp"
          ? `h * ${HOUR_SECONDS} + 300 AS "timestamp"`
          : `CAST(NULL AS ${DUCKDB_TYPES[c.type]}) AS ${c.name}`,
    );
    const at = `to_timestamp(h * ${HOUR_SECONDS})`;
    try {
      await writer.execute(
        `COPY (SELECT ${columns.join(", ")}, year(${at}) AS year, month(${at}) AS month, day(${at}) AS day, hour(${at}) AS hour FROM range(${nowHour - hours + 1}, ${nowHour + 1}) AS r(h)) TO '${dir}/analytics' (FORMAT parquet, PARTITION_BY (year, month, day, hour))`,
      );
    } finally {
      writer.close();
    }
    return { lake: dir, engine: await DuckDbEngine.open(dir) };
  }

  /** Hours v_recent_prices returns (as hour numbers since 1970) and files its scan read, within one clock hour. */
  async function window(on: DuckDbEngine): Promise<{ hours: number[]; filesRead: number; nowHour: number }> {
    for (;;) {
      const nowHour = Math.floor(Date.now() / 1000 / HOUR_SECONDS);
      const { rows: got } = await on.execute(`SELECT DISTINCT "timestamp" AS t FROM v_recent_prices`);
      const { rows: plan } = await on.execute("EXPLAIN ANALYZE SELECT * FROM v_recent_prices");
      // A run across an hour boundary would compare two windows: measure again.
      if (Math.floor(Date.now() / 1000 / HOUR_SECONDS) !== nowHour) continue;
      const text = plan.map((r) => String(r.explain_value)).join("\n");
      const filesRead = Number(/Total Files Read:[\s│]*(\d+)/.exec(text)?.[1]);
      return { hours: got.map((r) => Math.floor(Number(r.t) / HOUR_SECONDS)).sort((a, b) => a - b), filesRead, nowHour };
    }
  }

  it("reads exactly the current hour and the 168 before it, the same files with 8 days of history as with 40", async () => {
    const results = [];
    for (const days of [8, 40]) {
      const { lake: dir, engine: on } = await hourlyLake(days * 24);
      try {
        results.push(await window(on));
      } finally {
        on.close();
        removeTempDir(dir);
      }
    }
    for (const r of results) {
      expect(r.hours).toEqual(Array.from({ length: 169 }, (_, i) => r.nowHour - 168 + i));
      expect(r.filesRead).toBe(169);
    }
  });
});

/**
 * Every view's SQL evaluated over the whole lake's analytics_prices, independently of the engine's window:
 * the views it reads are the same files' SQL as CTEs, in dependency order, so nothing goes through the window.
 */
function wholeLakeSql(name: string): string {
  const order = viewsInDependencyOrder();
  const upTo = order.slice(
    0,
    order.findIndex((v) => v.name === name),
  );
  const ctes = upTo.map((v) => `${v.name} AS (\n${v.sql}\n)`);
  return `${ctes.length > 0 ? `WITH ${ctes.join(",\n")}\n` : ""}SELECT * FROM (\n${viewSql(name)}\n) AS whole_lake`;
}

/** Rows as sorted JSON lines, doubles to 12 significant digits (a sum's order of addition may differ). */
function canonical(rows: Record<string, unknown>[]): string[] {
  return rows
    .map((r) =>
      JSON.stringify(Object.entries(r).map(([k, v]) => [k, typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v])),
    )
    .sort();
}

describe.each<[ViewWindow]>([["memory"], ["files"]])(
  "the %s window through hour boundaries, appends and trims (a virtual clock)",
  (window) => {
    /** Just before midnight at a month's end (February has 28 days), so the window spans two months and moves into a new day. */
    const START_MS = Date.UTC(2026, 2, 2, 23, 30);
    const COIN_IDS = ["bitcoin", "ethereum", "tether", "solana", "coin-e", "coin-f"];
    let dir: string;
    let writer: DuckDbEngine;
    let engine: DuckDbEngine;
    let clock: VirtualClock;

    /** One Parquet file in `hour`'s folder (epoch hours) holding every coin at `minutes`, prices moved by `salt`, as the transform writes it. */
    async function writeHourFile(hour: number, name: string, minutes: number[], salt = 0): Promise<void> {
      const folder = path.join(dir, LAKE_PREFIXES.analytics, partitionPath(partitionOf(hour * HOUR_SECONDS)));
      fs.mkdirSync(folder, { recursive: true });
      const values: Record<string, string> = {
        id: "c.id",
        symbol: "c.id",
        name: "upper(c.id)",
        current_price: `CAST(1000.0 / (c.k + 1) + ${hour % 97} + m.m / 7.0 + ${salt} AS DOUBLE)`,
        market_cap: `CAST((6 - c.k) * 1000000 + ${hour % 1000} * 10 + m.m + ${salt} AS BIGINT)`,
        market_cap_rank: "CAST(c.k + 1 AS INTEGER)",
        volume_24h: `CAST((c.k * 37 + ${hour}) % 11 * 1000 + m.m AS BIGINT)`,
        price_change_pct_1h: `CAST(((c.k * 13 + ${hour}) % 17) - 8.5 AS DOUBLE)`,
        price_change_pct_24h: `CAST(((c.k * 7 + ${hour} + ${salt}) % 23) - 11.25 AS DOUBLE)`,
        price_change_pct_7d: `CAST(((c.k * 5 + ${hour}) % 29) - 14.5 AS DOUBLE)`,
        vs_currency: "'usd'",
        timestamp: `CAST(${hour * HOUR_SECONDS} + m.m * 60 AS BIGINT)`,
      };
      const columns = PROCESSED_COLUMNS.map((c) => `${values[c.name] ?? `CAST(NULL AS ${DUCKDB_TYPES[c.type]})`} AS "${c.name}"`);
      const coins = COIN_IDS.map((id, k) => `(${k}, '${id}')`).join(", ");
      await writer.execute(
        `COPY (SELECT ${columns.join(", ")} FROM (VALUES ${coins}) AS c(k, id), (VALUES ${minutes.map((m) => `(${m})`).join(", ")}) AS m(m)) TO ${sqlStringLiteral(path.join(folder, `${name}.parquet`))} (FORMAT parquet)`,
      );
    }

    /**
     * `views` on the engine equal their SQL over the whole lake at the clock's time; resolves the rows the views
     * read. Every other view reads the lake only through v_recent_prices (sqlParse.test.ts), so each step
     * checks that one, and a few check them all.
     */
    async function expectViewsEqualWholeLake(views: readonly string[] = ["v_recent_prices"]): Promise<number> {
      for (const name of views) {
        const windowed = canonical((await engine.execute(`SELECT * FROM ${name}`)).rows);
        const whole = canonical((await engine.execute(wholeLakeSql(name))).rows);
        expect([name, new Date(clock.now()).toISOString(), windowed]).toEqual([name, new Date(clock.now()).toISOString(), whole]);
      }
      return Number((await engine.execute("SELECT count(*) AS n FROM v_recent_prices")).rows[0].n);
    }

    /** Rows the engine's window relation holds. */
    async function windowRows(): Promise<number> {
      return Number((await engine.execute("SELECT count(*) AS n FROM analytics_window")).rows[0].n);
    }

    /** Rows of the lake's files in the hour folders of the clock's hour and the VIEW_FOLDER_HOURS before it. */
    function lakeRowsInWindowFolders(rowsPerFile: (file: string) => number): number {
      const nowHour = Math.floor(clock.now() / 1000 / HOUR_SECONDS);
      let rows = 0;
      for (let hour = nowHour - VIEW_FOLDER_HOURS; hour <= nowHour; hour++) {
        const folder = path.join(dir, LAKE_PREFIXES.analytics, partitionPath(partitionOf(hour * HOUR_SECONDS)));
        if (fs.existsSync(folder)) for (const f of fs.readdirSync(folder)) rows += rowsPerFile(f);
      }
      return rows;
    }

    beforeAll(async () => {
      dir = makeTempDir(`views-${window}-window`);
      writer = await DuckDbEngine.open(dir);
      const startHour = Math.floor(START_MS / 1000 / HOUR_SECONDS);
      // Ten days of history up to the current hour, two snapshots an hour, so the window starts mid-history.
      for (let hour = startHour - 10 * 24; hour <= startHour; hour++) await writeHourFile(hour, "part_a", [5]);
      clock = new VirtualClock(START_MS);
      engine = await DuckDbEngine.open(dir, { window, now: () => clock.now() });
    }, 120_000);

    afterAll(() => {
      engine?.close();
      writer?.close();
      removeTempDir(dir);
    });

    it("answers what the views' SQL answers over the whole lake, as files land, hours are rewritten and the clock moves", async () => {
      const startHour = Math.floor(START_MS / 1000 / HOUR_SECONDS);
      const coins = COIN_IDS.length;
      // part_a files hold one snapshot, the others two.
      const rowsOf = (file: string): number => (file.startsWith("part_a") ? coins : 2 * coins);

      // Loaded at the first view statement: the current hour and the 168 before it reach the views.
      expect(await expectViewsEqualWholeLake(viewNames())).toBe(169 * coins);
      expect(await windowRows()).toBe(lakeRowsInWindowFolders(rowsOf));

      // A file lands in the current hour (the transform's next run): appended.
      await writeHourFile(startHour, "part_b", [20, 35]);
      expect(await expectViewsEqualWholeLake()).toBe(169 * coins + 2 * coins);

      // Midnight, to the millisecond: a new day, the oldest hour leaves, the new hour has no file yet.
      clock.advance(30 * 60 * 1000 - 1);
      expect(await expectViewsEqualWholeLake()).toBe(169 * coins + 2 * coins);
      clock.advance(1);
      expect(await expectViewsEqualWholeLake()).toBe(168 * coins + 2 * coins);

      // The new hour is materialised, then an older hour of the window is rewritten (its file replaced).
      await writeHourFile(startHour + 1, "part_c", [5, 10]);
      const rewritten = startHour - 100;
      fs.rmSync(path.join(dir, LAKE_PREFIXES.analytics, partitionPath(partitionOf(rewritten * HOUR_SECONDS))), { recursive: true });
      await writeHourFile(rewritten, "part_d", [0, 55], 3);
      expect(await expectViewsEqualWholeLake(viewNames())).toBe(167 * coins + 2 * coins + 2 * coins + 2 * coins);
      expect(await windowRows()).toBe(lakeRowsInWindowFolders(rowsOf));

      // Three days on: the hours before startHour - 95 leave (the rewritten one with them), then a file lands.
      clock.advance(3 * 24 * HOUR_SECONDS * 1000);
      expect(await expectViewsEqualWholeLake()).toBe(96 * coins + 2 * coins + 2 * coins);
      await writeHourFile(startHour + 3 * 24 + 1, "part_e", [5, 10]);
      expect(await expectViewsEqualWholeLake()).toBe(96 * coins + 2 * coins + 2 * coins + 2 * coins);
      expect(await windowRows()).toBe(lakeRowsInWindowFolders(rowsOf));
      clock.advance(30 * 24 * HOUR_SECONDS * 1000);
      expect(await expectViewsEqualWholeLake()).toBe(0);
      expect(await windowRows()).toBe(0);
    }, 300_000);

    it("pins current_timestamp, now() and current_date to the engine's clock", async () => {
      const { rows } = await engine.execute(
        "SELECT epoch_ms(current_timestamp) AS t, epoch_ms(now()) AS n, CAST(current_date AS VARCHAR) AS d",
      );
      expect(rows).toEqual([{ t: clock.now(), n: clock.now(), d: new Date(clock.now()).toISOString().slice(0, 10) }]);
    });

    if (window === "memory") {
      it("reads no Parquet file in a view statement once the window is loaded", async () => {
        clock.advance(-30 * 24 * HOUR_SECONDS * 1000);
        await engine.execute("SELECT count(*) AS n FROM v_recent_prices");
        const { rows: plan } = await engine.execute("EXPLAIN ANALYZE SELECT * FROM v_top_100");
        const text = plan.map((r) => String(r.explain_value)).join("\n");
        expect(text).toMatch(/analytics_window/);
        expect(text).not.toMatch(/READ_PARQUET|Total Files Read/i);
      });
    }
  },
);

describe("view schemas", () => {
  it("every view runs on an empty lake and returns no rows", async () => {
    const empty = makeTempDir("views-empty");
    const onEmpty = await DuckDbEngine.open(empty);
    try {
      for (const name of viewNames()) expect((await onEmpty.execute(`SELECT * FROM ${name}`)).rows).toEqual([]);
    } finally {
      onEmpty.close();
      removeTempDir(empty);
    }
  });

  it("derives each view's columns with Glue types from the SQL, matching what the view returns", async () => {
    const schemas = await deriveViewSchemas();
    expect(schemas.map((s) => s.name)).toEqual(viewNames());
    for (const schema of schemas) {
      const names = schema.columns.map((c) => c.name);
      expect(new Set(names).size).toBe(names.length);
      for (const c of schema.columns) expect(["string", "double", "bigint", "int"]).toContain(c.type);
      const [first] = await view(schema.name);
      expect(Object.keys(first)).toEqual(names);
    }
    expect(schemas.find((s) => s.name === "v_top_100")?.columns.slice(0, 3)).toEqual([
      { name: "market_cap_rank", type: "int" },
      { name: "id", type: "string" },
      { name: "symbol", type: "string" },
    ]);
  });
});
