/**
 * The Glue VIRTUAL_VIEW tables under Pulumi mocks: Athena's view form (parameters, texts, SerDe), each
 * view's Presto JSON decoded and its columns compared with what DuckDB derives from the same SQL (a view
 * whose SQL drifts from its deployed columns fails the comparison), the Presto/Hive type mapping, and
 * creation in dependency order.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  createAthenaViews,
  decodePrestoView,
  encodePrestoView,
  PRESTO_TYPES,
  PRESTO_VIEW_CATALOG,
  PRESTO_VIEW_EXPANDED_TEXT,
  prestoViewDefinition,
  VIEW_SERDE_INFO,
} from "../components/athenaViews";
import { stripLineComments, viewDependencies, viewNames, viewSql } from "../functions/sqlFiles";
import { deriveViewSchemas, DuckDbEngine, ViewColumn, ViewSchema } from "../local/duckdbEngine";
import { makeTempDir, removeTempDir } from "./helpers/factories";
import { installPulumiMocks, RecordedResource, recordDependencies } from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
afterAll(() => pulumi.runtime.disconnect());

const TABLE = "aws:glue/catalogTable:CatalogTable";
const DATABASE = "crypto_views";

const deps = recordDependencies();
let schemas: ViewSchema[];

const resourceNameOf = (view: string): string => `views-${view.replace(/_/g, "-")}`;
const viewTable = (view: string): RecordedResource => mocks.one(TABLE, resourceNameOf(view));
const schemaOf = (view: string): ViewColumn[] => {
  const found = schemas.find((s) => s.name === view);
  if (found === undefined) throw new Error(`DuckDB derived no schema for ${view}`);
  return found.columns;
};

/** The deployed view's Presto JSON and Glue columns agree with `columns` (DuckDB's schema of its SQL). */
function expectDeployedColumns(table: RecordedResource, columns: readonly ViewColumn[]): void {
  const definition = decodePrestoView(table.inputs.viewOriginalText as string);
  expect(definition.columns).toEqual(columns.map((c) => ({ name: c.name, type: PRESTO_TYPES[c.type] })));
  const storage = table.inputs.storageDescriptor as { columns: { name: string; type: string }[] };
  expect(storage.columns).toEqual(columns.map((c) => ({ name: c.name, type: c.type })));
}

beforeAll(async () => {
  const parent = new pulumi.ComponentResource("test:index:Views", "views", {}, { transformations: [deps.transformation] });
  const base = new aws.glue.CatalogTable("views-base", { databaseName: DATABASE, name: "analytics_prices" }, { parent });
  createAthenaViews("views", { databaseName: DATABASE, tables: [base] }, parent);
  schemas = await deriveViewSchemas();
  await mocks.settled();
});

describe("each view table, as Athena writes a CREATE VIEW", () => {
  test.each(viewNames())("%s: VIRTUAL_VIEW, presto_view parameters, expanded text, non-empty SerDe", (view) => {
    const table = viewTable(view);
    expect(table.inputs).toMatchObject({
      name: view,
      databaseName: DATABASE,
      tableType: "VIRTUAL_VIEW",
      parameters: { presto_view: "true", comment: "Presto View" },
      viewExpandedText: "/* Presto View */",
      storageDescriptor: { serDeInfo: { name: "-", serializationLibrary: "-" } },
    });
    expect(PRESTO_VIEW_EXPANDED_TEXT).toBe("/* Presto View */");
    expect(VIEW_SERDE_INFO.serializationLibrary).not.toBe("");
    expect(table.inputs.viewOriginalText).toMatch(/^\/\* Presto View: [A-Za-z0-9+/]+=* \*\/$/);
  });

  test.each(viewNames())("%s: the decoded Presto JSON holds the file's SQL, the catalog and the database", (view) => {
    const definition = decodePrestoView(viewTable(view).inputs.viewOriginalText as string);
    expect(Object.keys(definition).sort()).toEqual(["catalog", "columns", "originalSql", "schema"]);
    expect(definition.catalog).toBe(PRESTO_VIEW_CATALOG);
    expect(PRESTO_VIEW_CATALOG).toBe("awsdatacatalog");
    expect(definition.schema).toBe(DATABASE);
    expect(definition.originalSql).toBe(stripLineComments(viewSql(view)));
    expect(definition.originalSql).toMatch(/^SELECT|^WITH/);
  });

  test.each(viewNames())("%s: columns equal the schema DuckDB derives from the same SQL", (view) => {
    const columns = schemaOf(view);
    expect(columns.length).toBeGreaterThan(0);
    expectDeployedColumns(viewTable(view), columns);
  });

  test.each(viewNames())("%s: lower-case column names, Presto and Hive types that correspond one to one", (view) => {
    const table = viewTable(view);
    const presto = decodePrestoView(table.inputs.viewOriginalText as string).columns;
    const hive = (table.inputs.storageDescriptor as { columns: { name: string; type: string }[] }).columns;
    expect(presto.map((c) => c.name)).toEqual(hive.map((c) => c.name));
    for (const [i, column] of hive.entries()) {
      expect(column.name).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(presto[i].type).toBe(PRESTO_TYPES[column.type as keyof typeof PRESTO_TYPES]);
    }
  });

  test("the description is the SQL's leading comment paragraph", () => {
    const description = viewTable("v_top_100").inputs.description as string;
    expect(description).toBe(
      viewSql("v_top_100")
        .split("\n")[0]
        .replace(/^--\s*/, ""),
    );
    for (const view of viewNames()) expect((viewTable(view).inputs.description as string).length).toBeLessThanOrEqual(2048);
  });
});

