/**
 * Property-based tests (fast-check) of the page parser, the normaliser and the NDJSON writer, on arbitrary
 * input: any JSON text, any bytes, arrays of arbitrary values, and objects with CoinGecko's keys holding
 * anything (numbers, exponent strings, huge integers written as JSON literals, NaN-ish strings, nested
 * objects, null).
 *
 * Proven for every input fast-check finds:
 * - the parser either returns a non-empty array or throws the documented `invalid-response` CoinGeckoError;
 *   the normaliser and the writer never throw;
 * - every row fits PROCESSED_COLUMNS: exactly its columns, a non-empty string id, strings where strings
 *   belong, doubles finite or null, bigints integers within int64, ints within int32, the snapshot's
 *   currency and timestamp;
 * - the gzipped NDJSON has one line per row matching the columns' grammar exactly (integers as plain digits,
 *   never `1e+21`) and reads back to the same values;
 * - counts add up (input = kept + dropped) and the kept rows are the distinct ids in order of first
 *   appearance, each from its best-ranked occurrence;
 * - a whole ingest of such pages either writes the snapshot or fails with `invalid-response` leaving
 *   nothing in the lake.
 */
import * as fs from "fs";
import * as path from "path";
import { gunzipSync } from "zlib";
import * as fc from "fast-check";
import { isCoinGeckoError } from "../functions/coingeckoErrors";
import { runIngest } from "../functions/ingest";
import { LocalObjectStore } from "../functions/localObjectStore";
import { gzipNdjson, parseNdjsonGz } from "../functions/ndjson";
import { normalizeSnapshot, parseMarketsPage, SnapshotContext } from "../functions/normalize";
import { ColumnType, PROCESSED_COLUMNS, ProcessedRow } from "../functions/schema";
import { makeTempDir, recorder, removeTempDir } from "./helpers/factories";

const CONTEXT: SnapshotContext = { vsCurrency: "usd", timestamp: 1725347100 };
const INT64_LIMIT = 2 ** 63;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const RUNS = { numRuns: 300 };

/** CoinGecko's keys whose values the normaliser reads. */
const COIN_KEYS = [
  "current_price",
  "market_cap",
  "market_cap_rank",
  "fully_diluted_valuation",
  "total_volume",
  "high_24h",
  "low_24h",
  "price_change_percentage_1h_in_currency",
  "price_change_percentage_24h_in_currency",
  "price_change_percentage_24h",
  "price_change_percentage_7d_in_currency",
  "circulating_supply",
  "last_updated",
] as const;

/** Numeric text as CoinGecko (or a broken proxy) might send it. */
const numericText = fc.oneof(
  fc.constantFrom("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1.0e+15", "8.64e-06", "", " ", "0x1F", "1_000", "1,5", "١٢"),
  fc.constantFrom(
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "2147483647",
    "2147483648",
    "-2147483649",
    "1.5",
    "-0",
  ),
  fc.double().map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
);

/** A value of a CoinGecko field: numbers of every kind, numeric or other text, null, nested JSON. */
const fieldValue = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER, 2 ** 63, -(2 ** 63), 2 ** 63 - 1024, 2 ** 31, INT32_MIN, 1e21, 5e-324),
  numericText,
  fc.string(),
  fc.constant(null),
  fc.boolean(),
  fc.jsonValue({ maxDepth: 2 }),
);

/** An `id` as it might come: a few real-looking ids (so duplicates happen), any string, or not a string. */
const idValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("bitcoin", "ethereum", "tether", "x") },
  { weight: 2, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.oneof(fc.constant(""), fc.constant(null), fc.integer(), fc.jsonValue({ maxDepth: 1 })) },
);

/** A CoinGecko-like coin: any subset of its keys with any values, plus arbitrary extra keys. */
const coinLike = fc
  .tuple(
    fc.record(
      {
        id: idValue,
        symbol: fc.oneof(fc.string(), fieldValue),
        name: fc.oneof(fc.string(), fieldValue),
        ...Object.fromEntries(COIN_KEYS.map((k) => [k, fieldValue])),
      },
      { requiredKeys: [] },
    ),
    fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  )
  .map(([coin, extra]) => ({ ...extra, ...coin }));

