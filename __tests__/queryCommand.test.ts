/**
 * `crypto-analytics query`: whitelisted view names only, and the three output formats, on DuckDB over
 * real lakes (a simulated one, a hand-written one with awkward text, an empty one). Then every read
 * command (query, dashboard, transform) on folders that are not lakes: one line saying so, not an empty
 * market.
 */
import * as fs from "fs";
import * as path from "path";
import { gzipSync } from "zlib";
import { dashboardCommand } from "../cli/dashboardCommand";
import { main } from "../cli/main";
import { queryCommand } from "../cli/queryCommand";
import { localTransform } from "../local/localTransform";
import { LocalObjectStore } from "../functions/localObjectStore";
import { floorToSlot, processedKey } from "../functions/partitions";
import { PROCESSED_COLUMNS } from "../functions/schema";
import { viewNames } from "../functions/sqlFiles";
import { makeTempDir, recorder, removeTempDir } from "./helpers/factories";
import { processedRows, simulateInto } from "./helpers/simulatedLake";

const COINS = 12;

let lake: string;
let latest: number;

beforeAll(async () => {
  lake = makeTempDir("query-test");
  const now = Math.floor(Date.now() / 1000);
  latest = now - (now % 1800);
  await simulateInto(lake, { from: latest - 7200, to: latest, every: 1800, coins: COINS });
  await localTransform({ lake, all: true, logger: recorder().logger, nowMs: () => now * 1000 });
}, 60_000);

afterAll(() => removeTempDir(lake));

describe("queryCommand", () => {
  it("json: the view's rows as an array of objects, equal to a computation from the processed files", async () => {
    const expectedTotal = processedRows(lake)
      .filter((r) => r.timestamp === latest)
      .reduce((s, r) => s + (r.market_cap ?? 0), 0);

    const parsed = JSON.parse(await queryCommand({ lake, view: "v_total_market_cap", format: "json" })) as Record<string, unknown>[];

    expect(parsed).toEqual([
      expect.objectContaining({
        latest_timestamp: latest,
        total_market_cap: expectedTotal,
        coins: COINS,
        previous_timestamp: null,
        market_cap_change_pct: null,
      }),
    ]);
  });

  it("csv: a header, then one line per row sorted by the leading rank", async () => {
    const csv = await queryCommand({ lake, view: "v_top_100", format: "csv" });
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe(
      "market_cap_rank,id,symbol,name,current_price,price_change_pct_1h,price_change_pct_24h,price_change_pct_7d,volume_24h,market_cap,timestamp",
    );
    expect(lines.at(-1)).toBe("");
    // One simulated coin is unranked, so 11 rows.
    const data = lines.slice(1, -1);
    expect(data.map((l) => Number(l.split(",")[0]))).toEqual(Array.from({ length: COINS - 1 }, (_, i) => i + 1));
    expect(data[0]).toMatch(/^1,bitcoin,btc,Bitcoin,/);
  });

  it("table: aligned columns, numbers right-aligned, and a row count", async () => {
    const text = await queryCommand({ lake, view: "v_latest_partition" });
    const lines = text.trimEnd().split("\n");
    expect(lines[0].split(/\s+/)).toEqual(["latest_timestamp", "year", "month", "day", "hour"]);
    expect(lines[1]).toMatch(/^-{16} {2}-{4} {2}-{5} {2}-{3} {2}-{4}$/);
    expect(lines[2].trim().split(/\s+/)[0]).toBe(String(latest));
    expect(lines[2].length).toBe(lines[1].length);
    expect(lines[3]).toBe("(1 row)");
  });

  it("defaults to the table format", async () => {
    expect(await queryCommand({ lake, view: "v_latest_partition" })).toBe(
      await queryCommand({ lake, view: "v_latest_partition", format: "table" }),
    );
  });

  it.each(["v_nope", "analytics_prices", "v_top_100; DROP TABLE analytics_prices", "V_TOP_100", ""])(
    "refuses %p, listing the valid views",
    async (view) => {
      await expect(queryCommand({ lake, view })).rejects.toThrow(`valid views: ${viewNames().join(", ")}`);
    },
  );

  it("refuses an unknown format", async () => {
    await expect(queryCommand({ lake, view: "v_top_100", format: "xml" as "json" })).rejects.toThrow(
      /unknown format "xml"; use one of table, json, csv/,
    );
  });

  it("prints no rows, not an error, on an empty lake", async () => {
    const empty = makeTempDir("query-empty");
    // A lake nothing was written into yet: ingest has made its folders, the transform has not run.
    fs.mkdirSync(path.join(empty, "processed"));
    try {
      expect(await queryCommand({ lake: empty, view: "v_top_100", format: "json" })).toBe("[]\n");
      expect(await queryCommand({ lake: empty, view: "v_top_100", format: "csv" })).toMatch(/^market_cap_rank,id,[^\n]*\r\n$/);
      expect(await queryCommand({ lake: empty, view: "v_top_100" })).toMatch(/\(0 rows\)\n$/);
    } finally {
      removeTempDir(empty);
    }
  });

  it("quotes CSV fields holding commas, quotes or line breaks, and leaves nulls empty", async () => {
    const odd = makeTempDir("query-odd");
    try {
      const now = Math.floor(Date.now() / 1000);
      const t = floorToSlot(now);
      const blank = Object.fromEntries(PROCESSED_COLUMNS.map((c) => [c.name, null]));
      const line = (fields: Record<string, unknown>): string => JSON.stringify({ ...blank, vs_currency: "usd", timestamp: t, ...fields });
      const body = [
        line({ id: "a", symbol: "a", name: 'Comma, "Quoted" Coin', market_cap_rank: 1, current_price: 2.5 }),
        line({ id: "b", symbol: "b", name: "Two\nLines", market_cap_rank: 2 }),
      ].join("\n");
      await new LocalObjectStore(odd).put(processedKey(t), new Uint8Array(gzipSync(body + "\n")));
      await localTransform({ lake: odd, all: true, logger: recorder().logger, nowMs: () => now * 1000 });

      const csv = await queryCommand({ lake: odd, view: "v_top_100", format: "csv" });

      expect(csv.split("\r\n").slice(1, 3)).toEqual([`1,a,a,"Comma, ""Quoted"" Coin",2.5,,,,,,${t}`, `2,b,b,"Two\nLines",,,,,,,${t}`]);
    } finally {
      removeTempDir(odd);
    }
  });
});