describe("type mapping", () => {
  test("Glue (Hive) types map to Presto types: string→varchar, int→integer, bigint and double unchanged", () => {
    expect(PRESTO_TYPES).toEqual({ string: "varchar", bigint: "bigint", int: "integer", double: "double" });
  });

  test("known columns carry the expected Presto and Hive types", () => {
    const column = (view: string, name: string) => {
      const table = viewTable(view);
      const presto = decodePrestoView(table.inputs.viewOriginalText as string).columns.find((c) => c.name === name);
      const hive = (table.inputs.storageDescriptor as { columns: { name: string; type: string }[] }).columns.find((c) => c.name === name);
      return [presto?.type, hive?.type];
    };
    expect(column("v_top_100", "market_cap_rank")).toEqual(["integer", "int"]);
    expect(column("v_top_100", "name")).toEqual(["varchar", "string"]);
    expect(column("v_top_100", "current_price")).toEqual(["double", "double"]);
    expect(column("v_top_100", "timestamp")).toEqual(["bigint", "bigint"]);
    expect(column("v_latest_partition", "hour")).toEqual(["integer", "int"]);
  });
});

describe("drift between a view's SQL and its deployed columns fails the comparison", () => {
  let engine: DuckDbEngine;
  let lake: string;

  beforeAll(async () => {
    lake = makeTempDir("view-drift-");
    engine = await DuckDbEngine.open(lake);
  });
  afterAll(() => {
    engine.close();
    removeTempDir(lake);
  });

  /** v_top_100's schema after replacing `from` by `to` in its SQL, as DuckDB derives it. */
  async function mutatedTop100(from: string, to: string): Promise<ViewColumn[]> {
    const sql = viewSql("v_top_100");
    expect(sql).toContain(from);
    await engine.execute(`CREATE OR REPLACE VIEW v_top_100 AS\n${sql.replace(from, to)}`);
    return engine.viewSchema("v_top_100");
  }

  test("the unmutated SQL on the same engine agrees with the deployed view", async () => {
    await engine.execute(`CREATE OR REPLACE VIEW v_top_100 AS\n${viewSql("v_top_100")}`);
    expectDeployedColumns(viewTable("v_top_100"), await engine.viewSchema("v_top_100"));
  });

  test.each([
    ["a widened type", "s.market_cap_rank AS market_cap_rank", "CAST(s.market_cap_rank AS BIGINT) AS market_cap_rank"],
    ["a renamed column", "s.current_price AS current_price", "s.current_price AS price"],
    ["a dropped column", "  s.volume_24h AS volume_24h,\n", ""],
  ])("%s", async (_label, from, to) => {
    const drifted = await mutatedTop100(from, to);
    expect(drifted).not.toEqual(schemaOf("v_top_100"));
    expect(() => expectDeployedColumns(viewTable("v_top_100"), drifted)).toThrow();
  });
});

describe("dependency order", () => {
  test("each view explicitly depends on the lake tables and on exactly the views its SQL reads", () => {
    for (const view of viewNames()) {
      const expected = [`${TABLE} views-base`, ...viewDependencies(view).map((d) => `${TABLE} ${resourceNameOf(d)}`)];
      expect(deps.dependsOn(TABLE, resourceNameOf(view)).sort()).toEqual(expected.sort());
    }
    // Not vacuous: views do read other views.
    expect(viewDependencies("v_top_100")).toContain("v_latest_snapshot");
    expect(viewDependencies("v_latest_snapshot")).toEqual(expect.arrayContaining(["v_latest_partition", "v_recent_prices"]));
  });

  test("every view was registered after the views it reads", () => {
    const order = mocks.resources.filter((r) => r.type === TABLE).map((r) => r.name);
    for (const view of viewNames()) {
      for (const dependency of viewDependencies(view)) {
        expect(order.indexOf(resourceNameOf(dependency))).toBeLessThan(order.indexOf(resourceNameOf(view)));
      }
    }
  });
});

describe("view text encoding", () => {
  test("encode and decode round-trip, UTF-8 included", () => {
    const definition = prestoViewDefinition("-- note\nSELECT 'café' AS word\n", "db", [{ name: "word", type: "string" }]);
    expect(definition).toEqual({
      originalSql: "SELECT 'café' AS word",
      catalog: "awsdatacatalog",
      schema: "db",
      columns: [{ name: "word", type: "varchar" }],
    });
    const text = encodePrestoView(definition);
    expect(text.startsWith("/* Presto View: ")).toBe(true);
    expect(text.endsWith(" */")).toBe(true);
    expect(decodePrestoView(text)).toEqual(definition);
  });

  test.each(["SELECT 1", "/* Presto View */", "/* Presto View: e30= "])("decode refuses text not in Athena's form: %s", (text) => {
    expect(() => decodePrestoView(text)).toThrow(/not an Athena view text/);
  });
});
