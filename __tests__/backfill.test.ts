/**
 * Backfill from `/coins/{id}/market_chart` against the loopback CoinGecko (hourly points at irregular
 * milliseconds, a last point at "now", arrays of unequal length): 7 days fill the lake with exact raw
 * responses and backfilled snapshots, the views over it equal a computation from the served series, a
 * re-run sends nothing and changes nothing, an interrupted run resumes with only the missing requests, a
 * rate limit is waited out, a live snapshot is never touched, S3 receives the same objects, and every kind
 * of bad input fails with a clear message and no processed object.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { localCommand } from "../cli/localCommand";
import { localTransform } from "../local/localTransform";
import { runBackfill } from "../functions/backfill";
import { createCoinGeckoClient, createCoinGeckoSource } from "../functions/coingeckoClient";
import { runIngest } from "../functions/ingest";
import { LocalObjectStore } from "../functions/localObjectStore";
import { BackfillCoin, parseMarketChart } from "../functions/marketChart";
import { floorToSlot, LAKE_PREFIXES, marketChartRawKey, marketChartRequestKey, processedKey } from "../functions/partitions";
import { S3ObjectStore } from "../functions/s3ObjectStore";
import { DuckDbEngine } from "../local/duckdbEngine";
import { CORE_COINS } from "../local/simulator";
import { STAND_IN_REGION, startAwsStandIn } from "./helpers/awsStandIn";
import {
  ChartMarket,
  marketChartBody,
  marketChartCoinOf,
  marketChartResponder,
  rateLimit,
  Responder,
  startCoinGeckoStandIn,
} from "./helpers/coingeckoStandIn";
import { errorBody, fixtureBytes, fixturePage, recorder, tempDirsRemovedAfterAll } from "./helpers/factories";
import { standInTiming } from "./helpers/lakeInvariants";
import { processedRows } from "./helpers/simulatedLake";

const tempDir = tempDirsRemovedAfterAll();
const DAYS = 7;
const NOW = Date.now();
const TO_SLOT = floorToSlot(Math.floor(NOW / 1000));
const FROM_SLOT = TO_SLOT - DAYS * 86_400;
const COINS: BackfillCoin[] = CORE_COINS.map(({ id, symbol, name }) => ({ id, symbol, name }));
const MARKET: ChartMarket = {
  nowMs: NOW,
  coins: Object.fromEntries(CORE_COINS.map((c) => [c.id, { price: c.price, supply: c.supply }])),
};

/** Backfills `lake` from a stand-in answering `responder`; resolves the result and the stand-in's requests. */
async function backfill(
  lake: string | S3ObjectStore,
  responder: Responder,
  options: { coins?: BackfillCoin[]; maxRetries?: number; days?: number; nowMs?: number } = {},
) {
  const standIn = await startCoinGeckoStandIn({ fallback: responder });
  try {
    const client = createCoinGeckoClient({ ...standInTiming(options.maxRetries ?? 3), baseUrl: standIn.baseUrl });
    const store = typeof lake === "string" ? new LocalObjectStore(lake) : lake;
    const run = runBackfill({
      store,
      client,
      coins: options.coins ?? COINS,
      days: options.days ?? DAYS,
      nowMs: options.nowMs ?? NOW,
      vsCurrency: "usd",
      pacingMs: 0,
      logger: recorder().logger,
    });
    const result = await run.catch((err: unknown) => err as Error);
    return { result, requests: standIn.requests };
  } finally {
    await standIn.close();
  }
}

/** The served price points of a coin that a backfill of the range keeps, the latest of each slot: slot -> [ms, price]. */
function servedSlots(id: string): Map<number, [number, number]> {
  const { prices } = JSON.parse(marketChartBody(MARKET, id, DAYS)) as { prices: [number, number][] };
  const out = new Map<number, [number, number]>();
  for (const [ms, price] of prices) {
    const slot = floorToSlot(Math.floor(ms / 1000));
    if (slot >= FROM_SLOT && slot < TO_SLOT && (out.get(slot)?.[0] ?? -1) < ms) out.set(slot, [ms, price]);
  }
  return out;
}

/** {@link digests} without the request records, which hold each fetch's time, latency and URL. */
function dataDigests(dir: string): Record<string, string> {
  return Object.fromEntries(Object.entries(digests(dir)).filter(([key]) => !key.endsWith(".request.json")));
}

