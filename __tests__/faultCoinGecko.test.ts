/**
 * CoinGecko misbehaving while `crypto-analytics local` runs on a virtual clock at the real 5-minute cadence
 * (hours of schedule in a few seconds), against the loopback stand-in, through the real client, jobs,
 * scheduler and DuckDB transform. Each scenario checks the lake invariant against what the stand-in served
 * (helpers/lakeInvariants): every page served is in the lake exactly once, a slot CoinGecko failed leaves no
 * trace, no analytics row twice, nothing partial visible, every completed hour with data materialised.
 * - down for 6 hours (503s, then dropped connections);
 * - flapping every 10 minutes between down (503 or dropped connections) and unstable (503, reset, 200);
 * - 429 storms: without Retry-After, with Retry-After 0 or a past date, with a 60 s Retry-After that the
 *   budget cannot honour (one request, then give up), and 200s carrying a 429 error object;
 * - malformed pages (HTML, truncated JSON, an error object, an empty array, coins without ids) between good ones.
 */
import { HOUR_SECONDS, SNAPSHOT_SLOT_SECONDS } from "../functions/partitions";
import { ScriptedResponse } from "./helpers/coingeckoStandIn";
import { coin, errorBody, htmlPage, makeTempDir, marketsPage, rateLimited, removeTempDir, serverError } from "./helpers/factories";
import { LocalRunOutcome, runLocal } from "./helpers/faultyStore";
import { inspectLake, LakeReport, StandInMarket, startStandInMarket } from "./helpers/lakeInvariants";
import { VirtualClock } from "./helpers/virtualClock";

const HOUR = HOUR_SECONDS;
const MINUTE = 60;
const SLOT = SNAPSHOT_SLOT_SECONDS;
/** Midnight UTC, 2024-09-03: the virtual start of every scenario. */
const T0 = Date.UTC(2024, 8, 3) / 1000;

const temps: string[] = [];
afterAll(() => temps.forEach(removeTempDir));
let market: StandInMarket | undefined;
afterEach(async () => {
  await market?.standIn.close();
  market = undefined;
});

/** Every 5-minute slot from `from` to `to`, both included. */
function slotsBetween(from: number, to: number): number[] {
  return Array.from({ length: Math.floor((to - from) / SLOT) + 1 }, (_, i) => from + i * SLOT);
}

/** What a scenario produced: the run, the lake report, the slots ingested and those that failed. */
interface Scenario {
  run: LocalRunOutcome;
  report: LakeReport;
  market: StandInMarket;
  slots: number[];
  failedSlots: number[];
}

/**
 * `local` from T0 + 2 min for `hours` hours and 50 minutes (the last slot is T0 + hours h 50 min), with
 * CoinGecko answering as `answer` says; then the lake's report, demanding every hour before the last be
 * materialised.
 */
async function scenario(
  hours: number,
  answer: (index: number, slot: number) => ScriptedResponse | undefined,
  maxRetries?: number,
): Promise<Scenario> {
  market = await startStandInMarket(answer, maxRetries);
  const lake = makeTempDir("fault-coingecko");
  temps.push(lake);
  const controller = new AbortController();
  const last = T0 + hours * HOUR + 50 * MINUTE;
  const clock = new VirtualClock((T0 + 2 * MINUTE) * 1000, { stopAt: last * 1000, controller });
  const run = await runLocal({ lake, source: "live", snapshotSource: market.source, clock, signal: controller.signal });
  const report = await inspectLake(lake, { served: market.served, materialisedBefore: T0 + hours * HOUR });
  const failedSlots = run.status
    .filter((l) => l.includes(" FAILED "))
    .map((l) => Date.parse(/ingest (\S+) FAILED/.exec(l)?.[1] ?? "") / 1000);
  return { run, report, market, slots: slotsBetween(T0, last), failedSlots };
}

/** Hour starts from T0 + `from` h to T0 + `to` h, both included. */
function hours(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => T0 + (from + i) * HOUR);
}