/** A page element: mostly coin-like objects, sometimes anything JSON can hold. */
const element = fc.oneof({ weight: 5, arbitrary: coinLike }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });

/** A JSON number literal as text, including ones JavaScript cannot hold exactly (huge, tiny, 1e400). */
const numberLiteral = fc
  .tuple(
    fc.boolean(),
    fc.stringMatching(/^(0|[1-9][0-9]{0,30})$/),
    fc.option(fc.stringMatching(/^[0-9]{1,20}$/)),
    fc.option(fc.integer({ min: -400, max: 400 })),
  )
  .map(
    ([negative, digits, fraction, exponent]) =>
      `${negative ? "-" : ""}${digits}${fraction === null ? "" : `.${fraction}`}${exponent === null ? "" : `e${exponent}`}`,
  );

/** A page whose numeric fields are written as raw JSON literals (what JSON.stringify could never produce). */
const literalPage = fc
  .array(
    fc.tuple(
      fc.constantFrom("bitcoin", "ethereum", "solana"),
      fc.subarray([...COIN_KEYS.filter((k) => k !== "last_updated")], { minLength: 1 }),
      fc.array(numberLiteral, { minLength: 12, maxLength: 12 }),
    ),
    {
      minLength: 1,
      maxLength: 5,
    },
  )
  .map(
    (coins) =>
      `[${coins.map(([id, keys, literals]) => `{"id":"${id}",${keys.map((k, i) => `"${k}":${literals[i]}`).join(",")}}`).join(",")}]`,
  );

/** Any body a 200 might carry. */
const body: fc.Arbitrary<Uint8Array> = fc
  .oneof(
    { weight: 4, arbitrary: fc.array(element, { maxLength: 8 }).map((coins) => JSON.stringify(coins)) },
    { weight: 2, arbitrary: literalPage },
    { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary" }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "",
        "[]",
        "{}",
        "null",
        "<html>busy</html>",
        '{"status":{"error_code":429,"error_message":"slow down"}}',
        '[{"id":"a"}',
      ),
    },
  )
  .map((text) => new Uint8Array(Buffer.from(text, "utf8")))
  .chain((bytes) => fc.oneof({ weight: 9, arbitrary: fc.constant(bytes) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) }));

/** One column's value checked against its Glue type. */
function fitsType(type: ColumnType, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "double":
      return value === null || (typeof value === "number" && Number.isFinite(value));
    case "bigint":
      return value === null || (typeof value === "number" && Number.isInteger(value) && value >= -INT64_LIMIT && value < INT64_LIMIT);
    case "int":
      return value === null || (typeof value === "number" && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX);
  }
}

/** Rows that break the schema, with the reason. */
function schemaViolations(rows: readonly ProcessedRow[]): string[] {
  const names = PROCESSED_COLUMNS.map((c) => c.name);
  const problems: string[] = [];
  for (const row of rows) {
    const r = row as unknown as Record<string, unknown>;
    if (JSON.stringify(Object.keys(r).sort()) !== JSON.stringify([...names].sort())) problems.push(`columns ${Object.keys(r).join(",")}`);
    if (typeof r.id !== "string" || r.id === "") problems.push(`empty id ${JSON.stringify(r.id)}`);
    for (const { name, type } of PROCESSED_COLUMNS) {
      // last_updated is the one nullable string column.
      const ok = name === "last_updated" ? r[name] === null || typeof r[name] === "string" : fitsType(type, r[name]);
      if (!ok) problems.push(`${name}=${String(r[name])} is not a ${type}`);
    }
    if (r.vs_currency !== CONTEXT.vsCurrency || r.timestamp !== CONTEXT.timestamp) problems.push("snapshot fields differ");
  }
  return problems;
}

/** One NDJSON line's exact grammar: the columns in file order, integers as plain digits. */
const LINE = (() => {
  const str = String.raw`"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"`;
  const value: Record<ColumnType, string> = {
    string: str,
    double: String.raw`(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:e[+-]\d+)?|null)`,
    bigint: String.raw`(?:-?(?:0|[1-9]\d*)|null)`,
    int: String.raw`(?:-?(?:0|[1-9]\d*)|null)`,
  };
  const fields = PROCESSED_COLUMNS.map(({ name, type }) => `"${name}":${name === "last_updated" ? `(?:${str}|null)` : value[type]}`);
  return new RegExp(`^\\{${fields.join(",")}\\}$`);
})();