/** Relative path -> sha256 of every file under `dir/sub`. */
function digests(dir: string, sub = ""): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    const full = path.join(dir, rel);
    if (!fs.existsSync(full)) return;
    for (const entry of fs.readdirSync(full, { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else
        out[child] = createHash("sha256")
          .update(fs.readFileSync(path.join(dir, child)))
          .digest("hex");
    }
  };
  walk(sub);
  return out;
}

let cleanLake: string;

beforeAll(async () => {
  cleanLake = tempDir("backfill-clean");
  const { result } = await backfill(cleanLake, marketChartResponder(MARKET));
  if (result instanceof Error) throw result;
}, 60_000);

describe("backfill of 7 days from the loopback CoinGecko", () => {
  it("keeps each exact response in raw/ with a request record, one request per coin", () => {
    for (const coin of COINS) {
      const raw = fs.readFileSync(path.join(cleanLake, marketChartRawKey(TO_SLOT - (TO_SLOT % 3600), DAYS, coin.id)));
      expect(raw.toString("utf8")).toBe(marketChartBody(MARKET, coin.id, DAYS));
      const record = JSON.parse(
        fs.readFileSync(path.join(cleanLake, marketChartRequestKey(TO_SLOT - (TO_SLOT % 3600), DAYS, coin.id)), "utf8"),
      ) as Record<string, unknown>;
      expect(record).toMatchObject({
        coin: coin.id,
        days: DAYS,
        bytes: raw.byteLength,
        sha256: createHash("sha256").update(raw).digest("hex"),
        request: { params: { vs_currency: "usd", days: DAYS } },
      });
    }
  });

  it("writes one backfilled snapshot per slot the served points fall in, before the current slot, each row derived from the series", () => {
    const rows = processedRows(cleanLake);
    const expectedSlots = new Set(COINS.flatMap((c) => [...servedSlots(c.id).keys()]));
    expect(new Set(rows.map((r) => r.timestamp))).toEqual(expectedSlots);
    expect(Math.max(...rows.map((r) => r.timestamp))).toBeLessThan(TO_SLOT);
    expect(rows.every((r) => r.source === "backfill")).toBe(true);
    for (const coin of COINS) {
      const mine = rows.filter((r) => r.id === coin.id);
      expect(mine.map((r) => [r.timestamp, r.current_price, r.symbol, r.name]).sort()).toEqual(
        [...servedSlots(coin.id)].map(([slot, [, price]]) => [slot, price, coin.symbol, coin.name]).sort(),
      );
    }
    // Rank by market cap among the slot's coins: the simulator's order of market caps, in every slot.
    const bySize = [...CORE_COINS].sort((a, b) => b.price * b.supply - a.price * a.supply).map((c) => c.id);
    const fullSlot = rows.filter(
      (r) => r.timestamp === [...expectedSlots].find((s) => rows.filter((x) => x.timestamp === s).length === COINS.length),
    );
    expect(fullSlot.sort((a, b) => (a.market_cap_rank ?? 0) - (b.market_cap_rank ?? 0)).map((r) => r.id)).toEqual(bySize);
    // The 1 h change compares with the point an hour earlier; the series of 7 days is too short for 7 d at its start.
    const btc = rows.filter((r) => r.id === "bitcoin").sort((a, b) => a.timestamp - b.timestamp);
    expect(btc[0].price_change_pct_1h).toBeNull();
    expect(btc[1].price_change_pct_1h).toBeCloseTo(((btc[1].current_price as number) / (btc[0].current_price as number) - 1) * 100, 9);
    expect(btc[0].price_change_pct_7d).toBeNull();
  });

  it("materialises like any snapshot: the 7-day trendline and the top 100 equal a computation from the served series", async () => {
    const lake = tempDir("backfill-views");
    fs.cpSync(cleanLake, lake, { recursive: true });
    await localTransform({ lake, all: true, logger: recorder().logger, nowMs: () => NOW });
    const engine = await DuckDbEngine.open(lake);
    try {
      const latest = Math.max(...COINS.flatMap((c) => [...servedSlots(c.id).keys()]));
      const firstHour = latest - (latest % 3600) - 167 * 3600;
      const expected = COINS.flatMap((c) => {
        const byHour = new Map<number, [number, number]>();
        for (const [slot, [ms, price]] of servedSlots(c.id)) {
          const hour = slot - (slot % 3600);
          if (hour >= firstHour && (byHour.get(hour)?.[0] ?? -1) < ms) byHour.set(hour, [ms, price]);
        }
        return [...byHour].map(([hour, [, price]]) => [hour, c.id, price]);
      });
      const trend = (await engine.execute("SELECT hour_start, id, close_price FROM v_trendline_core")).rows.map((r) => [
        r.hour_start,
        r.id,
        r.close_price,
      ]);
      expect(trend.sort()).toEqual(expected.sort());

      const latestPrices = COINS.filter((c) => servedSlots(c.id).has(latest)).map((c) => [c.id, servedSlots(c.id).get(latest)?.[1]]);
      const top = (await engine.execute("SELECT id, current_price FROM v_top_100 ORDER BY market_cap_rank")).rows.map((r) => [
        r.id,
        r.current_price,
      ]);
      expect(top.sort()).toEqual(latestPrices.sort());
    } finally {
      engine.close();
    }
  });

  it("a re-run sends no request and changes no file", async () => {
    const lake = tempDir("backfill-rerun");
    fs.cpSync(cleanLake, lake, { recursive: true });
    const before = digests(lake);
    const { result, requests } = await backfill(lake, marketChartResponder(MARKET));
    expect(result).toMatchObject({ requests: 0, slotsWritten: 0 });
    expect(requests).toHaveLength(0);
    expect(digests(lake)).toEqual(before);
  });

  it("an interrupted run resumes: only the missing coins are requested, and the lake ends as a clean run's", async () => {
    const lake = tempDir("backfill-resume");
    const storm: Responder = (request, index) =>
      marketChartCoinOf(request.path) === "tether"
        ? { status: 429, body: errorBody(429, "rate limited") }
        : marketChartResponder(MARKET)(request, index);
    const first = await backfill(lake, storm, { maxRetries: 1 });
    expect(first.result).toBeInstanceOf(Error);
    expect((first.result as Error).message).toMatch(/kept rate limiting.*tether market_chart/);
    expect(Object.keys(digests(lake, LAKE_PREFIXES.processed))).toEqual([]);

    const second = await backfill(lake, marketChartResponder(MARKET));
    expect(second.requests.map((r) => marketChartCoinOf(r.path))).toEqual(["tether", "solana"]);
    expect(second.result).toMatchObject({ requests: 2, reused: 2 });
    expect(dataDigests(lake)).toEqual(dataDigests(cleanLake));
  });

  it("waits out the stand-in's rate limit (Retry-After honoured, no request early) and writes what a clean run writes", async () => {
    const lake = tempDir("backfill-limited");
    const limited = rateLimit(marketChartResponder(MARKET), 2, 1_000);
    const { result } = await backfill(lake, limited.responder);
    expect(result).toMatchObject({ requests: COINS.length });
    expect(limited.refused()).toBeGreaterThan(0);
    expect(limited.early()).toBe(0);
    expect(digests(lake, LAKE_PREFIXES.processed)).toEqual(digests(cleanLake, LAKE_PREFIXES.processed));
  });

  it("never touches a live snapshot, nor adds to its hour", async () => {
    const lake = tempDir("backfill-live");
    const store = new LocalObjectStore(lake);
    const liveSlot = [...servedSlots("bitcoin").keys()][100];
    const standIn = await startCoinGeckoStandIn({ fallback: fixturePage("recorded-5-coins.json") });
    try {
      await runIngest({
        store,
        source: createCoinGeckoSource({ ...standInTiming(0), baseUrl: standIn.baseUrl, topN: 5 }),
        scheduledTime: liveSlot * 1000 + 30_000,
        vsCurrency: "usd",
        ...recorder(),
      });
    } finally {
      await standIn.close();
    }
    const liveBytes = fs.readFileSync(path.join(lake, processedKey(liveSlot)));
    const hour = liveSlot - (liveSlot % 3600);

    const { result } = await backfill(lake, marketChartResponder(MARKET));

    expect(result).toMatchObject({ slotsSkipped: 1 });
    expect(fs.readFileSync(path.join(lake, processedKey(liveSlot)))).toEqual(liveBytes);
    const inHour = processedRows(lake).filter((r) => r.timestamp >= hour && r.timestamp < hour + 3600);
    expect(inHour.every((r) => r.source === "live" && r.timestamp === liveSlot)).toBe(true);
  });

  it("writes the same objects through the S3 object store", async () => {
    const aws = await startAwsStandIn();
    try {
      aws.buckets.set("lake-bucket", new Map());
      const client = new S3Client({
        region: STAND_IN_REGION,
        endpoint: aws.url,
        forcePathStyle: true,
        credentials: { accessKeyId: "AKIDSTANDIN", secretAccessKey: "stand-in-secret" },
      });
      const { result } = await backfill(new S3ObjectStore(client, "lake-bucket"), marketChartResponder(MARKET));
      expect(result).toMatchObject({ requests: COINS.length });
      const inBucket = Object.fromEntries(
        [...(aws.buckets.get("lake-bucket") ?? new Map())]
          .filter(([key]) => !key.endsWith(".request.json"))
          .map(([key, o]) => [key, createHash("sha256").update(o.body).digest("hex")]),
      );
      expect(inBucket).toEqual(dataDigests(cleanLake));
      expect([...(aws.buckets.get("lake-bucket")?.keys() ?? [])].filter((key) => key.endsWith(".request.json"))).toHaveLength(COINS.length);
      expect(aws.ops("PutObject").every((r) => r.headers["if-none-match"] === "*")).toBe(true);
    } finally {
      await aws.close();
    }
  });
});