it("CoinGecko down for 6 hours: 72 slots fail and leave no trace, the 47 served are each in the lake once, the hour after the outage is materialised", async () => {
  // Arrange: down from +2 h to +8 h, first answering 503/502/504, then dropping connections.
  const down = (slot: number): boolean => slot >= T0 + 2 * HOUR && slot < T0 + 8 * HOUR;
  const outageAnswers: ScriptedResponse[] = [serverError(503), serverError(502), serverError(504)];

  // Act: one retry per page: the outage costs two requests per slot.
  const s = await scenario(
    9,
    (index, slot) => (!down(slot) ? undefined : slot < T0 + 5 * HOUR ? outageAnswers[index % 3] : { destroy: true }),
    1,
  );

  // Assert
  const outage = s.slots.filter(down);
  expect(outage).toHaveLength(72);
  expect(s.run.error).toBeUndefined();
  expect(s.run.result?.stats).toMatchObject({ ingests: 119, ingestFailures: 72, transformFailures: 0 });
  expect(s.failedSlots).toEqual(outage);
  expect(
    s.run.status
      .filter((l) => l.includes(" FAILED "))
      .every((l) =>
        /CoinGecko stayed unavailable \((HTTP 50[234]|ECONNRESET|socket hang up)\) on page 1: gave up after 2 attempt\(s\) .*; its retry limit \(1\) was reached$/.test(
          l,
        ),
      ),
  ).toBe(true);
  expect(s.report).toMatchObject({
    violations: [],
    complete: s.slots.filter((t) => !down(t)),
    rawOnly: [],
    lost: [],
    materialisedHours: [...hours(0, 1), T0 + 8 * HOUR],
  });
  expect(s.market.served).toHaveLength(47);
  expect(s.report.analyticsRows).toBe(36 * 6);
});

it("CoinGecko flapping every 10 minutes between down and unstable (503, connection reset, 200): each unstable slot gets its page after two retries, each down slot fails cleanly", async () => {
  // Arrange: 10-minute phases: unstable, 503s, unstable, unstable, dropped connections, unstable.
  const attempts = new Map<number, number>();
  const phase = (slot: number): number => Math.floor((slot - T0) / (10 * MINUTE)) % 6;
  const isDown = (slot: number): boolean => phase(slot) === 1 || phase(slot) === 4;
  const unstable: (ScriptedResponse | undefined)[] = [serverError(503), { destroy: true }, undefined];
  const answer = (_index: number, slot: number): ScriptedResponse | undefined => {
    const attempt = attempts.get(slot) ?? 0;
    attempts.set(slot, attempt + 1);
    if (!isDown(slot)) return unstable[attempt % 3];
    return phase(slot) === 1 ? serverError(503) : { destroy: true };
  };

  // Act: two retries per page: the two an unstable slot needs; a down slot gives up after that.
  const s = await scenario(3, answer, 2);

  // Assert
  const up = s.slots.filter((t) => !isDown(t));
  expect(up).toHaveLength(31);
  expect(s.failedSlots).toEqual(s.slots.filter(isDown));
  expect(up.every((t) => attempts.get(t) === 3)).toBe(true);
  expect(s.report).toMatchObject({ violations: [], complete: up, rawOnly: [], lost: [], materialisedHours: hours(0, 2) });
  expect(s.market.served).toHaveLength(31);
});

