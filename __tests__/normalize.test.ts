import { CoinGeckoError, isCoinGeckoError } from "../functions/coingeckoErrors";
import { encodeNdjson, gzipNdjson, parseNdjsonGz, toNdjsonLine } from "../functions/ndjson";
import { errorBodyOf, normalizeSnapshot, parseMarketsPage, toDouble, toInt32, toInt64 } from "../functions/normalize";
import { PROCESSED_COLUMNS, ProcessedRow } from "../functions/schema";
import { coin, errorBody, fixtureBytes, fixtureCoins } from "./helpers/factories";

const CONTEXT = { vsCurrency: "usd", timestamp: 1725346800 };
const utf8 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "utf8"));

function parseFailure(body: Uint8Array, page = 2): CoinGeckoError {
  try {
    parseMarketsPage(body, page);
  } catch (err) {
    return err as CoinGeckoError;
  }
  throw new Error("parseMarketsPage accepted the body");
}

describe("parseMarketsPage", () => {
  it("accepts a real 250-coin page", () => {
    expect(parseMarketsPage(fixtureBytes("cgdata-page1-250.json"), 1)).toHaveLength(250);
  });

  it.each([
    ["an HTML page", "<!DOCTYPE html><html><body>Just a moment...</body></html>", /page 2 is HTML or XML, not JSON: <!DOCTYPE html>/],
    [
      "truncated JSON",
      fixtureBytes("cgdata-page1-250.json").subarray(0, 5000).toString("utf8"),
      /page 2 is not valid JSON \(truncated or corrupt, 5000 bytes\)/,
    ],
    [
      "a rate-limit error object",
      errorBody(429, "You've exceeded the Rate Limit."),
      /page 2 is an error object instead of coins: error_code 429 You've exceeded the Rate Limit\./,
    ],
    [
      "a nested error object",
      JSON.stringify({ error: { status: { error_code: 10002, error_message: "API Key Missing" } } }),
      /error_code 10002 API Key Missing/,
    ],
    ["a flat error string", JSON.stringify({ error: "invalid vs_currency" }), /error object instead of coins: invalid vs_currency/],
    ["an empty array", "[]", /page 2 is an empty array: zero coins is never a valid snapshot/],
    ["an empty body", "  \n", /page 2 is empty/],
    ["a JSON object that is no error", JSON.stringify({ coins: [] }), /page 2 is JSON but not an array of coins: \{"coins":\[\]\}/],
    ["a JSON string", JSON.stringify("bitcoin"), /not an array of coins/],
  ])("rejects %s with a message naming the page", (_case, body, message) => {
    const err = parseFailure(utf8(body));
    expect(isCoinGeckoError(err)).toBe(true);
    expect(err.kind).toBe("invalid-response");
    expect(err.page).toBe(2);
    expect(err.message).toMatch(message);
  });

  it("rejects bytes that are not UTF-8", () => {
    expect(parseFailure(new Uint8Array([0x5b, 0xff, 0xfe, 0x5d])).message).toMatch(/page 2 is not UTF-8 text/);
  });
});

describe("errorBodyOf", () => {
  it.each([
    [{ status: { error_code: 429, error_message: "slow down" } }, { code: 429, message: "slow down" }],
    [{ error: { status: { error_code: 10011, error_message: "demo key" } } }, { code: 10011, message: "demo key" }],
    [{ error_code: 10010 }, { code: 10010, message: undefined }],
    [{ error: "coin not found" }, { message: "coin not found" }],
    [[{ id: "bitcoin" }], undefined],
    [{ id: "bitcoin" }, undefined],
  ])("reads %j", (parsed, expected) => {
    expect(errorBodyOf(parsed)).toEqual(expected);
  });
});

