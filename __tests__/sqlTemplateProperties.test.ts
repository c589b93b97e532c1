/**
 * Property-based tests of SQL rendering, covering what the hour-partition property in transform.test.ts
 * does not: the one *string* parameter (the DuckDB staging path, quoted by `sqlStringLiteral`) and the
 * placeholder filling both templates rely on.
 *
 * Proven for every input fast-check finds:
 * - any text without NUL becomes one SQL string literal that a real DuckDB reads back as exactly that text,
 *   whatever quotes, backslashes, comment markers, semicolons, newlines or `${` it holds;
 * - the DuckDB INSERT for any hour and any staging path is the template with the hour's digits and that one
 *   literal, nothing else: the path's text is never read as a placeholder;
 * - `fillPlaceholders` inserts values verbatim in one pass (a value is never expanded again), and refuses a
 *   missing value or a malformed placeholder;
 * - each template's placeholders are exactly the ones its renderer fills.
 */
import { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import * as fc from "fast-check";
import { athenaInsertTemplate, duckDbInsertTemplate } from "../functions/sqlFiles";
import {
  fillPlaceholders,
  HOUR_PLACEHOLDERS,
  MAX_PARTITION_YEAR,
  MIN_PARTITION_YEAR,
  placeholdersIn,
  sqlStringLiteral,
} from "../functions/sqlTemplate";
import { renderDuckDbInsert, STAGING_PLACEHOLDER } from "../local/duckdbEngine";

/** Fragments that matter to SQL and to placeholder syntax, mixed into arbitrary text. */
const TRICKY = [
  "'",
  "''",
  "\\",
  "\\'",
  "--",
  "/*",
  "*/",
  ";",
  "\n",
  "\r\n",
  '"',
  "${",
  "}",
  "${year}",
  "${hour}",
  "${staging_dir}",
  "${evil}",
  "$$",
  "E'",
  "\u2028",
  "é",
  "🦀",
];

/** Arbitrary well-formed text without NUL, biased towards {@link TRICKY} fragments. */
const text = fc
  .array(fc.oneof(fc.string({ unit: "grapheme" }), fc.constantFrom(...TRICKY)), { maxLength: 8 })
  .map((parts) => parts.join(""))
  .filter((s) => !s.includes("\0"));

/** A calendar-valid hour. */
const hour = fc
  .date({ min: new Date(Date.UTC(MIN_PARTITION_YEAR, 0, 1)), max: new Date(Date.UTC(MAX_PARTITION_YEAR, 11, 31, 23)), noInvalidDate: true })
  .map((d) => ({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() }));

describe("sqlStringLiteral", () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(":memory:");
    connection = await instance.connect();
  });
  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });

  test("DuckDB reads any text back from its literal, as one value", async () => {
    await fc.assert(
      fc.asyncProperty(text, async (value) => {
        const result = await connection.runAndReadAll(`SELECT ${sqlStringLiteral(value)} AS v, 1 AS one`);
        expect(result.getRowObjectsJS()).toEqual([{ v: value, one: 1 }]);
      }),
      { numRuns: 200 },
    );
  });

  test("the literal is one quoted token: every quote inside is doubled", () => {
    fc.assert(
      fc.property(text, (value) => {
        const literal = sqlStringLiteral(value);
        expect(literal).toMatch(/^'(?:[^']|'')*'$/s);
        expect(literal.slice(1, -1).split("''").join("'")).toBe(value);
      }),
      { numRuns: 500 },
    );
  });

  test("NUL is refused", () => {
    fc.assert(
      fc.property(text, text, (before, after) => {
        expect(() => sqlStringLiteral(`${before}\0${after}`)).toThrow(/cannot hold a NUL character/);
      }),
    );
  });
});

describe("the DuckDB INSERT", () => {
  test("for any hour and staging path: the hour's digits and the path's one literal, nothing else", () => {
    const template = duckDbInsertTemplate();
    fc.assert(
      fc.property(hour, text, (h, dir) => {
        const values: Record<string, string> = { year: String(h.year), month: String(h.month), day: String(h.day), hour: String(h.hour) };
        const expected = template.replace(/\$\{([a-z_]+)\}/g, (_m, name: string) =>
          name === STAGING_PLACEHOLDER ? sqlStringLiteral(dir) : values[name],
        );
        expect(renderDuckDbInsert(h, dir)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe("fillPlaceholders", () => {
  const name = fc.constantFrom("a", "b", "year", "staging_dir");
  /** Template text between placeholders: anything without `${`. */
  const chunk = fc.string().filter((s) => !s.includes("${"));

  test("inserts values verbatim in one pass: a value holding ${...} stays as it is", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(chunk, name)), chunk, fc.dictionary(name, text, { minKeys: 4 }), (pieces, tail, values) => {
        fc.pre(["a", "b", "year", "staging_dir"].every((n) => n in values));
        const template = pieces.map(([c, n]) => `${c}\${${n}}`).join("") + tail;
        const expected = pieces.map(([c, n]) => c + values[n]).join("") + tail;
        expect(fillPlaceholders(template, values)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  test("a placeholder without a value, or a malformed one, is an error, never text left in the SQL", () => {
    fc.assert(
      fc.property(chunk, chunk, fc.constantFrom("${missing}", "${", "${Year}", "${a b}", "${ year }"), (before, after, bad) => {
        expect(() => fillPlaceholders(`${before}${bad}${after}`, { year: "2024" })).toThrow(
          /placeholders with no value|malformed placeholder/,
        );
      }),
    );
  });
});

describe("placeholder sets", () => {
  test("each template holds exactly the placeholders its renderer fills", () => {
    expect([...new Set(placeholdersIn(athenaInsertTemplate()))].sort()).toEqual([...HOUR_PLACEHOLDERS].sort());
    expect([...new Set(placeholdersIn(duckDbInsertTemplate()))].sort()).toEqual([...HOUR_PLACEHOLDERS, STAGING_PLACEHOLDER].sort());
    for (const template of [athenaInsertTemplate(), duckDbInsertTemplate()]) {
      expect((template.match(/\$\{/g) ?? []).length).toBe(placeholdersIn(template).length);
    }
  });
});