it("429 storms: waits as told and gets the page; a 60 s Retry-After beyond the budget is honoured by giving up after one request", async () => {
  // Arrange: hour 0 three 429s without Retry-After; hour 1 three with Retry-After 0 or a past date;
  // hour 2 Retry-After 60 s on every request; hour 3 two 200s carrying a 429 error object.
  const attempts = new Map<number, number>();
  const storm = (hour: number, slot: number): ScriptedResponse | undefined => {
    const attempt = attempts.get(slot) ?? 0;
    attempts.set(slot, attempt + 1);
    if (hour === 0) return attempt < 3 ? rateLimited() : undefined;
    if (hour === 1) return attempt < 3 ? rateLimited((slot / SLOT) % 2 === 0 ? "0" : "Tue, 03 Sep 2024 00:00:00 GMT") : undefined;
    if (hour === 2) return rateLimited("60");
    return attempt < 2
      ? { status: 200, headers: { "content-type": "application/json" }, body: errorBody(429, "You've exceeded the Rate Limit.") }
      : undefined;
  };

  // Act
  const s = await scenario(3, (_index, slot) => storm(Math.floor((slot - T0) / HOUR), slot));

  // Assert
  const inHour = (h: number) => s.slots.filter((t) => Math.floor((t - T0) / HOUR) === h);
  expect(s.failedSlots).toEqual(inHour(2));
  expect(inHour(2).map((t) => attempts.get(t))).toEqual(Array(12).fill(1));
  expect(
    s.run.status
      .filter((l) => l.includes(" FAILED "))
      .every((l) =>
        /CoinGecko kept rate limiting the requests \(HTTP 429\) on page 1: gave up after 1 attempt\(s\) .*; the next wait of \d+\.\d s would pass/.test(
          l,
        ),
      ),
  ).toBe(true);
  expect([...inHour(0), ...inHour(1)].map((t) => attempts.get(t))).toEqual(Array(24).fill(4));
  expect(inHour(3).map((t) => attempts.get(t))).toEqual(Array(11).fill(3));
  expect(s.report).toMatchObject({
    violations: [],
    complete: [...inHour(0), ...inHour(1), ...inHour(3)],
    rawOnly: [],
    lost: [],
    materialisedHours: hours(0, 1),
  });
  // The 200s carrying an error object were served too, and none reached raw/.
  expect(s.market.served).toHaveLength(24 + 11 * 3);
});

it("malformed pages between good ones (HTML, truncated JSON, an error object, an empty array, coins without ids): each fails its slot alone, none reaches the lake", async () => {
  // Arrange: a fixed pattern over the slots; every bad answer is a 200.
  const truncated = JSON.stringify([coin({ id: "bitcoin" }), coin({ id: "ethereum" })]);
  const bad: Record<string, ScriptedResponse> = {
    html: htmlPage(),
    truncated: {
      status: 200,
      headers: { "content-type": "application/json" },
      body: truncated.slice(0, Math.floor(truncated.length * 0.6)),
    },
    errorObject: {
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ error: "coin list temporarily unavailable" }),
    },
    empty: marketsPage([]),
    noIds: marketsPage([
      { symbol: "btc", current_price: 1 },
      { id: "", symbol: "eth" },
    ]),
  };
  const pattern = ["good", "html", "truncated", "good", "errorObject", "empty", "good", "noIds", "good", "good"];
  const kindOf = (slot: number): string => pattern[((slot - T0) / SLOT) % pattern.length];

  // Act
  const s = await scenario(2, (_index, slot) => bad[kindOf(slot)]);

  // Assert
  const good = s.slots.filter((t) => kindOf(t) === "good");
  expect(good).toHaveLength(17);
  expect(s.failedSlots).toEqual(s.slots.filter((t) => kindOf(t) !== "good"));
  const reasons: Record<string, RegExp> = {
    html: /CoinGecko page 1 is HTML or XML, not JSON/,
    truncated: /CoinGecko page 1 is not valid JSON \(truncated or corrupt/,
    errorObject: /CoinGecko answered HTTP 200 with an unexpected response \(CoinGecko: "coin list temporarily unavailable"\)/,
    empty: /CoinGecko page 1 is an empty array/,
    noIds: /CoinGecko snapshot has no coin with an id/,
  };
  const failed = s.run.status.filter((l) => l.includes(" FAILED "));
  expect(failed.map((l) => Object.keys(reasons).find((kind) => reasons[kind].test(l)))).toEqual(s.failedSlots.map(kindOf));
  expect(s.market.served).toHaveLength(s.slots.length);
  expect(s.report).toMatchObject({
    violations: [],
    complete: good,
    rawOnly: [],
    lost: [],
    materialisedHours: hours(0, 1),
    analyticsRows: good.filter((t) => t < T0 + 2 * HOUR).length * 6,
  });
});
