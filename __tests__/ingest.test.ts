import { createHash } from "crypto";
import { createCoinGeckoSource } from "../functions/coingeckoClient";
import { CoinGeckoError, isCoinGeckoError } from "../functions/coingeckoErrors";
import { PROCESSED_CONTENT_TYPE, runIngest, scheduledTimeOf, SnapshotSource } from "../functions/ingest";
import { LocalObjectStore } from "../functions/localObjectStore";
import { parseNdjsonGz } from "../functions/ndjson";
import { ObjectStore, PutOptions } from "../functions/objectStore";
import { processedKey, rawKey, rawRequestKey } from "../functions/partitions";
import { CoinGeckoStandIn, ScriptedResponse, startCoinGeckoStandIn } from "./helpers/coingeckoStandIn";
import {
  coin,
  errorBody,
  errorCodeResponse,
  FAST_RETRY_OPTIONS,
  fixtureBytes,
  fixtureCoins,
  fixturePage,
  htmlPage,
  makeTempDir,
  marketsPage,
  rateLimited,
  recorder,
  removeTempDir,
  ruleEvent,
  scheduledEvent,
  serverError,
} from "./helpers/factories";

const KEY = "CG-ingestTestKey987654";
/** 2024-09-03T07:00:00Z, the slot of every run below. */
const SLOT = 1725346800;
/** A scheduled time inside that slot, not on its boundary. */
const SCHEDULED = new Date("2024-09-03T07:02:13Z");

let lake: string;
let standIn: CoinGeckoStandIn | undefined;
beforeEach(() => {
  lake = makeTempDir("ingest-lake");
});
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
  removeTempDir(lake);
});

async function ingestOnce(
  responses: ScriptedResponse[],
  options: { topN?: number; fallback?: ScriptedResponse; store?: ObjectStore } = {},
) {
  standIn ??= await startCoinGeckoStandIn({ fallback: options.fallback });
  standIn.enqueue(...responses);
  const rec = recorder([KEY]);
  const source = createCoinGeckoSource({
    ...FAST_RETRY_OPTIONS,
    maxRetries: 3,
    plan: "demo",
    apiKey: KEY,
    baseUrl: standIn.baseUrl,
    topN: options.topN,
  });
  const store = options.store ?? new LocalObjectStore(lake);
  const run = runIngest({ store, source, scheduledTime: SCHEDULED, vsCurrency: "usd", logger: rec.logger, metrics: rec.metrics });
  return { run, rec, store };
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

async function objects(store: ObjectStore): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const key of await store.list("")) out.set(key, Buffer.from((await store.get(key)) ?? new Uint8Array()));
  return out;
}

/** A LocalObjectStore on the lake that records each putIfAbsent's key and options, in order. */
function recordingStore(): { store: ObjectStore; puts: [string, PutOptions | undefined][] } {
  const puts: [string, PutOptions | undefined][] = [];
  const local = new LocalObjectStore(lake);
  const store: ObjectStore = {
    putIfAbsent: (key, body, options) => {
      puts.push([key, options]);
      return local.putIfAbsent(key, body);
    },
    put: (key, body) => local.put(key, body),
    get: (key) => local.get(key),
    list: (prefix) => local.list(prefix),
  };
  return { store, puts };
}

function metric(rec: ReturnType<typeof recorder>, name: string): unknown[] {
  return rec
    .emf()
    .filter((r) => name in r)
    .map((r) => r[name]);
}