describe("number coercion", () => {
  it.each([
    [27191, 27191],
    [8.64e-6, 8.64e-6],
    ["1.0e+15", 1e15],
    [" 42.5 ", 42.5],
    ["8.64e-06", 8.64e-6],
    [null, null],
    [undefined, null],
    ["", null],
    ["NaN", null],
    ["Infinity", null],
    ["abc", null],
    [true, null],
    [{ usd: 1 }, null],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
  ])("toDouble(%p) is %p", (input, expected) => {
    expect(toDouble(input)).toBe(expected);
  });

  it.each([
    [527458103541, 527458103541],
    [1758930047.5, 1758930048],
    ["1.0e+17", 1e17],
    [2 ** 63 - 1024, 2 ** 63 - 1024],
    [2 ** 63, null],
    [1e21, null],
    [-(2 ** 63), -(2 ** 63)],
    [null, null],
  ])("toInt64(%p) is %p", (input, expected) => {
    expect(toInt64(input)).toBe(expected);
  });

  it.each([
    [1, 1],
    ["3", 3],
    [1.0, 1],
    [1.5, null],
    [2 ** 31, null],
    [null, null],
  ])("toInt32(%p) is %p", (input, expected) => {
    expect(toInt32(input)).toBe(expected);
  });
});

describe("normalizeSnapshot", () => {
  it("maps a real 250-coin page to 250 typed rows", () => {
    const { rows, counts } = normalizeSnapshot([fixtureCoins("cgdata-page1-250.json")], CONTEXT);

    expect(counts).toEqual({ input: 250, kept: 250, droppedNoId: 0, droppedDuplicate: 0 });
    const columns = PROCESSED_COLUMNS.map((c) => c.name).sort();
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(columns);
      expect(typeof row.id).toBe("string");
      expect(row.vs_currency).toBe("usd");
      expect(row.timestamp).toBe(CONTEXT.timestamp);
      for (const c of PROCESSED_COLUMNS) {
        const value = row[c.name as keyof ProcessedRow];
        if (value === null) continue;
        if (c.type === "string") expect(typeof value).toBe("string");
        if (c.type === "double") expect(Number.isFinite(value)).toBe(true);
        if (c.type === "bigint" || c.type === "int") expect(Number.isInteger(value)).toBe(true);
      }
      // The recording did not ask for the *_in_currency fields.
      expect(row.price_change_pct_1h).toBeNull();
      expect(row.price_change_pct_7d).toBeNull();
    }
    expect(rows.map((r) => r.market_cap_rank)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(rows[0]).toMatchObject({
      id: "bitcoin",
      symbol: "btc",
      name: "Bitcoin",
      current_price: 27191,
      market_cap: 527458103541,
      volume_24h: 177859514325,
      price_change_pct_24h: -0.28006,
    });
    // Exponent notation in the raw text (current_price 8.64e-06) comes through as a number.
    expect(rows.some((r) => r.current_price === 8.64e-6)).toBe(true);
    // Nulls in the recording (fully_diluted_valuation on 67 coins) stay null.
    expect(rows.filter((r) => r.fully_diluted_valuation === null)).toHaveLength(67);
  });

  it("takes 1h/24h/7d changes from the *_in_currency fields of the official example", () => {
    const { rows } = normalizeSnapshot([fixtureCoins("oas-example-coins-markets.json")], CONTEXT);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      price_change_pct_1h: 0.5823392426906319,
      price_change_pct_24h: -0.9530164743774191,
      price_change_pct_7d: -4.042267423689584,
      circulating_supply: 20030493,
      last_updated: "2026-05-18T12:49:21.599Z",
    });
  });

  it("maps the pretty-printed 5-coin recording", () => {
    const { rows, counts } = normalizeSnapshot([fixtureCoins("recorded-5-coins.json")], { vsCurrency: "eur", timestamp: 1672678800 });
    expect(counts.kept).toBe(5);
    expect(rows.map((r) => [r.id, r.market_cap_rank])).toEqual([
      ["bitcoin", 1],
      ["ethereum", 2],
      ["tether", 3],
      ["usd-coin", 4],
      ["binancecoin", 5],
    ]);
    expect(rows[1]).toMatchObject({
      current_price: 1218.19,
      market_cap: 146770392298,
      price_change_pct_24h: 1.6898,
      vs_currency: "eur",
      timestamp: 1672678800,
    });
  });

  it("drops and counts elements without a usable id", () => {
    const page = [
      coin({ id: "kept" }),
      coin({ id: undefined }),
      coin({ id: null }),
      coin({ id: 42 }),
      coin({ id: "" }),
      null,
      7,
      "bitcoin",
      [coin()],
    ];
    const { rows, counts } = normalizeSnapshot([page], CONTEXT);
    expect(rows.map((r) => r.id)).toEqual(["kept"]);
    expect(counts).toEqual({ input: 9, kept: 1, droppedNoId: 8, droppedDuplicate: 0 });
  });

  it("coerces adversarial values column by column", () => {
    const { rows } = normalizeSnapshot(
      [
        [
          coin({
            id: "weird",
            symbol: null,
            name: 5,
            current_price: "1.5e-7",
            market_cap: 1e21,
            market_cap_rank: "12",
            fully_diluted_valuation: "9.2e18",
            total_volume: 1234.5,
            high_24h: "Infinity",
            low_24h: {},
            price_change_percentage_1h_in_currency: "NaN",
            price_change_percentage_24h_in_currency: null,
            price_change_percentage_24h: "-3.5",
            price_change_percentage_7d_in_currency: 1e-7,
            circulating_supply: "1.0e+15",
            last_updated: 1685880000,
          }),
        ],
      ],
      CONTEXT,
    );
    expect(rows[0]).toEqual({
      id: "weird",
      symbol: "",
      name: "",
      current_price: 1.5e-7,
      market_cap: null,
      market_cap_rank: 12,
      fully_diluted_valuation: 9.2e18,
      volume_24h: 1235,
      high_24h: null,
      low_24h: null,
      price_change_pct_1h: null,
      price_change_pct_24h: -3.5,
      price_change_pct_7d: 1e-7,
      circulating_supply: 1e15,
      last_updated: null,
      vs_currency: "usd",
      timestamp: CONTEXT.timestamp,
      source: "live",
    });
  });

  it("keeps the best-ranked copy of an id seen on two pages, at its first position", () => {
    const page1 = [
      coin({ id: "a", market_cap_rank: 1 }),
      coin({ id: "drifter", market_cap_rank: 250, current_price: 1 }),
      coin({ id: "tie", market_cap_rank: 7, current_price: 1 }),
    ];
    const page2 = [
      coin({ id: "drifter", market_cap_rank: 249, current_price: 2 }),
      coin({ id: "tie", market_cap_rank: 7, current_price: 2 }),
      coin({ id: "b", market_cap_rank: 251 }),
      coin({ id: "a", market_cap_rank: null }),
    ];
    const { rows, counts } = normalizeSnapshot([page1, page2], CONTEXT);
    expect(rows.map((r) => [r.id, r.market_cap_rank, r.current_price])).toEqual([
      ["a", 1, 27191.5],
      ["drifter", 249, 2],
      ["tie", 7, 1],
      ["b", 251, 27191.5],
    ]);
    expect(counts).toEqual({ input: 7, kept: 4, droppedNoId: 0, droppedDuplicate: 3 });
  });
});