/** What the normaliser must keep: distinct non-empty string ids in order of first appearance. */
function expectedIds(pages: readonly unknown[][]): string[] {
  const ids = pages
    .flat()
    .flatMap((e) =>
      typeof e === "object" &&
      e !== null &&
      !Array.isArray(e) &&
      typeof (e as { id?: unknown }).id === "string" &&
      (e as { id: string }).id !== ""
        ? [(e as { id: string }).id]
        : [],
    );
  return [...new Set(ids)];
}

/** Parses every page, or returns the documented error it threw. */
function parsePages(bodies: readonly Uint8Array[]): unknown[][] | Error {
  try {
    return bodies.map((b, i) => parseMarketsPage(b, i + 1));
  } catch (err) {
    return err as Error;
  }
}

describe("page parser", () => {
  test("any bytes: a non-empty array, or the documented invalid-response error naming the page", () => {
    fc.assert(
      fc.property(body, (bytes) => {
        const parsed = parsePages([bytes]);
        if (parsed instanceof Error) {
          expect(isCoinGeckoError(parsed) && parsed.kind).toBe("invalid-response");
          expect(parsed.message).toMatch(/^CoinGecko page 1 (is|is an error object)/);
          return;
        }
        expect(Array.isArray(parsed[0]) && parsed[0].length > 0).toBe(true);
      }),
      RUNS,
    );
  });
});