describe("read commands on a folder that is not a lake", () => {
  const dirs = makeTempDir("not-a-lake");
  afterAll(() => removeTempDir(dirs));
  const missing = path.join(dirs, "no-such-folder");
  const empty = path.join(dirs, "empty");
  const foreign = path.join(dirs, "documents");
  const file = path.join(dirs, "lake.txt");
  fs.mkdirSync(empty);
  fs.mkdirSync(foreign);
  fs.writeFileSync(path.join(foreign, "notes.txt"), "mine\n");
  fs.writeFileSync(file, "not a folder\n");
  const how = "(create one with ingest, simulate or local)";

  const commands: [string, (lake: string) => Promise<unknown>][] = [
    ["query", (l) => queryCommand({ lake: l, view: "v_top_100" })],
    ["dashboard", (l) => dashboardCommand({ lake: l, out: path.join(dirs, "out", "dashboard.html") })],
    ["transform", (l) => localTransform({ lake: l, all: true, logger: recorder().logger })],
  ];
  const folders: [string, string, string][] = [
    ["a missing folder", missing, `${missing} is not a lake: no such folder ${how}`],
    ["an empty folder", empty, `${empty} is not a lake: a lake holds raw/, processed/, analytics/ and it holds nothing ${how}`],
    [
      "a folder of other files",
      foreign,
      `${foreign} is not a lake: a lake holds raw/, processed/, analytics/ and it holds none of them ${how}`,
    ],
    ["a file", file, `${file} is a file, not a lake folder`],
  ];

  describe.each(commands)("%s", (_command, read) => {
    it.each(folders)("fails on %s with one line saying so, and creates nothing", async (_case, folder, message) => {
      const before = fs.readdirSync(dirs).sort();

      await expect(read(folder)).rejects.toThrow(new Error(message));

      expect(fs.readdirSync(dirs).sort()).toEqual(before);
      expect(fs.readdirSync(empty)).toEqual([]);
    });
  });

  it('`crypto-analytics query v_top_100 --lake <missing>` prints that one line and exits 1, not "(0 rows)" and 0', async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const out = jest.spyOn(process.stdout, "write").mockImplementation((chunk) => stdout.push(String(chunk)) > 0);
    const err = jest.spyOn(process.stderr, "write").mockImplementation((chunk) => stderr.push(String(chunk)) > 0);
    try {
      await main(["node", "crypto-analytics", "query", "v_top_100", "--lake", missing]);
      expect(process.exitCode).toBe(1);
    } finally {
      out.mockRestore();
      err.mockRestore();
      process.exitCode = undefined;
    }
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([`crypto-analytics: ${missing} is not a lake: no such folder ${how}\n`]);
  });
});