describe("local on an empty lake, live", () => {
  it("backfills the four trendline coins first, so the 7-day lines are real at the first dashboard", async () => {
    const lake = tempDir("backfill-local");
    const chart = marketChartResponder(MARKET);
    const standIn = await startCoinGeckoStandIn({
      fallback: (request, index) =>
        request.path.endsWith("/coins/markets") ? fixturePage("recorded-5-coins.json") : chart(request, index),
    });
    const status: string[] = [];
    try {
      const result = await localCommand({
        lake,
        source: "live",
        apiUrl: standIn.baseUrl,
        once: true,
        port: 0,
        status: (l) => status.push(l),
        logSink: () => undefined,
        progressStream: { write: () => true },
      });
      expect(result.backfilled).toBeGreaterThan(0);
    } finally {
      await standIn.close();
    }
    expect(standIn.requests.filter((r) => marketChartCoinOf(r.path) !== undefined).map((r) => marketChartCoinOf(r.path))).toEqual(
      COINS.map((c) => c.id),
    );
    expect(status.some((l) => /empty lake: backfilling 7 days of CoinGecko history of bitcoin, ethereum, tether, solana/.test(l))).toBe(
      true,
    );
    const engine = await DuckDbEngine.open(lake);
    try {
      const { rows } = await engine.execute("SELECT id, count(*) AS hours FROM v_trendline_core GROUP BY id ORDER BY id");
      // 168 hours of history; the live snapshot's hour and the backfill's last hour may be the same one.
      expect(rows.map((r) => r.id)).toEqual(COINS.map((c) => c.id).sort());
      expect(rows.every((r) => (r.hours as number) >= 7 * 24 - 2)).toBe(true);
    } finally {
      engine.close();
    }
  }, 120_000);

  it("--no-backfill starts with the live snapshot alone", async () => {
    const lake = tempDir("backfill-local-off");
    const standIn = await startCoinGeckoStandIn({ fallback: fixturePage("recorded-5-coins.json") });
    try {
      const result = await localCommand({
        lake,
        source: "live",
        apiUrl: standIn.baseUrl,
        once: true,
        port: 0,
        backfill: false,
        status: () => undefined,
        logSink: () => undefined,
      });
      expect(result.backfilled).toBe(0);
    } finally {
      await standIn.close();
    }
    expect(standIn.requests.map((r) => r.path)).toEqual(["/api/v3/coins/markets"]);
  }, 60_000);
});

