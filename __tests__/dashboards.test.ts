/**
 * Dashboards under Pulumi mocks, and the QuickSight definition derived from the dashboard spec: every
 * field the definition reads is a column (or a calculated field over columns) of its visual's dataset;
 * every dataset column exists with a compatible type in the schema DuckDB derives for its view; the KPI
 * comparison reproduces the view's own percent change (evaluated on DuckDB over a simulated lake); the
 * layout follows the spec's spans; the data-source role's statements are exact (with what QuickSight and
 * Athena call on its behalf: Athena's metadata API, the default database, multipart uploads, KMS) and decide
 * concrete requests as intended (IAM simulator); the data source waits for the role's policy and Lake
 * Formation grants; the optional Lake Formation grants; the dedicated workgroup; SPICE refreshed after each
 * transform run (a rule on its success records, a refresh function with exact grants, DLQ and failure queue) vs
 * DIRECT_QUERY; the principals' read-only permissions; ids, URL and argument checks.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import * as pulumi from "@pulumi/pulumi";
import { localTransform } from "../local/localTransform";
import { DEFAULT_BYTES_SCANNED_CUTOFF } from "../components/analyticsLayer";
import { ATHENA_ENGINE_VERSION } from "../components/athenaWorkgroup";
import { catalogObjectsRead, Dashboards, DashboardsArgs } from "../components/dashboards";
import { QUICKSIGHT_GRID_COLUMNS, quicksightDefinition } from "../components/quicksightDefinition";
import { DASHBOARD_SPEC, DashboardSpec, dashboardViews } from "../dashboard/spec";
import { viewNames } from "../functions/sqlFiles";
import { deriveViewSchemas, DuckDbEngine, ViewSchema } from "../local/duckdbEngine";
import { makeTempDir, recorder, removeTempDir } from "./helpers/factories";
import {
  installPulumiMocks,
  MOCK_ACCOUNT_ID,
  MOCK_KMS_KEY_ARN,
  MOCK_REGION,
  MOCK_TAGS,
  policyOf,
  promiseOf,
  recordDependencies,
  RESOURCE_TYPES as T,
  stringField,
} from "./helpers/pulumiMocks";
import { simulateInto } from "./helpers/simulatedLake";

const mocks = installPulumiMocks();
jest.setTimeout(60_000);
afterAll(() => pulumi.runtime.disconnect());

const USER = `arn:aws:quicksight:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:user/default/alice`;
const GROUP = `arn:aws:quicksight:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:group/default/analysts`;
const ANALYTICS = "crypto-analytics-1a2b3c4";
const RESULTS = "crypto-query-results-1a2b3c4";
const ARCHIVE = "crypto-archive-1a2b3c4";
const DATABASE = "crypto_data";
const VIEWS = dashboardViews(DASHBOARD_SPEC);
/** Athena's name for the Glue Data Catalog. */
const DATA_CATALOG = `arn:aws:athena:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:datacatalog/AwsDataCatalog`;
const TRANSFORM_ARN = `arn:aws:lambda:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:function:crypto-transform-1a2b3c4d`;

/** Dashboards args as AnalyticsLayer's outputs would give them (plain values here: no functions to serialize). */
function argsOf(overrides: Partial<DashboardsArgs> = {}): DashboardsArgs {
  return {
    principalArns: [USER, GROUP],
    databaseName: DATABASE,
    // A copy: jest runs tests in their own realm, and Pulumi does not see arrays made by `fs` as arrays.
    viewNames: [...viewNames()],
    analyticsBucketArn: `arn:aws:s3:::${ANALYTICS}`,
    resultsBucketName: RESULTS,
    resultsBucketArn: `arn:aws:s3:::${RESULTS}`,
    transformFunctionArn: TRANSFORM_ARN,
    ...overrides,
  };
}

type Json = Record<string, unknown>;
type InputColumn = { name: string; type: string; subType?: string };

/** The input columns of the dataset over `view` in component `component`. */
function inputColumnsOf(view: string, component = "bi"): InputColumn[] {
  const inputs = mocks.one(T.dataSet, `${component}-quicksight-${view.replace(/_/g, "-")}`).inputs as {
    physicalTableMap: Record<string, { relationalTable: { inputColumns: InputColumn[] } }>;
  };
  return Object.values(inputs.physicalTableMap)[0].relationalTable.inputColumns;
}
interface ColumnRef {
  dataSetIdentifier: string;
  columnName: string;
}
interface Definition {
  dataSetIdentifierDeclarations: { identifier: string; dataSetArn: string }[];
  calculatedFields: { dataSetIdentifier: string; name: string; expression: string }[];
  sheets: { sheetId: string; name: string; visuals: Json[]; layouts: { configuration: { gridLayout: { elements: Json[] } } }[] }[];
}

/** The visual object inside `{ kpiVisual: {...} }` etc. */
function innerVisual(visual: Json): Json & { visualId: string } {
  const [inner] = Object.values(visual) as (Json & { visualId: string })[];
  return inner;
}

/** Every `{ dataSetIdentifier, columnName }` anywhere below `value`, with the key of the object holding it. */
function columnRefs(value: unknown, holder = ""): { holder: string; ref: ColumnRef }[] {
  if (Array.isArray(value)) return value.flatMap((v) => columnRefs(v, holder));
  if (typeof value !== "object" || value === null) return [];
  const o = value as Json;
  if (typeof o.dataSetIdentifier === "string" && typeof o.columnName === "string")
    return [{ holder, ref: { dataSetIdentifier: o.dataSetIdentifier, columnName: o.columnName } }];
  return Object.entries(o).flatMap(([k, v]) => columnRefs(v, k === "column" || k === "applyTo" ? holder : k));
}