describe("NDJSON", () => {
  const [row] = normalizeSnapshot(
    [[coin({ market_cap: 2 ** 63 - 1024, fully_diluted_valuation: 1e17, total_volume: null })]],
    CONTEXT,
  ).rows;

  it("writes the columns in schema order with integers as plain digits", () => {
    const line = toNdjsonLine(row);
    expect(Object.keys(JSON.parse(line))).toEqual(PROCESSED_COLUMNS.map((c) => c.name));
    expect(line).toContain('"market_cap":9223372036854774784,');
    expect(line).toContain('"fully_diluted_valuation":100000000000000000,');
    expect(line).toContain('"volume_24h":null,');
    expect(line).toContain(`"timestamp":${CONTEXT.timestamp},"source":"live"}`);
    expect(line).not.toMatch(/"(market_cap|fully_diluted_valuation|volume_24h|market_cap_rank|timestamp)":-?\d+(\.\d+)?e/i);
  });

  it("round-trips through gzip and gives identical bytes for identical rows", () => {
    const rows = normalizeSnapshot([fixtureCoins("cgdata-page1-250.json")], CONTEXT).rows;
    const gz = gzipNdjson(rows);
    expect([...gz.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(Buffer.from(gzipNdjson(rows)).equals(Buffer.from(gz))).toBe(true);
    const parsed = parseNdjsonGz(gz);
    expect(parsed).toHaveLength(250);
    expect(parsed[0]).toEqual(JSON.parse(toNdjsonLine(rows[0])));
    expect(encodeNdjson(rows).endsWith("\n")).toBe(true);
  });
});
