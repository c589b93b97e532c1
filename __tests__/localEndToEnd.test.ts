/**
 * Local mode end to end, through the real commands on real lakes in temp folders:
 * - `simulate --days 2`, `transform --all`, then `query` equals a computation made here, independently of
 *   the project's code, from the processed NDJSON.gz files;
 * - `local --once --source live` against the loopback CoinGecko stand-in replaying the real recording;
 * - resilience on a virtual clock (hours of schedule in seconds): a CoinGecko outage of several hours,
 *   stopping between jobs and mid-job, a process killed between its writes, each followed by a restart;
 *   the invariant each time: every snapshot served is in the lake exactly once, no analytics row twice,
 *   every completed hour with data materialised;
 * - a real `crypto-analytics local` process stopped by SIGINT and SIGTERM.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { gunzipSync } from "zlib";
import { localCommand, LocalCommandOptions, LocalRunResult } from "../cli/localCommand";
import { buildProgram } from "../cli/main";
import { createCoinGeckoSource } from "../functions/coingeckoClient";
import { LocalObjectStore } from "../functions/localObjectStore";
import { ObjectStore } from "../functions/objectStore";
import { HOUR_SECONDS, processedKey, rawKey, rawRequestKey } from "../functions/partitions";
import { LAKE_LOCK_FILE } from "../local/localPipeline";
import { MarketSimulator } from "../local/simulator";
import { cliMain, removeCliBuild } from "./helpers/cliProcess";
import { CoinGeckoStandIn, ScriptedResponse, startCoinGeckoStandIn } from "./helpers/coingeckoStandIn";
import { FAST_RETRY_OPTIONS, fixtureBytes, fixturePage, serverError, tempDirsRemovedAfterAll } from "./helpers/factories";
import { VirtualClock } from "./helpers/virtualClock";

const HOUR = HOUR_SECONDS;
const DAY = 24 * HOUR;
const MINUTE = 60;
/** The recorded page the stand-in replays. */
const FIXTURE = "cgdata-page1-250.json";
/** Snapshots every 30 minutes keep the virtual-clock runs short; the code does not depend on the cadence. */
const EVERY = 1800;
/** A small simulated market for the resilience runs. */
const SIM_COINS = 60;

/** A processed row as this test reads it: plain JSON from the gunzipped lines. */
type Row = Record<string, unknown> & { id: string; timestamp: number };

/** A fresh lake folder, removed after the file's tests. */
const tempLake = tempDirsRemovedAfterAll();

/** Every file under a folder, as paths relative to it. */
function filesUnder(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

/** Snapshot timestamps that have a processed file, ascending, with how many files each has. */
function processedSlots(lake: string): number[] {
  return filesUnder(path.join(lake, "processed"))
    .filter((f) => f.endsWith(".ndjson.gz"))
    .map((f) => Number(path.basename(f, ".ndjson.gz")))
    .sort((a, b) => a - b);
}

/** Every processed row, read straight from the gzipped NDJSON (no project code involved). */
function processedRowsOf(lake: string): Row[] {
  return filesUnder(path.join(lake, "processed"))
    .filter((f) => f.endsWith(".ndjson.gz"))
    .flatMap((f) =>
      gunzipSync(fs.readFileSync(path.join(lake, "processed", f)))
        .toString("utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Row),
    );
}

/** Manifest snapshot lists by hour start (epoch seconds). */
function manifests(lake: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const f of filesUnder(path.join(lake, "manifests"))) {
    const m = /year=(\d+)\/month=(\d+)\/day=(\d+)\/hour=(\d+)\/manifest\.json$/.exec(f);
    if (m === null) continue;
    const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])) / 1000;
    out.set(start, (JSON.parse(fs.readFileSync(path.join(lake, "manifests", f), "utf8")) as { snapshots: number[] }).snapshots);
  }
  return out;
}