describe("market_chart as CoinGecko documents it", () => {
  it("the official example (two points at irregular milliseconds) gives one row per slot with price, market cap and volume", async () => {
    const body = fixtureBytes("oas-example-market-chart.json");
    const chart = parseMarketChart(new Uint8Array(body), "bitcoin");
    const lastMs = chart.prices[chart.prices.length - 1][0];
    const lake = tempDir("backfill-oas");
    const { result } = await backfill(lake, () => ({ body }), { coins: [COINS[0]], days: 1, nowMs: lastMs + 600_000 });
    expect(result).toMatchObject({ slotsWritten: 2, rows: 2 });
    const rows = processedRows(lake).sort((a, b) => a.timestamp - b.timestamp);
    expect(rows.map((r) => [r.timestamp, r.current_price, r.market_cap, r.volume_24h, r.market_cap_rank])).toEqual(
      chart.prices.map(([ms, price], i) => [
        floorToSlot(Math.floor(ms / 1000)),
        price,
        Math.round(chart.market_caps[i][1] as number),
        Math.round(chart.total_volumes[i][1] as number),
        1,
      ]),
    );
  });

  it("arrays of unequal length and null values give null columns, not errors", async () => {
    const t0 = TO_SLOT * 1000 - 3 * 3_600_000 + 1_234;
    const body = JSON.stringify({
      prices: [
        [t0, 10],
        [t0 + 3_600_000, null],
        [t0 + 7_200_000, 12],
      ],
      market_caps: [
        [t0, 1000],
        [t0 + 7_200_000, null],
      ],
      total_volumes: [[t0 + 3_600_000, 50]],
    });
    const lake = tempDir("backfill-nulls");
    const { result } = await backfill(lake, () => ({ body }), { coins: [COINS[0]] });
    expect(result).toMatchObject({ slotsWritten: 3 });
    const rows = processedRows(lake).sort((a, b) => a.timestamp - b.timestamp);
    expect(rows.map((r) => [r.current_price, r.market_cap, r.market_cap_rank, r.volume_24h, r.price_change_pct_1h])).toEqual([
      [10, 1000, 1, null, null],
      [null, null, null, 50, null],
      [12, null, null, null, null],
    ]);
  });
});