describe("normaliser and NDJSON writer", () => {
  test("parsed pages of any body give schema-valid rows, counts that add up, and NDJSON of the exact grammar that reads back", () => {
    // What the generated inputs exercised, so the property cannot hold vacuously.
    const seen = { refused: 0, rows: 0, dropped: 0, beyondSafeInteger: 0, nulledNumbers: 0 };
    fc.assert(
      fc.property(fc.array(body, { minLength: 1, maxLength: 3 }), (bodies) => {
        const pages = parsePages(bodies);
        if (pages instanceof Error) {
          expect(isCoinGeckoError(pages) && pages.kind).toBe("invalid-response");
          seen.refused += 1;
          return;
        }
        const { rows, counts } = normalizeSnapshot(pages, CONTEXT);
        seen.rows += rows.length;
        seen.dropped += counts.droppedNoId + counts.droppedDuplicate;
        seen.beyondSafeInteger += rows.filter((r) => Math.abs(r.market_cap ?? 0) > Number.MAX_SAFE_INTEGER).length;
        seen.nulledNumbers += rows.filter((r) => r.current_price === null && r.market_cap === null).length;
        expect(schemaViolations(rows)).toEqual([]);
        expect(counts.input).toBe(pages.flat().length);
        expect(counts.kept).toBe(rows.length);
        expect(counts.input).toBe(counts.kept + counts.droppedNoId + counts.droppedDuplicate);
        expect(rows.map((r) => r.id)).toEqual(expectedIds(pages));

        const gz = gzipNdjson(rows);
        const lines = gunzipSync(gz).toString("utf8").split("\n");
        expect(lines.pop()).toBe("");
        expect(lines).toHaveLength(rows.length);
        for (const line of lines) expect(line).toMatch(LINE);
        // -0 prints as 0 in JSON, so compare with the rows as JSON holds them.
        expect(parseNdjsonGz(gz)).toEqual(JSON.parse(JSON.stringify(rows)));
      }),
      RUNS,
    );
    for (const [what, count] of Object.entries(seen)) expect([what, count > 0]).toEqual([what, true]);
  });

  test("any JavaScript values (NaN, -0, undefined, nested arrays, objects) never make it throw or break the schema", () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.oneof(coinLike, fc.anything()), { maxLength: 6 }), { maxLength: 3 }), (pages) => {
        const { rows, counts } = normalizeSnapshot(pages, CONTEXT);
        expect(schemaViolations(rows)).toEqual([]);
        expect(counts.input).toBe(counts.kept + counts.droppedNoId + counts.droppedDuplicate);
        for (const line of gunzipSync(gzipNdjson(rows)).toString("utf8").split("\n").slice(0, -1)) expect(line).toMatch(LINE);
      }),
      RUNS,
    );
  });

  test("a duplicated id keeps its best-ranked occurrence (the first on ties), at the position of its first appearance", () => {
    const rank = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(null), fc.constant("2"));
    const occurrence = fc.record({
      id: fc.constantFrom("a", "b"),
      market_cap_rank: rank,
      current_price: fc.double({ noNaN: true, noDefaultInfinity: true }),
    });
    fc.assert(
      fc.property(fc.array(fc.array(occurrence, { maxLength: 4 }), { minLength: 1, maxLength: 3 }), (pages) => {
        const { rows } = normalizeSnapshot(pages, CONTEXT);
        for (const row of rows) {
          const occurrences = pages.flat().filter((c) => c.id === row.id);
          const rankOf = (c: (typeof occurrences)[number]) =>
            normalizeSnapshot([[c]], CONTEXT).rows[0].market_cap_rank ?? Number.POSITIVE_INFINITY;
          const best = occurrences.reduce((a, c) => (rankOf(c) < rankOf(a) ? c : a));
          expect(row).toEqual(normalizeSnapshot([[best]], CONTEXT).rows[0]);
        }
      }),
      RUNS,
    );
  });

  test("boundaries: int64 and int32 limits, exponent text, NaN-ish text", () => {
    const page = `[{"id":"a","market_cap":9223372036854775807,"total_volume":-9223372036854775808,"fully_diluted_valuation":"1.5e18","market_cap_rank":2147483648,"current_price":"8.64e-06","high_24h":"NaN","low_24h":1e400}]`;
    const [row] = normalizeSnapshot([parseMarketsPage(Buffer.from(page), 1)], CONTEXT).rows;
    // 9223372036854775807 reads as 2^63, one past int64: null rather than a value Athena would reject.
    expect(row).toMatchObject({
      market_cap: null,
      volume_24h: -(2 ** 63),
      fully_diluted_valuation: 1.5e18,
      market_cap_rank: null,
      current_price: 8.64e-6,
      high_24h: null,
      low_24h: null,
    });
    const line = gunzipSync(gzipNdjson([row])).toString("utf8");
    expect(line).toContain('"volume_24h":-9223372036854775808,');
    expect(line).toContain('"fully_diluted_valuation":1500000000000000000,');
    // The grammar check used above fails on what JSON.stringify would have written for a large double.
    expect(line.trimEnd()).toMatch(LINE);
    expect(line.trimEnd().replace("-9223372036854775808", JSON.stringify(-(2 ** 63) * 1000))).not.toMatch(LINE);
  });
});

describe("a whole ingest of arbitrary pages", () => {
  let root: string;
  beforeAll(() => {
    root = makeTempDir("normalize-properties");
  });
  afterAll(() => removeTempDir(root));

  test("writes the snapshot, or fails with invalid-response and leaves nothing in the lake", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 2 }), async (bodies) => {
        const lake = path.join(root, String((run += 1)));
        const rec = recorder();
        const source = async () => ({
          pages: bodies.map((b, i) => ({ page: i + 1, body: b })),
          request: {},
          fetchedAt: "2024-09-03T07:05:00.000Z",
          retries: 0,
          latencyMs: 1,
        });
        try {
          const result = await runIngest({
            store: new LocalObjectStore(lake),
            source,
            scheduledTime: CONTEXT.timestamp * 1000,
            vsCurrency: CONTEXT.vsCurrency,
            logger: rec.logger,
            metrics: rec.metrics,
          });
          expect(result.status).toBe("written");
          const rows = parseNdjsonGz(fs.readFileSync(path.join(lake, result.processedKey)));
          expect(rows).toHaveLength(result.coins);
          expect(result.coins).toBeGreaterThan(0);
        } catch (err) {
          expect(isCoinGeckoError(err) && err.kind).toBe("invalid-response");
          expect(fs.existsSync(lake) ? fs.readdirSync(lake, { recursive: true }) : []).toEqual([]);
        }
      }),
      { numRuns: 100 },
    );
  });
});