let schemas: ViewSchema[];
let spice: Dashboards;
let direct: Dashboards;
let definition: Definition;
const deps = recordDependencies();

beforeAll(async () => {
  spice = new Dashboards("bi", { ...argsOf(), tags: MOCK_TAGS }, { transformations: [deps.transformation] });
  direct = new Dashboards(
    "dq",
    argsOf({
      principalArns: [USER],
      dashboardMode: "DIRECT_QUERY",
      kmsKeyArn: MOCK_KMS_KEY_ARN,
      bytesScannedCutoffPerQuery: 50 * 1024 ** 2,
      lakeFormationPermissions: true,
    }),
    { transformations: [deps.transformation] },
  );
  await mocks.settled();
  schemas = await deriveViewSchemas();
  definition = mocks.one(T.quicksightDashboard, "bi-quicksight-dashboard").inputs.definition as unknown as Definition;
});

describe("datasets", () => {
  test("one per view the visuals read, each over its view through the Athena data source", () => {
    const source = mocks.one(T.dataSource, "bi-quicksight-source");
    const dataSets = mocks.resourcesOf("bi").filter((r) => r.type === T.dataSet);
    expect(dataSets.map((d) => d.name).sort()).toEqual(VIEWS.map((v) => `bi-quicksight-${v.replace(/_/g, "-")}`).sort());
    for (const view of VIEWS) {
      const inputs = mocks.one(T.dataSet, `bi-quicksight-${view.replace(/_/g, "-")}`).inputs as Json & {
        physicalTableMap: Record<string, Json>;
      };
      expect(inputs.importMode).toBe("SPICE");
      expect(inputs.name).toBe(`${view} (${DATABASE})`);
      expect(inputs.awsAccountId).toBe(MOCK_ACCOUNT_ID);
      expect(Object.keys(inputs.physicalTableMap)).toEqual([view.replace(/_/g, "-")]);
      expect(inputs.physicalTableMap[view.replace(/_/g, "-")]).toMatchObject({
        relationalTable: { dataSourceArn: stringField(source, "arn"), catalog: "AwsDataCatalog", schema: DATABASE, name: view },
      });
    }
  });

  test.each(["bi", "dq"])(
    "%s: every DECIMAL column is a FLOAT decimal, so SPICE keeps sub-cent prices; no other column has a sub-type",
    (component) => {
      // SPICE's FIXED decimal keeps four places (a 0.0000086 USD price would read 0); FLOAT keeps a double
      // (https://docs.aws.amazon.com/quicksight/latest/APIReference/API_InputColumn.html).
      const columns = VIEWS.flatMap((view) => inputColumnsOf(view, component).map((c) => ({ view, ...c })));
      const decimals = columns.filter((c) => c.type === "DECIMAL");
      expect(decimals.map((c) => `${c.view}.${c.name}`)).toContain("v_top_100.current_price");
      for (const c of decimals) expect(c).toEqual({ view: c.view, name: c.name, type: "DECIMAL", subType: "FLOAT" });
      for (const c of columns.filter((col) => col.type !== "DECIMAL")) expect(c.subType).toBeUndefined();
    },
  );

  // QuickSight types each Glue type of the views may be read as.
  const COMPATIBLE: Record<string, string[]> = { STRING: ["string"], DECIMAL: ["double"], INTEGER: ["bigint", "int"] };

  test.each(VIEWS)(
    "%s: every dataset column exists in DuckDB's schema of the view, with a compatible type, and none is missing",
    (view) => {
      const columns = inputColumnsOf(view);
      const duck = schemas.find((s) => s.name === view)?.columns ?? [];
      expect(duck.length).toBeGreaterThan(0);
      for (const column of columns) {
        const derived = duck.find((c) => c.name === column.name);
        expect({ column: column.name, glue: derived?.type }).toEqual({ column: column.name, glue: expect.any(String) });
        expect(COMPATIBLE[column.type]).toContain(derived?.type);
      }
      expect(columns.map((c) => c.name)).toEqual(duck.map((c) => c.name));
    },
  );
});