describe("bad input: a clear message, and processed/ untouched", () => {
  const chartFor =
    (id: string, answer: Responder): Responder =>
    (request, index) =>
      marketChartCoinOf(request.path) === id ? answer(request, index) : marketChartResponder(MARKET)(request, index);
  describe.each<[string, Responder, RegExp, BackfillCoin[]?]>([
    [
      "an unknown coin id",
      marketChartResponder(MARKET),
      /^unknown coin id "no-such-coin": CoinGecko has no \/coins\/no-such-coin\/market_chart \(HTTP 404\)/,
      [...COINS.slice(0, 2), { id: "no-such-coin", symbol: "", name: "" }],
    ],
    [
      "CoinGecko's 10012 time-range error",
      chartFor("tether", () => ({
        status: 401,
        body: JSON.stringify({ error: { status: { error_code: 10012, error_message: "Your request exceeds the allowed time range." } } }),
      })),
      /CoinGecko error 10012: the requested history reaches beyond/,
    ],
    [
      "a 200 whose body is an error object",
      chartFor("tether", () => ({ body: JSON.stringify({ error: "invalid vs_currency" }) })),
      /CoinGecko answered HTTP 200 .*invalid vs_currency/,
    ],
    [
      "a point that is not [ms, value]",
      chartFor("tether", () => ({
        body: JSON.stringify({
          prices: [
            [1, 2],
            ["x", 3],
          ],
          market_caps: [],
          total_volumes: [],
        }),
      })),
      /market_chart of "tether" has a malformed point 1 in "prices"/,
    ],
    [
      "a body without one of the three series",
      chartFor("tether", () => ({ body: JSON.stringify({ prices: [] }) })),
      /market_chart of "tether" has no "market_caps" array/,
    ],
    ["a truncated body", chartFor("tether", () => ({ body: '{"prices":[[1,2]' })), /market_chart of "tether" is not valid JSON/],
    [
      "a rate-limit storm",
      chartFor("tether", () => ({
        status: 429,
        headers: { "content-type": "application/json", "retry-after": "0" },
        body: errorBody(429, "rate limited"),
      })),
      /kept rate limiting the requests \(HTTP 429\) on tether market_chart: gave up after 3 attempt\(s\)/,
    ],
  ])("%s", (_what, responder, message, coins) => {
    it("fails naming the coin and the fault; the coins before it keep complete raw responses, nothing else is written", async () => {
      const lake = tempDir("backfill-bad");
      const { result } = await backfill(lake, responder, { coins, maxRetries: 2 });
      expect(result).toBeInstanceOf(Error);
      expect((result as Error).message).toMatch(message);
      expect(Object.keys(digests(lake, LAKE_PREFIXES.processed))).toEqual([]);
      const raw = Object.keys(digests(lake, LAKE_PREFIXES.raw))
        .map((k) => path.basename(k))
        .sort();
      expect(raw).toEqual(
        ["bitcoin", "ethereum"]
          .flatMap((id) => [
            `${TO_SLOT - (TO_SLOT % 3600)}.market_chart.${DAYS}d.${id}.json`,
            `${TO_SLOT - (TO_SLOT % 3600)}.market_chart.${DAYS}d.${id}.request.json`,
          ])
          .sort(),
      );
    });
  });

  it.each([0, 91, 2.5])("refuses --days %p before any request", async (days) => {
    const { result, requests } = await backfill(tempDir("backfill-days"), marketChartResponder(MARKET), { days });
    expect((result as Error).message).toMatch(/^--days must be a whole number from 1 to 90/);
    expect(requests).toHaveLength(0);
  });
});