describe("runIngest with the CoinGecko stand-in", () => {
  it("writes a real 250-coin page: exact raw bytes, a request record and 250 typed rows", async () => {
    const { run, rec, store } = await ingestOnce([fixturePage("cgdata-page1-250.json")]);
    const result = await run;

    const rawPath = "raw/year=2024/month=9/day=3/hour=7/1725346800.json";
    const processedPath = "processed/year=2024/month=9/day=3/hour=7/1725346800.ndjson.gz";
    expect(result).toEqual({ timestamp: SLOT, status: "written", coins: 250, dropped: 0, rawKeys: [rawPath], processedKey: processedPath });
    expect(await store.list("")).toEqual([processedPath, rawPath, "raw/year=2024/month=9/day=3/hour=7/1725346800.request.json"]);

    const raw = fixtureBytes("cgdata-page1-250.json");
    expect(Buffer.from((await store.get(rawPath))!).equals(raw)).toBe(true);

    const rows = parseNdjsonGz((await store.get(processedPath))!);
    expect(rows).toHaveLength(250);
    expect(rows[0]).toMatchObject({
      id: "bitcoin",
      current_price: 27191,
      market_cap: 527458103541,
      market_cap_rank: 1,
      vs_currency: "usd",
      timestamp: SLOT,
    });
    expect(rows.every((r) => r.timestamp === SLOT && r.vs_currency === "usd")).toBe(true);

    const recordText = Buffer.from((await store.get(rawRequestKey(SLOT)))!).toString("utf8");
    expect(recordText).not.toContain(KEY);
    const record = JSON.parse(recordText);
    expect(record).toMatchObject({
      timestamp: SLOT,
      scheduledTime: "2024-09-03T07:02:13.000Z",
      retries: 0,
      request: { url: `${standIn!.baseUrl}/coins/markets`, params: { vs_currency: "usd", per_page: 250 }, pages: 1, plan: "demo" },
      pages: [{ page: 1, key: rawPath, bytes: raw.length, sha256: sha256(raw) }],
      counts: { input: 250, kept: 250, droppedNoId: 0, droppedDuplicate: 0 },
    });

    expect(rec.logs().find((l) => l.message === "snapshot written")).toMatchObject({ level: "info", timestamp: SLOT, coins: 250 });
    expect(metric(rec, "SnapshotsWritten")).toEqual([1]);
    expect(metric(rec, "CoinsPerSnapshot")).toEqual([250]);
    expect(metric(rec, "RowsDropped")).toEqual([0]);
    expect(metric(rec, "FetchRetries")).toEqual([0]);
    expect(metric(rec, "DuplicateDeliveries")).toEqual([0]);
    expect(metric(rec, "FetchLatency")).toHaveLength(1);
  });

  it("writes both pages of a 500-coin snapshot, page 1 last (so a stored page 1 proves the snapshot whole), and one processed file", async () => {
    const { store: spy, puts } = recordingStore();
    const { run, store } = await ingestOnce([fixturePage("cgdata-page1-250.json"), fixturePage("cgdata-page2-250.json")], {
      topN: 500,
      store: spy,
    });
    const result = await run;

    expect(puts.map(([key]) => key)).toEqual([rawKey(SLOT, 2), rawKey(SLOT, 1), rawRequestKey(SLOT), processedKey(SLOT)]);
    expect(result.rawKeys).toEqual([rawKey(SLOT, 1), rawKey(SLOT, 2)]);
    expect(result.coins).toBe(500);
    expect(Buffer.from((await store.get(rawKey(SLOT, 2)))!).equals(fixtureBytes("cgdata-page2-250.json"))).toBe(true);
    const rows = parseNdjsonGz((await store.get(processedKey(SLOT)))!);
    expect(rows.map((r) => r.market_cap_rank)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it("dedupes a coin that moved between pages while they were fetched, keeping its better rank", async () => {
    const page1 = fixtureCoins("cgdata-page1-250.json");
    const page2 = fixtureCoins("cgdata-page2-250.json");
    // Page 2 was fetched after solana dropped from rank 10 to 251; and it repeats two of page 1's coins.
    const movedDown = { ...page1.find((c) => c.id === "solana")!, market_cap_rank: 251 };
    const repeated = page1.slice(248, 250);
    const page2Shifted = [movedDown, ...repeated, ...page2.slice(0, 247)];
    const { run, store } = await ingestOnce([fixturePage("cgdata-page1-250.json"), marketsPage(page2Shifted)], { topN: 500 });
    const result = await run;

    expect(result.coins).toBe(497);
    expect(result.dropped).toBe(3);
    const rows = parseNdjsonGz((await store.get(processedKey(SLOT)))!);
    expect(rows.filter((r) => r.id === "solana")).toEqual([expect.objectContaining({ market_cap_rank: 10 })]);
    expect(new Set(rows.map((r) => r.id)).size).toBe(497);
  });

  it("keeps nulls, reads exponent notation and drops rows without an id", async () => {
    const coins = [
      coin({ id: "tiny", current_price: 8.64e-6, market_cap: "1.0e+15", fully_diluted_valuation: null }),
      coin({ id: undefined, name: "no id" }),
      coin({ id: null }),
      ...fixtureCoins("recorded-5-coins.json"),
    ];
    const body = JSON.stringify(coins).replace('"current_price":0.00000864', '"current_price":8.64e-06');
    const { run, rec, store } = await ingestOnce([{ status: 200, body }]);
    const result = await run;

    expect(result).toMatchObject({ coins: 6, dropped: 2 });
    expect(Buffer.from((await store.get(rawKey(SLOT)))!).toString("utf8")).toContain('"current_price":8.64e-06');
    const rows = parseNdjsonGz((await store.get(processedKey(SLOT)))!);
    expect(rows[0]).toMatchObject({ id: "tiny", current_price: 8.64e-6, market_cap: 1e15, fully_diluted_valuation: null });
    expect(metric(rec, "RowsDropped")).toEqual([2]);
  });

  it("counts the retries a snapshot needed", async () => {
    const { run, rec } = await ingestOnce([rateLimited("0"), serverError(503), fixturePage("recorded-5-coins.json")]);
    await run;
    expect(metric(rec, "FetchRetries")).toEqual([2]);
  });

  describe("writes nothing and throws when", () => {
    it.each([
      ["the body is HTML", [htmlPage(200)], undefined, "invalid-response", /page 1 is HTML or XML/],
      [
        "the JSON is truncated",
        [{ status: 200, body: fixtureBytes("cgdata-page1-250.json").subarray(0, 70_000) }],
        undefined,
        "invalid-response",
        /page 1 is not valid JSON \(truncated/,
      ],
      ["the array is empty", [{ status: 200, body: "[]" }], undefined, "invalid-response", /zero coins is never a valid snapshot/],
      [
        "no coin has an id",
        [marketsPage([coin({ id: null }), coin({ id: "" })])],
        undefined,
        "invalid-response",
        /no coin with an id \(2 elements, all dropped\)/,
      ],
      [
        "a 200 carries a rate-limit error object forever",
        [],
        { status: 200, body: errorBody(429, "Rate limited") },
        "rate-limited",
        /kept rate limiting/,
      ],
      ["CoinGecko rate limits forever", [], rateLimited(), "rate-limited", /kept rate limiting/],
      ["CoinGecko stays down", [], serverError(500), "unavailable", /stayed unavailable \(HTTP 500\)/],
      ["the key is missing (10002)", [errorCodeResponse(401, 10002, "API Key Missing")], undefined, "configuration", /error 10002/],
      [
        "the key is for the other host (10011)",
        [errorCodeResponse(401, 10011, "Demo key on pro host")],
        undefined,
        "configuration",
        /error 10011/,
      ],
      [
        "page 2 is HTML after a valid page 1",
        [fixturePage("cgdata-page1-250.json"), htmlPage(200)],
        undefined,
        "invalid-response",
        /page 2 is HTML/,
      ],
    ] as [string, ScriptedResponse[], ScriptedResponse | undefined, string, RegExp][])(
      "%s",
      async (_case, responses, fallback, kind, message) => {
        const { run, rec, store } = await ingestOnce(responses, { topN: responses.length > 1 ? 500 : 250, fallback });

        const err = await run.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isCoinGeckoError(err)).toBe(true);
        expect((err as CoinGeckoError).kind).toBe(kind);
        expect((err as Error).message).toMatch(message);
        expect(await store.list("")).toEqual([]);
        const failed = rec.logs().find((l) => l.message === "ingest failed");
        expect(failed).toMatchObject({ level: "error", timestamp: SLOT, kind, errorName: "CoinGeckoError" });
        expect(rec.logLines.join("\n")).not.toContain(KEY);
        expect(metric(rec, "SnapshotsWritten")).toEqual([0]);
      },
    );
  });

  it("leaves every object unchanged when the same event is delivered twice", async () => {
    const first = await ingestOnce([fixturePage("cgdata-page1-250.json")]);
    await first.run;
    const before = await objects(first.store);

    // The re-delivery fetches a different answer; what was stored must win.
    const second = await ingestOnce([fixturePage("recorded-5-coins.json")]);
    const result = await second.run;

    expect(result).toMatchObject({ status: "already-written", coins: 250, processedKey: processedKey(SLOT) });
    const after = await objects(second.store);
    expect([...after.keys()]).toEqual([...before.keys()]);
    expect(after.size).toBe(3);
    for (const [key, bytes] of before) expect(after.get(key)!.equals(bytes)).toBe(true);
    expect(second.rec.logs().some((l) => l.message === "snapshot already written")).toBe(true);
    expect(metric(second.rec, "SnapshotsWritten")).toEqual([0]);
    expect(metric(second.rec, "DuplicateDeliveries")).toEqual([1]);
  });

  it("derives processed rows from the stored raw page after a crash between raw and processed", async () => {
    const store = new LocalObjectStore(lake);
    const storedRaw = fixtureBytes("cgdata-page1-250.json");
    await store.putIfAbsent(rawKey(SLOT), storedRaw);

    const { run } = await ingestOnce([fixturePage("recorded-5-coins.json")], { store });
    const result = await run;

    expect(result).toMatchObject({ status: "written", coins: 250 });
    expect(Buffer.from((await store.get(rawKey(SLOT)))!).equals(storedRaw)).toBe(true);
    expect(parseNdjsonGz((await store.get(processedKey(SLOT)))!)).toHaveLength(250);
    const record = JSON.parse(Buffer.from((await store.get(rawRequestKey(SLOT)))!).toString("utf8"));
    expect(record.pages[0]).toMatchObject({ bytes: storedRaw.length, sha256: sha256(storedRaw) });
  });

  it("writes processed objects as gzip files, raw ones as JSON", async () => {
    const { store: spy, puts } = recordingStore();
    const { run } = await ingestOnce([fixturePage("recorded-5-coins.json")], { store: spy });
    await run;
    expect(puts).toEqual([
      [rawKey(SLOT), { contentType: "application/json" }],
      [rawRequestKey(SLOT), { contentType: "application/json" }],
      [processedKey(SLOT), { contentType: PROCESSED_CONTENT_TYPE }],
    ]);
  });
});

describe("runIngest with other sources", () => {
  it("accepts epoch milliseconds and floors them to the slot", async () => {
    const store = new LocalObjectStore(lake);
    const rec = recorder();
    const slots: number[] = [];
    const source: SnapshotSource = async (slot) => {
      slots.push(slot);
      return {
        pages: [{ page: 1, body: new Uint8Array(fixtureBytes("recorded-5-coins.json")) }],
        request: { synthetic: true },
        fetchedAt: "2024-09-03T07:04:59Z",
        retries: 0,
        latencyMs: 1,
      };
    };
    const result = await runIngest({
      store,
      source,
      scheduledTime: Date.parse("2024-09-03T07:04:59.999Z"),
      vsCurrency: "btc",
      logger: rec.logger,
      metrics: rec.metrics,
    });
    expect(slots).toEqual([SLOT]);
    expect(result.timestamp).toBe(SLOT);
    expect(parseNdjsonGz((await store.get(processedKey(SLOT)))!)[0]).toMatchObject({ vs_currency: "btc" });
  });

  it("throws when a source returns no pages", async () => {
    const rec = recorder();
    const source: SnapshotSource = async () => ({ pages: [], request: {}, fetchedAt: "", retries: 0, latencyMs: 0 });
    await expect(
      runIngest({
        store: new LocalObjectStore(lake),
        source,
        scheduledTime: SCHEDULED,
        vsCurrency: "usd",
        logger: rec.logger,
        metrics: rec.metrics,
      }),
    ).rejects.toThrow("snapshot source returned no pages for slot 1725346800");
  });
});

describe("scheduledTimeOf", () => {
  const now = Date.parse("2024-09-03T08:00:00Z");

  it.each([
    ["an EventBridge Scheduler input", scheduledEvent("2024-09-03T07:05:00Z"), "2024-09-03T07:05:00.000Z"],
    ["an EventBridge rule event", ruleEvent("2024-09-03T07:10:00Z"), "2024-09-03T07:10:00.000Z"],
    ["an offset time", scheduledEvent("2024-09-03T09:15:00+02:00"), "2024-09-03T07:15:00.000Z"],
    ["an empty event (a manual test invoke)", {}, "2024-09-03T08:00:00.000Z"],
    ["no event at all", undefined, "2024-09-03T08:00:00.000Z"],
  ])("reads %s", (_case, event, expected) => {
    expect(scheduledTimeOf(event, now).toISOString()).toBe(expected);
  });

  it.each([
    [
      scheduledEvent("<aws.scheduler.scheduled-time>"),
      /event field scheduledTime must be an ISO-8601 time with a zone, e\.g\. 2024-09-03T07:05:00Z; got "<aws\.scheduler\.scheduled-time>"/,
    ],
    [scheduledEvent("2024-09-03T07:05:00"), /got "2024-09-03T07:05:00"/],
    [{ scheduledTime: 1725346800 }, /scheduledTime must be an ISO-8601 time with a zone.*got 1725346800/],
    [ruleEvent("yesterday"), /event field time must be an ISO-8601 time/],
  ])("refuses %j instead of silently using now", (event, message) => {
    expect(() => scheduledTimeOf(event, now)).toThrow(message);
  });
});