/**
 * Rows and distinct (id, timestamp) pairs in the analytics Parquet files of the lake's hour partitions, and
 * rows per snapshot, read by a bare DuckDB (not the project's engine, whose views cost a quarter second to
 * open).
 */
async function analytics(lake: string): Promise<{ rows: number; distinct: number; perSnapshot: Map<number, number> }> {
  const files = filesUnder(path.join(lake, "analytics"))
    .filter((f) => /^year=\d+\/month=\d+\/day=\d+\/hour=\d+\/[^/]+\.parquet$/.test(f))
    .map((f) => `'${path.join(lake, "analytics", f).split("'").join("''")}'`);
  if (files.length === 0) return { rows: 0, distinct: 0, perSnapshot: new Map() };
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const rowsOf = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();
    const table = `read_parquet([${files.join(", ")}])`;
    const [totals] = await rowsOf(`SELECT count(*) AS n, count(DISTINCT id || '@' || CAST("timestamp" AS VARCHAR)) AS d FROM ${table}`);
    const per = await rowsOf(`SELECT "timestamp" AS t, count(*) AS n FROM ${table} GROUP BY "timestamp"`);
    return { rows: Number(totals.n), distinct: Number(totals.d), perSnapshot: new Map(per.map((r) => [Number(r.t), Number(r.n)])) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * The invariant after any run: each served slot has exactly one processed file (and none other exists),
 * no analytics row is duplicated, every completed hour with data has a manifest listing all its
 * snapshots, and analytics holds exactly those snapshots' rows.
 */
async function expectLakeConsistent(lake: string, servedSlots: number[], lastHourStart: number): Promise<void> {
  expect(processedSlots(lake)).toEqual([...servedSlots].sort((a, b) => a - b));
  const rowsPerSlot = new Map<number, number>();
  for (const row of processedRowsOf(lake)) rowsPerSlot.set(row.timestamp, (rowsPerSlot.get(row.timestamp) ?? 0) + 1);
  const completedHours = [...new Set(servedSlots.map((t) => t - (t % HOUR)))].filter((h) => h < lastHourStart).sort((a, b) => a - b);
  const recorded = manifests(lake);
  for (const hour of completedHours) {
    expect({ hour: new Date(hour * 1000).toISOString(), snapshots: recorded.get(hour) }).toEqual({
      hour: new Date(hour * 1000).toISOString(),
      snapshots: servedSlots.filter((t) => t - (t % HOUR) === hour).sort((a, b) => a - b),
    });
  }
  const materialised = servedSlots.filter((t) => completedHours.includes(t - (t % HOUR)));
  const a = await analytics(lake);
  expect(a.distinct).toBe(a.rows);
  for (const slot of materialised) expect({ slot, rows: a.perSnapshot.get(slot) }).toEqual({ slot, rows: rowsPerSlot.get(slot) });
}

/** Slots from `from` to `to` (both included) on the test cadence. */
function slots(from: number, to: number): number[] {
  return Array.from({ length: Math.floor((to - from) / EVERY) + 1 }, (_, i) => from + i * EVERY);
}

/** Runs the CLI in process; resolves what it printed. Progress and JSON logs on stderr are captured too. */
async function runCli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => out.push(String(chunk)) > 0);
  const stderr = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => err.push(String(chunk)) > 0);
  try {
    await buildProgram().parseAsync(["node", "crypto-analytics", ...args]);
    return { stdout: out.join(""), stderr: err.join("") };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

/** The start of a virtual run: whole hours back from now, so the views' real-clock window still holds the data. */
function virtualStart(hoursBack: number): number {
  const now = Math.floor(Date.now() / 1000);
  return now - (now % HOUR) - hoursBack * HOUR;
}

/** A virtual clock from `startSeconds` that aborts its controller (as Ctrl+C while waiting would) at `stopSeconds`. */
function virtualClock(startSeconds: number, stopSeconds?: number): { clock: VirtualClock; controller: AbortController } {
  const controller = new AbortController();
  return {
    clock: new VirtualClock(startSeconds * 1000, stopSeconds === undefined ? {} : { stopAt: stopSeconds * 1000, controller }),
    controller,
  };
}

/** A localCommand run on a virtual clock, with its status and log lines. */
interface VirtualRun {
  result: Promise<LocalRunResult>;
  status: string[];
  logs: string[];
}

/** localCommand on the given virtual clock: dashboard on a free port, 30-minute cadence, no backfill unless asked. */
function virtualRun(
  options: Omit<LocalCommandOptions, "clock" | "signal"> & { clock: VirtualClock; controller: AbortController },
): VirtualRun {
  const status: string[] = [];
  const logs: string[] = [];
  const { controller, ...rest } = options;
  const result = localCommand({
    port: 0,
    ingestEverySeconds: EVERY,
    backfillDays: 0,
    ...rest,
    signal: controller.signal,
    status: (line) => status.push(line),
    logSink: (line) => logs.push(line),
    progressStream: { write: () => true },
  });
  return { result, status, logs };
}

describe("simulate --days 2, transform --all, query", () => {
  let lake: string;
  let rows: Row[];
  let latest: number;
  let snapshots: number;
  let hours: number;

  beforeAll(async () => {
    lake = tempLake("e2e-cli");
    const simulated = await runCli([
      "simulate",
      "--lake",
      lake,
      "--days",
      "2",
      "--coins",
      String(SIM_COINS),
      "--every",
      "30",
      "--seed",
      "7",
    ]);
    const transformed = await runCli(["transform", "--lake", lake, "--all"]);
    rows = processedRowsOf(lake);
    latest = Math.max(...rows.map((r) => r.timestamp));
    snapshots = processedSlots(lake).length;
    hours = new Set(rows.map((r) => r.timestamp - (r.timestamp % HOUR))).size;
    const [from, to] = [Math.min(...rows.map((r) => r.timestamp)), latest].map((t) => new Date(t * 1000).toISOString());
    expect(simulated.stdout).toBe(`simulated ${snapshots} snapshot(s) from ${from} to ${to}\n`);
    expect(transformed.stdout).toBe(`materialised ${snapshots * SIM_COINS} rows in ${hours} hour(s)\n`);
  }, 60_000);

  const query = async (view: string): Promise<Record<string, unknown>[]> =>
    JSON.parse((await runCli(["query", view, "--lake", lake, "--format", "json"])).stdout) as Record<string, unknown>[];
  const num = (v: unknown): number => v as number;

  it("wrote two days of half-hourly snapshots of 60 coins, raw and processed, through the ingest path", () => {
    // 96 or 97 slots, depending on where now falls in its half hour.
    expect([96, 97]).toContain(snapshots);
    expect(latest - Math.min(...rows.map((r) => r.timestamp))).toBe((snapshots - 1) * EVERY);
    expect(rows).toHaveLength(snapshots * SIM_COINS);
    expect(filesUnder(path.join(lake, "raw")).filter((f) => f.endsWith(".request.json"))).toHaveLength(snapshots);
  });

  it("v_total_market_cap: sums of the newest snapshot against the newest one at least 24 h older", async () => {
    const at = (t: number): Row[] => rows.filter((r) => r.timestamp === t);
    const sum = (rs: Row[], column: string): number => rs.reduce((s, r) => s + (r[column] === null ? 0 : num(r[column])), 0);
    const previous = Math.max(...rows.map((r) => r.timestamp).filter((t) => t <= latest - DAY && t >= latest - DAY - HOUR));
    const [cap, prevCap, vol, prevVol] = [
      sum(at(latest), "market_cap"),
      sum(at(previous), "market_cap"),
      sum(at(latest), "volume_24h"),
      sum(at(previous), "volume_24h"),
    ];

    const [row] = await query("v_total_market_cap");

    expect(row).toEqual({
      latest_timestamp: latest,
      total_market_cap: cap,
      total_volume_24h: vol,
      coins: SIM_COINS,
      previous_timestamp: previous,
      previous_total_market_cap: prevCap,
      market_cap_change_pct: expect.closeTo(100 * (cap / prevCap - 1), 9),
      previous_total_volume_24h: prevVol,
      volume_change_pct: expect.closeTo(100 * (vol / prevVol - 1), 9),
    });
  });

  it("v_top_100: the newest snapshot's ranked coins in rank order", async () => {
    const expected = rows
      .filter((r) => r.timestamp === latest && r.market_cap_rank !== null && num(r.market_cap_rank) <= 100)
      .sort((a, b) => num(a.market_cap_rank) - num(b.market_cap_rank))
      .map((r) => [r.market_cap_rank, r.id, r.current_price, r.price_change_pct_24h, r.market_cap]);

    const actual = (await query("v_top_100")).map((r) => [r.market_cap_rank, r.id, r.current_price, r.price_change_pct_24h, r.market_cap]);

    expect(actual).toEqual(expected);
    expect(actual.length).toBe(SIM_COINS - 1);
  });

  it("v_top_gainers: the 10 ranked coins with the largest 24 h change", async () => {
    const expected = rows
      .filter((r) => r.timestamp === latest && r.market_cap_rank !== null && r.price_change_pct_24h !== null)
      .sort((a, b) => num(b.price_change_pct_24h) - num(a.price_change_pct_24h) || a.id.localeCompare(b.id))
      .slice(0, 10)
      .map((r, i) => [i + 1, r.id, r.price_change_pct_24h]);

    expect((await query("v_top_gainers")).map((r) => [r.gainer_rank, r.id, r.price_change_pct_24h])).toEqual(expected);
  });

  it("v_trendline_core: each core coin's last price of every hour", async () => {
    const core = ["bitcoin", "ethereum", "solana", "tether"];
    const closes = new Map<string, { t: number; price: unknown }>();
    for (const r of rows.filter((r) => core.includes(r.id) && r.timestamp >= latest - (latest % HOUR) - 167 * HOUR)) {
      const key = `${r.timestamp - (r.timestamp % HOUR)}|${r.id}`;
      if ((closes.get(key)?.t ?? -1) < r.timestamp) closes.set(key, { t: r.timestamp, price: r.current_price });
    }
    const expected = [...closes.entries()].map(([key, v]) => [Number(key.split("|")[0]), key.split("|")[1], v.price]).sort();

    const actual = (await query("v_trendline_core")).map((r) => [r.hour_start, r.id, r.close_price]).sort();

    expect(actual).toEqual(expected);
    expect(actual).toHaveLength(4 * hours);
  });

  it("v_btc_24h: Bitcoin's snapshots of the last 24 h, both ends included", async () => {
    const expected = rows
      .filter((r) => r.id === "bitcoin" && r.timestamp >= latest - DAY)
      .sort((a, b) => a.timestamp - b.timestamp)
      .map((r) => [r.timestamp, r.current_price, r.volume_24h]);

    expect((await query("v_btc_24h")).map((r) => [r.timestamp, r.price, r.volume_24h])).toEqual(expected);
  });

  it("transform --all again adds nothing, and simulate again writes nothing new", async () => {
    const before = filesUnder(lake);

    const transformed = await runCli(["transform", "--lake", lake, "--all"]);
    const simulated = await runCli([
      "simulate",
      "--lake",
      lake,
      "--days",
      "0.5",
      "--coins",
      String(SIM_COINS),
      "--every",
      "30",
      "--seed",
      "7",
    ]);

    const again = Number(/^simulated (\d+) snapshot\(s\)/.exec(simulated.stdout)?.[1]);
    expect(transformed.stdout).toBe("materialised 0 rows in 0 hour(s)\n");
    expect([24, 25]).toContain(again);
    expect(filesUnder(lake)).toEqual(before);
    expect(simulated.stderr).toContain(`${again}/${again} snapshots (100%`);
  });

  it.each([
    [["simulate", "--days", "0"], '--days must be a number of days above 0 and at most 400, got "0"'],
    [["simulate", "--days", "1", "--every", "7"], '--every must be a whole number of minutes, a multiple of 5, got "7"'],
    [["simulate", "--days", "1", "--coins", "3"], '--coins must be an integer of at least 4, got "3"'],
  ])("rejects %j with a one-line reason, writing nothing", async (args, message) => {
    const empty = tempLake("e2e-bad");

    await expect(runCli([...args, "--lake", empty])).rejects.toThrow(message);
    expect(filesUnder(empty)).toEqual([]);
  });
});

describe("local --once --source live against the CoinGecko stand-in", () => {
  let standIn: CoinGeckoStandIn | undefined;
  afterEach(async () => {
    await standIn?.close();
    standIn = undefined;
  });

  it("ingests the recorded page, materialises it and writes the static dashboard", async () => {
    standIn = await startCoinGeckoStandIn({ fallback: fixturePage(FIXTURE) });
    const lake = tempLake("e2e-once");

    // --no-backfill: this run is about the one snapshot (backfill.test.ts covers the history of an empty lake).
    const { stdout } = await runCli(["local", "--once", "--lake", lake, "--source", "live", "--api-url", standIn.baseUrl, "--no-backfill"]);

    const [slot] = processedSlots(lake);
    const dashboard = path.join(lake, "dashboard.html");
    expect(standIn.requests).toHaveLength(1);
    expect(standIn.requests[0]).toMatchObject({
      path: "/api/v3/coins/markets",
      query: { vs_currency: "usd", order: "market_cap_desc", per_page: "250", page: "1" },
    });
    expect(processedSlots(lake)).toEqual([slot]);
    expect(fs.readFileSync(path.join(lake, rawKey(slot))).equals(fixtureBytes(FIXTURE))).toBe(true);
    expect(processedRowsOf(lake)).toHaveLength(250);
    expect(manifests(lake).get(slot - (slot % HOUR))).toEqual([slot]);
    expect((await analytics(lake)).rows).toBe(250);
    expect(stdout).toContain(`ingest ${new Date(slot * 1000).toISOString()}: written, 250 coins`);
    expect(stdout).toContain(`static dashboard ${dashboard}`);
    expect(fs.readFileSync(dashboard, "utf8")).toContain('"id":"bitcoin"');
    expect(fs.existsSync(path.join(lake, LAKE_LOCK_FILE))).toBe(false);
  });

  it("fails with the CoinGecko reason when the key is refused, and still writes no snapshot", async () => {
    standIn = await startCoinGeckoStandIn({
      fallback: { status: 401, body: JSON.stringify({ status: { error_code: 10002, error_message: "API Key Missing" } }) },
    });
    const lake = tempLake("e2e-once-401");

    await expect(
      runCli(["local", "--once", "--lake", lake, "--api-url", standIn.baseUrl, "--api-key", "cg-secret-key-123"]),
    ).rejects.toThrow(/^ingest \S+ failed: CoinGecko error 10002: the API key is missing or empty/);
    expect(processedSlots(lake)).toEqual([]);
    expect(fs.readFileSync(path.join(lake, "dashboard.html"), "utf8")).not.toContain("cg-secret-key-123");
  });

  it.each([
    [["--source", "simulate", "--api-url", "http://127.0.0.1:1"], "--api-url applies to --source live only"],
    [["--source", "live", "--coins", "10"], "--coins applies to --source simulate only"],
    [["--port", "70000"], '--port must be an integer from 0 to 65535, got "70000"'],
    [["--plan", "gold"], '--plan must be one of demo, pro, keyless; got "gold"'],
  ])("rejects %j before touching the lake", async (args, message) => {
    const lake = tempLake("e2e-flags");
    fs.rmSync(lake, { recursive: true });

    await expect(runCli(["local", "--once", "--lake", lake, ...args])).rejects.toThrow(message);
    expect(fs.existsSync(lake)).toBe(false);
  });
});

describe("resilience on a virtual clock", () => {
  let standIn: CoinGeckoStandIn | undefined;
  afterEach(async () => {
    await standIn?.close();
    standIn = undefined;
  });

  it("a CoinGecko outage of 4 hours (503s, then dropped connections) shows only as missing snapshots; the transform catches up when it ends", async () => {
    // Arrange: 9 hours of schedule; CoinGecko fails from +2 h to +6 h.
    const t0 = virtualStart(9);
    const outage = { from: t0 + 2 * HOUR, to: t0 + 6 * HOUR };
    const { clock, controller } = virtualClock(t0 + 2 * MINUTE, t0 + 8 * HOUR + 50 * MINUTE);
    standIn = await startCoinGeckoStandIn({
      fallback: (): ScriptedResponse => {
        const t = clock.now() / 1000;
        if (t < outage.from || t >= outage.to) return fixturePage(FIXTURE);
        return t < outage.from + 2 * HOUR ? serverError(503) : { destroy: true };
      },
    });
    const lake = tempLake("e2e-outage");
    const source = createCoinGeckoSource({ baseUrl: standIn.baseUrl, ...FAST_RETRY_OPTIONS, maxRetries: 1 });

    // Act
    const run = virtualRun({ lake, source: "live", snapshotSource: source, clock, controller });
    const result = await run.result;

    // Assert
    const all = slots(t0, t0 + 8 * HOUR + 30 * MINUTE);
    const served = all.filter((t) => t < outage.from || t >= outage.to);
    expect(result.stats).toMatchObject({ ingests: all.length, ingestFailures: all.length - served.length, transformFailures: 0 });
    await expectLakeConsistent(lake, served, t0 + 8 * HOUR);
    const failed = run.status.filter((l) => l.includes("FAILED"));
    expect(failed).toHaveLength(8);
    expect(
      failed.every((l) =>
        /^\d\d:\d\d:\d\d ingest \S+ FAILED \(\d+\.\d s\): CoinGecko stayed unavailable \((HTTP 503|ECONNRESET|socket hang up)/.test(l),
      ),
    ).toBe(true);
    const lags = run.status.filter((l) => l.includes("transform hourly")).map((l) => Number(/lag (\d+) h/.exec(l)?.[1]));
    expect(Math.max(...lags)).toBeGreaterThanOrEqual(3);
    expect(lags[lags.length - 1]).toBe(0);
  });

  it("stopped while waiting and started again an hour later: nothing lost, nothing twice", async () => {
    // Arrange
    const t0 = virtualStart(8);
    const lake = tempLake("e2e-restart");
    const first = virtualClock(t0 + 2 * MINUTE, t0 + 3 * HOUR + 10 * MINUTE);
    const second = virtualClock(t0 + 4 * HOUR + 2 * MINUTE, t0 + 6 * HOUR + 10 * MINUTE);

    // Act
    const run1 = virtualRun({ lake, source: "simulate", coins: SIM_COINS, ...first });
    await run1.result;
    const afterFirst = processedSlots(lake);
    const run2 = virtualRun({ lake, source: "simulate", coins: SIM_COINS, ...second });
    await run2.result;

    // Assert: the hour the process was down has no snapshot; everything else is there exactly once.
    expect(afterFirst).toEqual(slots(t0, t0 + 3 * HOUR));
    await expectLakeConsistent(lake, [...slots(t0, t0 + 3 * HOUR), ...slots(t0 + 4 * HOUR, t0 + 6 * HOUR)], t0 + 6 * HOUR);
    expect(run1.status[run1.status.length - 1]).toMatch(/stopped: 7 ingest\(s\) \(0 failed\), 5 transform\(s\) \(0 failed\)$/);
    expect(run2.status.some((l) => /transform catch-up: \d+ hour\(s\) materialised/.test(l))).toBe(true);
    expect(fs.existsSync(path.join(lake, LAKE_LOCK_FILE))).toBe(false);
  });

  it("stopped in the middle of an ingest: the ingest completes, nothing else starts; the restart continues without duplicates", async () => {
    // Arrange: the source holds the +1 h slot until the test has asked the run to stop.
    const t0 = virtualStart(6);
    const lake = tempLake("e2e-midjob");
    const simulator = new MarketSimulator({ coins: SIM_COINS });
    const first = virtualClock(t0 + 2 * MINUTE);
    let heldSlot = false;
    const source = async (slot: number) => {
      if (slot === t0 + HOUR) {
        heldSlot = true;
        first.controller.abort();
        // Let the scheduler see the abort while this ingest is still in flight.
        await new Promise((r) => setImmediate(r));
      }
      return simulator.snapshotAt(slot);
    };

    // Act
    const run1 = virtualRun({ lake, source: "live", snapshotSource: source, ...first });
    const result1 = await run1.result;
    const second = virtualClock(t0 + HOUR + 10 * MINUTE, t0 + 2 * HOUR + 10 * MINUTE);
    const run2 = virtualRun({ lake, source: "live", snapshotSource: simulator.source(), ...second });
    await run2.result;

    // Assert
    expect(heldSlot).toBe(true);
    expect(result1.stats).toMatchObject({ ingests: 3, ingestFailures: 0 });
    expect(run1.status.some((l) => l.includes(`ingest ${new Date((t0 + HOUR) * 1000).toISOString()}: written`))).toBe(true);
    expect(run2.status.some((l) => l.includes(`ingest ${new Date((t0 + HOUR) * 1000).toISOString()}: already in the lake`))).toBe(true);
    await expectLakeConsistent(lake, slots(t0, t0 + 2 * HOUR), t0 + 2 * HOUR);
  });

  /** A store that dies (throws and stops the run, as a killed process would) on its write of one key. */
  function dyingStore(lake: string, deadlyKey: string, die: () => void): ObjectStore {
    const inner = new LocalObjectStore(lake);
    return {
      putIfAbsent: async (key, body) => {
        if (key === deadlyKey) {
          die();
          throw new Error("process killed");
        }
        return inner.putIfAbsent(key, body);
      },
      put: (key, body) => inner.put(key, body),
      get: (key) => inner.get(key),
      list: (prefix) => inner.list(prefix),
    };
  }

  it.each([
    [
      "simulate",
      "before its request record",
      "rebuilt from the stored raw page (stored last, page 1 proves the snapshot whole), byte for byte what an uninterrupted run writes",
      rawRequestKey,
    ],
    ["live", "before its request record", "rebuilt from the stored raw page alone, with no new request", rawRequestKey],
    ["live", "before its processed object", "rebuilt from the stored raw page its request record lists, with no new request", processedKey],
  ] as const)("%s source, process killed %s: on restart the snapshot is %s", async (sourceName, _point, _outcome, keyOf) => {
    // Arrange
    const t0 = virtualStart(4);
    const crashSlot = t0 + EVERY;
    const lake = tempLake("e2e-crash");
    standIn = await startCoinGeckoStandIn({ fallback: fixturePage(FIXTURE) });
    const live = sourceName === "live";
    const options = live
      ? { source: "live", snapshotSource: createCoinGeckoSource({ baseUrl: standIn.baseUrl, ...FAST_RETRY_OPTIONS }) }
      : { source: "simulate", coins: SIM_COINS };
    const first = virtualClock(t0 + 2 * MINUTE);

    // Act: the first run dies on the write; the restart (an hour later) runs once.
    const run1 = virtualRun({ lake, ...options, store: dyingStore(lake, keyOf(crashSlot), () => first.controller.abort()), ...first });
    await run1.result;
    const rawAfterCrash = fs.readFileSync(path.join(lake, rawKey(crashSlot)));
    const requestsBeforeRestart = standIn.requests.length;
    const second = virtualClock(t0 + HOUR + 2 * MINUTE);
    const run2 = virtualRun({ lake, ...options, once: true, ...second });
    const result2 = await run2.result;

    // Assert
    expect(fs.readFileSync(path.join(lake, rawKey(crashSlot))).equals(rawAfterCrash)).toBe(true);
    if (live) expect(standIn.requests.length - requestsBeforeRestart).toBe(1);
    expect(result2.repair).toEqual({ repaired: [crashSlot], unrecoverable: [] });
    await expectLakeConsistent(lake, [t0, crashSlot, t0 + HOUR], t0 + HOUR);
    if (!live) {
      // The rebuilt object is byte for byte what an uninterrupted ingest writes.
      const clean = tempLake("e2e-clean");
      await virtualRun({ lake: clean, source: "simulate", coins: SIM_COINS, once: true, ...virtualClock(crashSlot + MINUTE) }).result;
      expect(
        fs.readFileSync(path.join(lake, processedKey(crashSlot))).equals(fs.readFileSync(path.join(clean, processedKey(crashSlot)))),
      ).toBe(true);
    } else {
      const rowsOf = (slot: number) =>
        processedRowsOf(lake)
          .filter((r) => r.timestamp === slot)
          .map(({ timestamp: _t, ...rest }) => rest);
      expect(rowsOf(crashSlot)).toEqual(rowsOf(t0));
    }
  });
});

describe("a real crypto-analytics local process", () => {
  let main: string;
  beforeAll(async () => {
    main = await cliMain();
  });
  afterAll(removeCliBuild);

  /** Starts the (transpiled) CLI; resolves once it prints its "running" line. */
  function startLocal(lake: string): { child: ChildProcess; stdout: string[]; running: Promise<void>; exit: Promise<number | null> } {
    const child = spawn(process.execPath, [main, "local", "--lake", lake, "--source", "simulate", "--coins", "20", "--port", "0"], {
      cwd: path.join(__dirname, ".."),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout: string[] = [];
    const running = new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (chunk: Buffer) => {
        stdout.push(chunk.toString("utf8"));
        if (stdout.join("").includes(" running: next ingest ")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`local exited early with ${code}: ${stdout.join("")}`)));
    });
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { child, stdout, running, exit };
  }

  it.each(["SIGINT", "SIGTERM"] as const)(
    "stops cleanly on %s: exit 0, lock released, no temporary or partial file; a second local on the lake is refused meanwhile",
    async (signalName) => {
      // Arrange: a lake that already holds history, so the start skips the backfill.
      const lake = tempLake(`e2e-${signalName}`);
      await runCli(["simulate", "--lake", lake, "--days", "0.25", "--coins", "20", "--every", "60"]);
      const local = startLocal(lake);
      await local.running;

      // Act
      const second = localCommand({
        lake,
        source: "simulate",
        coins: 20,
        port: 0,
        once: true,
        status: () => undefined,
        logSink: () => undefined,
      });
      await expect(second).rejects.toThrow(`is in use by another crypto-analytics local (pid ${local.child.pid})`);
      local.child.kill(signalName);
      const code = await local.exit;

      // Assert
      expect(code).toBe(0);
      expect(local.stdout.join("")).toMatch(/stopped: 1 ingest\(s\) \(0 failed\), 1 transform\(s\) \(0 failed\)\n$/);
      expect(fs.existsSync(path.join(lake, LAKE_LOCK_FILE))).toBe(false);
      expect(filesUnder(path.join(lake, ".tmp"))).toEqual([]);
      expect(filesUnder(path.join(lake, ".staging"))).toEqual([]);
    },
    60_000,
  );
});