describe("the dashboard definition", () => {
  function dataSetColumns(view: string): Map<string, string> {
    return new Map(inputColumnsOf(view).map((c) => [c.name, c.type]));
  }

  test("declares each view's dataset under the view's name, with the dataset's ARN", () => {
    const arns = Object.fromEntries(
      VIEWS.map((v) => [v, stringField(mocks.one(T.dataSet, `bi-quicksight-${v.replace(/_/g, "-")}`), "arn")]),
    );
    expect(definition.dataSetIdentifierDeclarations).toEqual(VIEWS.map((v) => ({ identifier: v, dataSetArn: arns[v] })));
  });

  test("every field of every visual reads a column of its own visual's dataset, or a calculated field over such columns", () => {
    const calculated = new Map(definition.calculatedFields.map((c) => [`${c.dataSetIdentifier}/${c.name}`, c]));
    for (const visual of definition.sheets[0].visuals) {
      const inner = innerVisual(visual);
      const view = DASHBOARD_SPEC.visuals.find((v) => v.id === inner.visualId)?.view as string;
      const refs = columnRefs(inner);
      expect(refs.length).toBeGreaterThan(0);
      for (const { ref } of refs) {
        expect({ visual: inner.visualId, dataSet: ref.dataSetIdentifier }).toEqual({ visual: inner.visualId, dataSet: view });
        const columns = dataSetColumns(view);
        const calc = calculated.get(`${view}/${ref.columnName}`);
        expect({ visual: inner.visualId, column: ref.columnName, known: columns.has(ref.columnName) || calc !== undefined }).toEqual({
          visual: inner.visualId,
          column: ref.columnName,
          known: true,
        });
      }
    }
    for (const calc of definition.calculatedFields) {
      const operands = [...calc.expression.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      expect(operands.length).toBeGreaterThan(0);
      for (const operand of operands) expect([calc.name, dataSetColumns(calc.dataSetIdentifier).has(operand)]).toEqual([calc.name, true]);
      expect(dataSetColumns(calc.dataSetIdentifier).has(calc.name)).toBe(false);
    }
  });

  test("field kinds match column types: measures and numeric dimensions read numbers, time axes read epochDate of a number, text dimensions read text", () => {
    const calculated = new Map(definition.calculatedFields.map((c) => [`${c.dataSetIdentifier}/${c.name}`, c.expression]));
    const typeOf = (ref: ColumnRef): string => {
      const expression = calculated.get(`${ref.dataSetIdentifier}/${ref.columnName}`);
      if (expression === undefined) return dataSetColumns(ref.dataSetIdentifier).get(ref.columnName) as string;
      if (/^epochDate\(\{\w+\}\)$/.test(expression)) return "DATETIME";
      if (/^toUpper\(\{\w+\}\)$/.test(expression)) return "STRING";
      return "DECIMAL";
    };
    const expected: Record<string, string[]> = {
      numericalMeasureField: ["INTEGER", "DECIMAL"],
      numericalDimensionField: ["INTEGER", "DECIMAL"],
      columnTooltipItem: ["INTEGER", "DECIMAL"],
      dateDimensionField: ["DATETIME"],
      categoricalDimensionField: ["STRING"],
    };
    const seen = new Set<string>();
    for (const { holder, ref } of columnRefs(definition.sheets[0].visuals)) {
      if (expected[holder] === undefined) continue;
      seen.add(holder);
      expect([holder, ref.columnName, expected[holder].includes(typeOf(ref))]).toEqual([holder, ref.columnName, true]);
    }
    // The spec has no numeric dimension today; every other kind is in use.
    expect([...seen].sort()).toEqual(
      Object.keys(expected)
        .filter((k) => k !== "numericalDimensionField")
        .sort(),
    );
  });

  test("the spec's visuals, in order, with their titles, and each spec field in its QuickSight role", () => {
    const visuals = definition.sheets[0].visuals;
    expect(visuals.map((v) => Object.keys(v)[0])).toEqual(
      DASHBOARD_SPEC.visuals.map(
        (v) => ({ kpi: "kpiVisual", bar: "barChartVisual", line: "lineChartVisual", table: "tableVisual" })[v.kind],
      ),
    );
    for (const [i, spec] of DASHBOARD_SPEC.visuals.entries()) {
      const inner = innerVisual(visuals[i]);
      expect(inner).toMatchObject({
        visualId: spec.id,
        title: { formatText: { plainText: spec.title } },
        subtitle: { formatText: { plainText: spec.subtitle } },
      });
      const wells = JSON.stringify((inner.chartConfiguration as Json).fieldWells);
      for (const field of spec.fields) {
        if (field.role === "delta") {
          // A delta is the KPI's comparison: a target calculated from the value and the delta column.
          const value = spec.fields.find((f) => f.role === "value")?.column as string;
          const target = definition.calculatedFields.find((c) => c.dataSetIdentifier === spec.view && c.name === `${value}_kpi_target`);
          expect(target?.expression).toContain(`{${field.column}}`);
          expect(wells).toContain(`"columnName":"${value}_kpi_target"`);
          continue;
        }
        const inWells = wells.includes(`"fieldId":"${spec.id}.${field.column}"`);
        expect([spec.id, field.column, inWells]).toEqual([spec.id, field.column, field.role !== "tooltip"]);
      }
      // Numeric tooltips are column tooltips with the spec's label; text tooltips have no QuickSight equivalent.
      const tooltips = (
        (
          inner.chartConfiguration as {
            tooltip?: { fieldBasedTooltip: { tooltipFields: { columnTooltipItem: { column: ColumnRef; label: string } }[] } };
          }
        ).tooltip?.fieldBasedTooltip.tooltipFields ?? []
      ).map((t) => [t.columnTooltipItem.column.columnName, t.columnTooltipItem.label]);
      expect(tooltips).toEqual(spec.fields.filter((f) => f.role === "tooltip" && f.format !== "text").map((f) => [f.column, f.label]));
    }
  });

  test("KPIs show the value and the spec's delta as a percent-difference comparison against a calculated target", () => {
    const kpi = innerVisual(definition.sheets[0].visuals[0]) as unknown as {
      chartConfiguration: { fieldWells: { values: Json[]; targetValues: Json[] }; kpiOptions: Json };
    };
    expect(columnRefs(kpi.chartConfiguration.fieldWells.values).map((r) => r.ref.columnName)).toEqual(["total_market_cap"]);
    expect(columnRefs(kpi.chartConfiguration.fieldWells.targetValues).map((r) => r.ref.columnName)).toEqual([
      "total_market_cap_kpi_target",
    ]);
    expect(kpi.chartConfiguration.kpiOptions).toMatchObject({
      primaryValueDisplayType: "ACTUAL",
      comparison: { comparisonMethod: "PERCENT_DIFFERENCE" },
    });
  });

  test("every KPI with a delta shows its comparison: the secondary value (where QuickSight writes it) is visible, with the trend arrow", () => {
    const kpis = DASHBOARD_SPEC.visuals.filter((v) => v.kind === "kpi" && v.fields.some((f) => f.role === "delta"));
    expect(kpis.length).toBeGreaterThan(0);
    for (const spec of kpis) {
      const visual = definition.sheets[0].visuals.find((v) => innerVisual(v).visualId === spec.id) as Json;
      const options = ((innerVisual(visual).chartConfiguration as Json).kpiOptions ?? {}) as Json;
      expect({ id: spec.id, secondaryValue: options.secondaryValue, trendArrows: options.trendArrows }).toEqual({
        id: spec.id,
        secondaryValue: { visibility: "VISIBLE" },
        trendArrows: { visibility: "VISIBLE" },
      });
    }
  });

  test("the line charts: right-axis fields on the secondary axis, the 7-day series as small multiples with independent y axes", () => {
    const line = (id: string) =>
      innerVisual(definition.sheets[0].visuals.find((v) => innerVisual(v).visualId === id) as Json).chartConfiguration as Json & {
        fieldWells: { lineChartAggregatedFieldWells: Json };
      };
    expect(line("btc_24h").series).toEqual([
      { fieldSeriesItem: { fieldId: "btc_24h.price", axisBinding: "PRIMARY_YAXIS" } },
      { fieldSeriesItem: { fieldId: "btc_24h.volume_24h", axisBinding: "SECONDARY_YAXIS" } },
    ]);
    const core = line("core_7d");
    expect(columnRefs(core.fieldWells.lineChartAggregatedFieldWells.smallMultiples).map((r) => r.ref.columnName)).toEqual(["symbol_upper"]);
    expect(core.fieldWells.lineChartAggregatedFieldWells.colors).toBeUndefined();
    expect(core.smallMultiplesOptions).toEqual({ xAxis: { scale: "SHARED" }, yAxis: { scale: "INDEPENDENT" } });
  });

  test("the grid follows the spec: spans scaled to QuickSight's 36 columns, wrapping rows left to right", () => {
    const elements = definition.sheets[0].layouts[0].configuration.gridLayout.elements;
    const scale = QUICKSIGHT_GRID_COLUMNS / DASHBOARD_SPEC.gridColumns;
    expect(elements.map((e) => [e.elementId, e.columnSpan])).toEqual(DASHBOARD_SPEC.visuals.map((v) => [v.id, v.span * scale]));
    // Each row is full width: column indexes restart at 0 exactly when the spans of a row reach the grid.
    let column = 0;
    let row = -1;
    for (const e of elements) {
      if (e.columnIndex === 0) {
        expect(column === 0 || column === QUICKSIGHT_GRID_COLUMNS).toBe(true);
        expect(e.rowIndex).toBeGreaterThan(row);
        row = e.rowIndex as number;
        column = 0;
      }
      expect([e.elementId, e.columnIndex, e.rowIndex]).toEqual([e.elementId, column, row]);
      column += e.columnSpan as number;
    }
  });

  test.each([
    ["a view without a dataset", DASHBOARD_SPEC, { v_top_100: "arn" }, /no dataset given for view\(s\) v_total_market_cap/],
    [
      "a span that is no whole number of QuickSight columns",
      { ...DASHBOARD_SPEC, gridColumns: 7, visuals: DASHBOARD_SPEC.visuals.map((v) => ({ ...v, span: Math.min(v.span, 7) })) },
      Object.fromEntries(VIEWS.map((v) => [v, "arn"])),
      /is not a whole number of QuickSight's 36 columns/,
    ],
    [
      "a spec with problems",
      { ...DASHBOARD_SPEC, visuals: [{ ...DASHBOARD_SPEC.visuals[0], fields: [] }] },
      Object.fromEntries(VIEWS.map((v) => [v, "arn"])),
      /cannot be published to QuickSight:\n- visual total_market_cap: needs 1 value field\(s\), has 0/,
    ],
  ])("refuses %s", (_label, spec, arns, message) => {
    expect(() => quicksightDefinition(spec as DashboardSpec, arns)).toThrow(message);
  });
});

describe("the KPI comparison on real data", () => {
  let lake: string;
  let engine: DuckDbEngine;
  beforeAll(async () => {
    lake = makeTempDir("dashboards-kpi");
    const now = Math.floor(Date.now() / 1000);
    // The views' window follows the real clock, so the lake ends now; 25 hours hold a 24 h comparison.
    const end = now - (now % 1800);
    await simulateInto(lake, { from: end - 25 * 3600, to: end, every: 1800, coins: 12 });
    await localTransform({ lake, all: true, logger: recorder().logger, nowMs: () => now * 1000 });
    engine = await DuckDbEngine.open(lake);
  }, 120_000);
  afterAll(() => {
    engine?.close();
    removeTempDir(lake);
  });

  test.each(["total_market_cap", "total_volume_24h"])(
    "%s: the calculated target is the view's previous total, so QuickSight's percent difference is the view's change",
    async (value) => {
      const target = definition.calculatedFields.find((c) => c.name === `${value}_kpi_target`) as { expression: string };
      // QuickSight's `{column}` is DuckDB's "column"; the arithmetic is the same.
      const sql = target.expression.replace(/\{(\w+)\}/g, '"$1"');
      const previous = value === "total_market_cap" ? "previous_total_market_cap" : "previous_total_volume_24h";
      const change = value === "total_market_cap" ? "market_cap_change_pct" : "volume_change_pct";
      const { rows } = await engine.execute(
        `SELECT ${sql} AS target, ${value} AS value, ${previous} AS previous, ${change} AS change FROM v_total_market_cap`,
      );
      expect(rows).toHaveLength(1);
      const row = rows[0] as Record<string, number | bigint>;
      const [t, v, p, c] = [Number(row.target), Number(row.value), Number(row.previous), Number(row.change)];
      expect(p).toBeGreaterThan(0);
      expect(Math.abs(t - p) / p).toBeLessThan(1e-9);
      expect(((v - t) / t) * 100).toBeCloseTo(c, 9);
    },
  );
});

describe("the dedicated workgroup", () => {
  test.each([
    ["bi", DEFAULT_BYTES_SCANNED_CUTOFF, { encryptionOption: "SSE_S3" }],
    ["dq", 50 * 1024 ** 2, { encryptionOption: "SSE_KMS", kmsKeyArn: MOCK_KMS_KEY_ARN }],
  ])("%s: engine v3, enforced, its own result prefix in the results bucket, the bytes-scanned cutoff", (name, cutoff, encryption) => {
    const wg = mocks.one(T.workgroup, `${name}-quicksight-workgroup`);
    expect(wg.inputs.configuration).toEqual({
      engineVersion: { selectedEngineVersion: ATHENA_ENGINE_VERSION },
      enforceWorkgroupConfiguration: true,
      publishCloudwatchMetricsEnabled: true,
      bytesScannedCutoffPerQuery: cutoff,
      requesterPaysEnabled: false,
      resultConfiguration: {
        outputLocation: `s3://${RESULTS}/query-results/quicksight/`,
        expectedBucketOwner: MOCK_ACCOUNT_ID,
        encryptionConfiguration: encryption,
      },
    });
    expect(wg.inputs.forceDestroy).toBe(false);
  });

  test("the data source queries through that workgroup with the dedicated role", () => {
    for (const name of ["bi", "dq"]) {
      const source = mocks.one(T.dataSource, `${name}-quicksight-source`);
      expect(source.inputs).toMatchObject({
        type: "ATHENA",
        parameters: {
          athena: {
            workGroup: stringField(mocks.one(T.workgroup, `${name}-quicksight-workgroup`), "name"),
            roleArn: stringField(mocks.one(T.role, `${name}-quicksight-role`), "arn"),
          },
        },
        sslProperties: { disableSsl: false },
      });
    }
  });
});

describe("the data source's role", () => {
  const bucket = (name: string) => `arn:aws:s3:::${name}`;
  const glue = (what: string) => `arn:aws:glue:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:${what}`;
  /** The views the dashboard reads, the views below them and the one table they all read. */
  const READ = [
    "analytics_prices",
    "v_btc_24h",
    "v_latest_partition",
    "v_latest_snapshot",
    "v_recent_prices",
    "v_top_100",
    "v_top_gainers",
    "v_total_market_cap",
    "v_trending",
    "v_trendline_core",
  ];

  function statementsWithoutKms(name: string): Json[] {
    const wgArn = stringField(mocks.one(T.workgroup, `${name}-quicksight-workgroup`), "arn");
    return [
      {
        Sid: "RunDashboardQueries",
        Effect: "Allow",
        Action: [
          "athena:GetWorkGroup",
          "athena:StartQueryExecution",
          "athena:GetQueryExecution",
          "athena:GetQueryResults",
          "athena:GetQueryResultsStream",
          "athena:StopQueryExecution",
        ],
        Resource: [wgArn],
      },
      {
        Sid: "ReadCatalogMetadata",
        Effect: "Allow",
        Action: [
          "athena:GetDataCatalog",
          "athena:GetDatabase",
          "athena:GetTableMetadata",
          "athena:ListTableMetadata",
          "athena:ListDatabases",
        ],
        Resource: [DATA_CATALOG],
      },
      { Sid: "ListCatalogsAndWorkgroups", Effect: "Allow", Action: ["athena:ListDataCatalogs", "athena:ListWorkGroups"], Resource: ["*"] },
      {
        Sid: "ReadAthenaDefaultDatabase",
        Effect: "Allow",
        Action: ["glue:GetDatabase"],
        Resource: [glue("catalog"), glue("database/default")],
      },
      {
        Sid: "ReadViewDefinitions",
        Effect: "Allow",
        Action: ["glue:GetDatabase", "glue:GetTable"],
        Resource: [glue("catalog"), glue(`database/${DATABASE}`), ...READ.map((t) => glue(`table/${DATABASE}/${t}`))],
      },
      {
        Sid: "ListAnalyticsData",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [bucket(ANALYTICS)],
        Condition: { StringLike: { "s3:prefix": "analytics/*" } },
      },
      { Sid: "LocateAnalyticsBucket", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: [bucket(ANALYTICS)] },
      { Sid: "ReadAnalyticsData", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${bucket(ANALYTICS)}/analytics/*`] },
      {
        Sid: "UseQueryResultsBucket",
        Effect: "Allow",
        Action: ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
        Resource: [bucket(RESULTS)],
      },
      {
        Sid: "ListDashboardResults",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [bucket(RESULTS)],
        Condition: { StringLike: { "s3:prefix": "query-results/quicksight/*" } },
      },
      {
        Sid: "WriteDashboardResults",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: [`${bucket(RESULTS)}/query-results/quicksight/*`],
      },
    ];
  }

  test("trusts only QuickSight", () => {
    expect(policyOf(mocks.one(T.role, "bi-quicksight-role"), "assumeRolePolicy")).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "quicksight.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
  });

  test("without a KMS key: exactly the query, catalog, analytics-read and results statements", () => {
    expect(policyOf(mocks.one(T.rolePolicy, "bi-quicksight-role-policy"))).toEqual({
      Version: "2012-10-17",
      Statement: statementsWithoutKms("bi"),
    });
  });

  test("with a KMS key and Lake Formation: plus Lake Formation's credential request, decrypt of the analytics data and use of the results' key, each only through S3 for its bucket", () => {
    const viaS3 = `s3.${MOCK_REGION}.amazonaws.com`;
    expect(policyOf(mocks.one(T.rolePolicy, "dq-quicksight-role-policy"))).toEqual({
      Version: "2012-10-17",
      Statement: [
        ...statementsWithoutKms("dq"),
        { Sid: "RequestLakeFormationCredentials", Effect: "Allow", Action: ["lakeformation:GetDataAccess"], Resource: ["*"] },
        {
          Sid: "DecryptAnalyticsData",
          Effect: "Allow",
          Action: ["kms:Decrypt"],
          Resource: [MOCK_KMS_KEY_ARN],
          Condition: { StringEquals: { "kms:ViaService": viaS3, "kms:EncryptionContext:aws:s3:arn": bucket(ANALYTICS) } },
        },
        {
          Sid: "UseResultsKey",
          Effect: "Allow",
          Action: ["kms:GenerateDataKey", "kms:Decrypt"],
          Resource: [MOCK_KMS_KEY_ARN],
          Condition: { StringEquals: { "kms:ViaService": viaS3, "kms:EncryptionContext:aws:s3:arn": bucket(RESULTS) } },
        },
      ],
    });
  });

  const pipelineWorkgroup = `arn:aws:athena:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:workgroup/crypto-workgroup-1a2b3c4`;
  test.each([
    [
      "read a Parquet file of analytics_prices",
      "s3:GetObject",
      `${bucket(ANALYTICS)}/analytics/year=2024/month=9/day=3/hour=7/part-0.parquet`,
      {},
      "Allowed",
    ],
    [
      "list an hour of analytics/",
      "s3:ListBucket",
      bucket(ANALYTICS),
      { "s3:prefix": "analytics/year=2024/month=9/day=3/hour=7/" },
      "Allowed",
    ],
    ["write its own query result", "s3:PutObject", `${bucket(RESULTS)}/query-results/quicksight/abc.csv`, {}, "Allowed"],
    ["read a view's definition", "glue:GetTable", glue(`table/${DATABASE}/v_top_100`), {}, "Allowed"],
    ["start a query in the dashboard workgroup", "athena:StartQueryExecution", "WORKGROUP", {}, "Allowed"],
    ["read a view's metadata through Athena", "athena:GetTableMetadata", DATA_CATALOG, {}, "Allowed"],
    ["list the workgroups (no resource type)", "athena:ListWorkGroups", "*", {}, "Allowed"],
    ["list the data catalogs (no resource type)", "athena:ListDataCatalogs", "*", {}, "Allowed"],
    ["read the default database Athena requires", "glue:GetDatabase", glue("database/default"), {}, "Allowed"],
    [
      "list the parts of a multipart upload of its results",
      "s3:ListMultipartUploadParts",
      `${bucket(RESULTS)}/query-results/quicksight/abc.csv`,
      {},
      "Allowed",
    ],
    ["list the results bucket's multipart uploads", "s3:ListBucketMultipartUploads", bucket(RESULTS), {}, "Allowed"],
    [
      "read another data catalog's metadata",
      "athena:GetTableMetadata",
      `arn:aws:athena:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:datacatalog/federated`,
      {},
      "ImplicitlyDenied",
    ],
    ["create the default database", "glue:CreateDatabase", glue("database/default"), {}, "ImplicitlyDenied"],
    ["request Lake Formation credentials (Lake Formation off)", "lakeformation:GetDataAccess", "*", {}, "ImplicitlyDenied"],
    ["read a transform manifest", "s3:GetObject", `${bucket(ANALYTICS)}/manifests/transform/x.json`, {}, "ImplicitlyDenied"],
    ["list the manifests", "s3:ListBucket", bucket(ANALYTICS), { "s3:prefix": "manifests/" }, "ImplicitlyDenied"],
    [
      "read a raw CoinGecko page",
      "s3:GetObject",
      `${bucket(ARCHIVE)}/raw/year=2024/month=9/day=3/hour=7/1725347100.json`,
      {},
      "ImplicitlyDenied",
    ],
    ["read the transform's query results", "s3:GetObject", `${bucket(RESULTS)}/query-results/0a1b2c.csv`, {}, "ImplicitlyDenied"],
    [
      "write into the lake",
      "s3:PutObject",
      `${bucket(ANALYTICS)}/analytics/year=2024/month=9/day=3/hour=7/x.parquet`,
      {},
      "ImplicitlyDenied",
    ],
    ["read the raw-strings table", "glue:GetTable", glue(`table/${DATABASE}/processed_prices_raw`), {}, "ImplicitlyDenied"],
    ["change a view", "glue:UpdateTable", glue(`table/${DATABASE}/v_top_100`), {}, "ImplicitlyDenied"],
    ["start a query in the pipeline's own workgroup", "athena:StartQueryExecution", pipelineWorkgroup, {}, "ImplicitlyDenied"],
  ])("may %s? %s -> %s", async (_label, action, resource, context, expected) => {
    const arn = resource === "WORKGROUP" ? stringField(mocks.one(T.workgroup, "bi-quicksight-workgroup"), "arn") : resource;
    const simulation = await runSimulation(
      {
        identityPolicies: [{ name: "dashboard", policy: policyOf(mocks.one(T.rolePolicy, "bi-quicksight-role-policy")) }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        request: {
          principal: stringField(mocks.one(T.role, "bi-quicksight-role"), "arn"),
          action,
          resource: { accountId: MOCK_ACCOUNT_ID, resource: arn },
          contextVariables: context as Record<string, string>,
        },
      },
      {},
    );
    expect(simulation.resultType === "error" ? simulation.errors : undefined).toBeUndefined();
    expect(simulation.resultType === "single" && simulation.overallResult).toBe(expected);
  });
});

describe("creation order and Lake Formation grants", () => {
  const LF = "aws:lakeformation/permissions:Permissions";

  test("the data source waits for its role's policy (QuickSight checks the connection with the role when it saves the source)", () => {
    expect(deps.dependsOn(T.dataSource, "bi-quicksight-source")).toEqual([`${T.rolePolicy} bi-quicksight-role-policy`]);
  });

  test("with Lake Formation it also waits for the role's grants", () => {
    const grants = mocks.resourcesOf("dq").filter((r) => r.type === LF);
    expect(grants.length).toBeGreaterThan(1);
    expect(deps.dependsOn(T.dataSource, "dq-quicksight-source")).toEqual([
      `${T.rolePolicy} dq-quicksight-role-policy`,
      ...grants.map((g) => `${LF} ${g.name}`),
    ]);
  });

  test("off by default: no grant", () => {
    expect(mocks.resourcesOf("bi").filter((r) => r.type === LF)).toEqual([]);
  });

  test("on: DESCRIBE on the database, SELECT and DESCRIBE on every view the dashboard reads and analytics_prices, for the data-source role only", () => {
    const role = stringField(mocks.one(T.role, "dq-quicksight-role"), "arn");
    const grants = mocks.resourcesOf("dq").filter((r) => r.type === LF);
    expect(grants.map((g) => g.inputs)).toEqual([
      { principal: role, permissions: ["DESCRIBE"], database: { name: DATABASE } },
      ...catalogObjectsRead(VIEWS).map((table) => ({
        principal: role,
        permissions: ["SELECT", "DESCRIBE"],
        table: { databaseName: DATABASE, name: table },
      })),
    ]);
    expect(catalogObjectsRead(VIEWS)).toEqual(expect.arrayContaining(["analytics_prices", ...VIEWS]));
  });
});

describe("import mode", () => {
  const dataSetArn = (view: string, component = "bi") =>
    stringField(mocks.one(T.dataSet, `${component}-quicksight-${view.replace(/_/g, "-")}`), "arn");

  test("SPICE: a rule on the default bus matches only the transform function's successful invocation records", () => {
    const rule = mocks.one(T.eventRule, "bi-spice-refresh-rule");
    const pattern = JSON.parse(String(rule.inputs.eventPattern));
    expect(pattern).toEqual({
      source: ["lambda"],
      detail: { requestContext: { condition: ["Success"], functionArn: [TRANSFORM_ARN, { prefix: `${TRANSFORM_ARN}:` }] } },
    });
    expect(rule.inputs.eventBusName).toBeUndefined();
    // No fixed-minute schedule any more: the refresh follows the transform, never an unrelated clock.
    expect(mocks.ofType("aws:quicksight/refreshSchedule:RefreshSchedule")).toEqual([]);
  });

  test("SPICE: the rule targets the refresh function with retries and a DLQ only this rule may send to; only this rule may invoke it", () => {
    const rule = mocks.one(T.eventRule, "bi-spice-refresh-rule");
    const fn = mocks.one(T.fn, "bi-spice-refresh-function");
    const dlq = mocks.one(T.queue, "bi-spice-refresh-dlq");
    expect(mocks.one(T.eventTarget, "bi-spice-refresh-target").inputs).toMatchObject({
      rule: stringField(rule, "name"),
      arn: stringField(fn, "arn"),
      deadLetterConfig: { arn: stringField(dlq, "arn") },
      retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
    });
    expect(mocks.one(T.permission, "bi-spice-refresh-permission").inputs).toMatchObject({
      action: "lambda:InvokeFunction",
      principal: "events.amazonaws.com",
      sourceArn: stringField(rule, "arn"),
    });
    const ruleArn = stringField(rule, "arn");
    expect(ruleArn).toMatch(/^arn:aws:events:/);
    expect(policyOf(mocks.one(T.queuePolicy, "bi-spice-refresh-dlq-policy")).Statement).toEqual([
      {
        Sid: "AllowRuleDeliveryFailures",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: ["sqs:SendMessage"],
        Resource: [stringField(dlq, "arn")],
        Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
      },
      {
        Sid: "DenyOtherSenders",
        Effect: "Deny",
        Principal: "*",
        Action: ["sqs:SendMessage"],
        Resource: [stringField(dlq, "arn")],
        Condition: { ArnNotEquals: { "aws:SourceArn": ruleArn } },
      },
    ]);
    // Function errors go through Lambda's async retries to the failure queue, like every pipeline function.
    expect(mocks.one(T.invokeConfig, "bi-spice-refresh-invoke-config").inputs).toMatchObject({
      destinationConfig: { onFailure: { destination: stringField(mocks.one(T.queue, "bi-spice-refresh-failures"), "arn") } },
    });
  });

  test("SPICE: the refresh function may start ingestions of this component's datasets and nothing else, and learns their ids from its environment", () => {
    const statements = policyOf(mocks.one(T.rolePolicy, "bi-spice-refresh-role-policy")).Statement;
    expect(dataSetArn(VIEWS[0])).toMatch(/^arn:aws:quicksight:[a-z0-9-]+:\d{12}:dataset\/bi-[0-9a-f]{8}-v_/);
    expect(statements.find((st) => st.Sid === "RefreshDashboardDataSets")).toEqual({
      Sid: "RefreshDashboardDataSets",
      Effect: "Allow",
      Action: ["quicksight:CreateIngestion"],
      Resource: VIEWS.flatMap((view) => [dataSetArn(view), `${dataSetArn(view)}/ingestion/*`]),
    });
    expect(statements.map((st) => st.Sid)).toEqual(["RefreshDashboardDataSets", "WriteOwnLogs", "SendToFailureDestination"]);
    const env = (mocks.one(T.fn, "bi-spice-refresh-function").inputs.environment as { variables: Record<string, string> }).variables;
    expect(env).toEqual({
      QUICKSIGHT_ACCOUNT_ID: MOCK_ACCOUNT_ID,
      DATA_SET_IDS: VIEWS.map((view) => mocks.one(T.dataSet, `bi-quicksight-${view.replace(/_/g, "-")}`).inputs.dataSetId).join(","),
      PIPELINE_NAME: "bi-test",
    });
    expect(spice.spiceRefresh).toBeDefined();
  });

  test("DIRECT_QUERY: datasets query Athena live and no refresh function or rule exists", () => {
    const dataSets = mocks.resourcesOf("dq").filter((r) => r.type === T.dataSet);
    expect(dataSets).toHaveLength(VIEWS.length);
    expect(new Set(dataSets.map((d) => d.inputs.importMode))).toEqual(new Set(["DIRECT_QUERY"]));
    expect(mocks.resourcesOf("dq").filter((r) => [T.eventRule, T.fn].includes(r.type as never))).toEqual([]);
    expect(direct.spiceRefresh).toBeUndefined();
  });
});

describe("permissions", () => {
  const VIEWER = {
    dataSource: ["quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions", "quicksight:PassDataSource"],
    dataSet: [
      "quicksight:DescribeDataSet",
      "quicksight:DescribeDataSetPermissions",
      "quicksight:PassDataSet",
      "quicksight:DescribeIngestion",
      "quicksight:ListIngestions",
    ],
    dashboard: ["quicksight:DescribeDashboard", "quicksight:ListDashboardVersions", "quicksight:QueryDashboard"],
  };

  test("each principal gets read-only actions on the data source, every dataset and the dashboard, and nothing else", () => {
    const grants = (actions: string[]) => [USER, GROUP].map((principal) => ({ principal, actions }));
    expect(mocks.one(T.dataSource, "bi-quicksight-source").inputs.permissions).toEqual(grants(VIEWER.dataSource));
    for (const d of mocks.resourcesOf("bi").filter((r) => r.type === T.dataSet))
      expect(d.inputs.permissions).toEqual(grants(VIEWER.dataSet));
    expect(mocks.one(T.quicksightDashboard, "bi-quicksight-dashboard").inputs.permissions).toEqual(grants(VIEWER.dashboard));
    const everyAction = [...VIEWER.dataSource, ...VIEWER.dataSet, ...VIEWER.dashboard];
    expect(everyAction.filter((a) => /:(Update|Delete|Create)/.test(a))).toEqual([]);
  });
});

describe("ids, names and outputs", () => {
  test("QuickSight ids derive from the component name and a hash of project/stack/name, so two components never collide", () => {
    const ids = [...mocks.resourcesOf("bi"), ...mocks.resourcesOf("dq")].flatMap((r) =>
      [r.inputs.dataSourceId, r.inputs.dataSetId, r.inputs.dashboardId].filter((id) => typeof id === "string"),
    );
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^(bi|dq)-[0-9a-f]{8}-[\w-]+$/);
    expect(mocks.one(T.quicksightDashboard, "bi-quicksight-dashboard").inputs).toMatchObject({
      awsAccountId: MOCK_ACCOUNT_ID,
      dashboardId: expect.stringMatching(/^bi-[0-9a-f]{8}-crypto_market$/),
      name: `Crypto market (${DATABASE})`,
    });
  });

  test("dashboardUrl opens the dashboard in the stack's region; tags reach the dashboard as key/value pairs", async () => {
    const id = mocks.one(T.quicksightDashboard, "bi-quicksight-dashboard").inputs.dashboardId;
    expect(await promiseOf(spice.dashboardUrl)).toBe(`https://${MOCK_REGION}.quicksight.aws.amazon.com/sn/dashboards/${id}`);
    expect(await promiseOf(direct.dashboardId)).toMatch(/^dq-/);
    expect(mocks.one(T.quicksightDashboard, "bi-quicksight-dashboard").inputs.tags).toEqual(
      Object.entries(MOCK_TAGS).map(([key, value]) => ({ key, value })),
    );
    expect(Object.keys(await promiseOf(spice.dataSetArns)).sort()).toEqual([...VIEWS].sort());
  });
});

describe("argument checks (before anything is created)", () => {
  test.each([
    ["no principal", { principalArns: [] }, /principalArns is empty/],
    [
      "an IAM user instead of a QuickSight user",
      { principalArns: [`arn:aws:iam::${MOCK_ACCOUNT_ID}:user/alice`] },
      /must be a QuickSight user or group ARN/,
    ],
    ["an unknown mode", { dashboardMode: "HYBRID" as "SPICE" }, /dashboardMode must be one of SPICE, DIRECT_QUERY, got "HYBRID"/],
    [
      "a cutoff below Athena's minimum",
      { bytesScannedCutoffPerQuery: 1024 },
      /bytesScannedCutoffPerQuery must be an integer from 10485760/,
    ],
    [
      "SPICE without the transform to follow",
      { transformFunctionArn: undefined },
      /SPICE datasets are refreshed after each transform run; pass transformFunctionArn/,
    ],
  ])("%s", async (label, overrides, message) => {
    const name = `bad-${label.replace(/\W+/g, "-")}`;
    expect(() => new Dashboards(name, argsOf(overrides as Partial<DashboardsArgs>))).toThrow(message);
    await mocks.settled();
    expect(mocks.resourcesOf(name).map((r) => r.type)).toEqual(["crypto-analytics:pipeline:Dashboards"]);
  });
});
