/**
 * The QuickSight dashboard definition, derived from the one dashboard spec (dashboard/spec.ts) that also
 * drives the local page, so the two dashboards show the same visuals, fields, labels, formats, order and
 * layout. A pure function: spec and dataset ARNs in, the `definition` of an aws-native
 * `quicksight.Dashboard` out; nothing is created here.
 *
 * How spec concepts map onto QuickSight:
 * - `kpi`: the `value` field is the KPI value; a `delta` (a percent change the view computes) becomes the
 *   KPI's comparison. QuickSight computes a comparison from a target value, so the target is a calculated
 *   field that undoes the delta, `value / (1 + delta / 100)`, and the comparison method is
 *   PERCENT_DIFFERENCE: `(value - target) / target` is exactly `delta / 100`, shown as a percentage.
 * - `bar`: category and value wells, horizontal (a ranked list reads top down), sorted as the spec says.
 * - `line`: `x` in the category well, each `y` a value bound to the left or right axis, a `series` field
 *   split into colours, or into small multiples with independent y axes when the spec asks for them.
 * - `table`: an unaggregated table (one row per view row), columns in spec order with their labels.
 * - `tooltip` fields: numeric ones become column tooltips. QuickSight's aggregated charts can only show
 *   aggregates in a tooltip, so a text tooltip (a coin's name) has no QuickSight equivalent and is left out.
 * - Formats: `epochSeconds` columns are shown through a calculated `epochDate(...)` field, `symbol`
 *   through `toUpper(...)`; number formats map onto QuickSight's currency and number display formats.
 *   `percent` values are already percentages (not ratios), so they get a `%` suffix rather than
 *   QuickSight's percentage format, which would multiply them by 100.
 * - Layout: one sheet with a grid layout; each visual spans `span / gridColumns` of QuickSight's 36-column
 *   canvas, flowing left to right and wrapping like the local page.
 */
import type { types } from "@pulumi/aws-native";
import type * as pulumi from "@pulumi/pulumi";
import { DashboardSpec, dashboardSpecProblems, dashboardViews, FieldFormat, VisualField, VisualKind, VisualSpec } from "../dashboard/spec";

/** The aws-native `quicksight.Dashboard` definition type. */
export type DashboardDefinition = types.input.quicksight.DashboardVersionDefinitionArgs;
type Visual = types.input.quicksight.DashboardVisualArgs;
type ColumnIdentifier = types.input.quicksight.DashboardColumnIdentifierArgs;
type MeasureField = types.input.quicksight.DashboardMeasureFieldArgs;
type DimensionField = types.input.quicksight.DashboardDimensionFieldArgs;
type NumericFormat = types.input.quicksight.DashboardNumericFormatConfigurationArgs;
type FormatConfiguration = types.input.quicksight.DashboardFormatConfigurationArgs;
type TooltipOptions = types.input.quicksight.DashboardTooltipOptionsArgs;
type ChartAxisLabelOptions = types.input.quicksight.DashboardChartAxisLabelOptionsArgs;
type CalculatedField = types.input.quicksight.DashboardCalculatedFieldArgs;
type GridLayoutElement = types.input.quicksight.DashboardGridLayoutElementArgs;

/** Columns of QuickSight's grid layout canvas. */
export const QUICKSIGHT_GRID_COLUMNS = 36;

/**
 * Grid rows each kind of visual needs; a layout row is as tall as its tallest visual. A KPI is a single
 * number, charts need room for axes, the table shows about a dozen rows before scrolling.
 */
export const ROW_SPANS: Readonly<Record<VisualKind, number>> = Object.freeze({ kpi: 6, bar: 12, line: 12, table: 18 });

/**
 * Aggregation of every measure. Each bar, point and KPI stands for one view row (one coin, one snapshot,
 * one coin-hour), so the maximum is that row's value; unlike SUM it never adds up two rows that happen to
 * share a label (two coins with the same ticker).
 */
export const MEASURE_AGGREGATION = "MAX";

/**
 * Granularity of time axes: the finest step of the data is the 5-minute snapshot slot, so minutes keep
 * every point apart (hourly series simply have one point per hour).
 */
export const TIME_GRANULARITY = "MINUTE";

/** How time axes and time columns are written (UTC, as the views compute them). */
export const DATE_TIME_FORMAT = "MMM D, HH:mm";

/** Decimals of `percent`, `usdCompact` and KPI comparisons, as on the local page. */
export const FIXED_DECIMALS = 2;

/** Suffixes of the calculated fields the definition adds to a dataset. */
export const CALCULATED_SUFFIXES = {
  /** `epochDate(<column>)`: an epoch-seconds column as a date-time. */
  time: "_utc",
  /** `toUpper(<column>)`: a ticker in upper case. */
  upper: "_upper",
  /** A KPI target that turns the view's percent change into QuickSight's comparison. */
  kpiTarget: "_kpi_target",
} as const;

/**
 * The definition of the dashboard `spec` describes, reading each view from the dataset whose ARN
 * `dataSetArns[view]` gives (the view name is the dataset identifier). Throws if the spec has problems
 * (see `dashboardSpecProblems`), a view has no dataset, or a span does not divide QuickSight's grid.
 */
export function quicksightDefinition(
  spec: DashboardSpec,
  dataSetArns: Readonly<Record<string, pulumi.Input<string>>>,
): DashboardDefinition {
  const problems = dashboardSpecProblems(spec);
  if (problems.length > 0) throw new Error(`dashboard spec ${spec.id} cannot be published to QuickSight:\n- ${problems.join("\n- ")}`);
  const views = dashboardViews(spec);
  const missing = views.filter((view) => dataSetArns[view] === undefined);
  if (missing.length > 0) throw new Error(`dashboard spec ${spec.id}: no dataset given for view(s) ${missing.join(", ")}`);
  return {
    dataSetIdentifierDeclarations: views.map((view) => ({ identifier: view, dataSetArn: dataSetArns[view] })),
    calculatedFields: calculatedFields(spec),
    sheets: [
      {
        sheetId: spec.id,
        name: spec.title,
        title: spec.title,
        visuals: spec.visuals.map(visualOf),
        layouts: [
          {
            configuration: {
              gridLayout: {
                elements: gridElements(spec),
                canvasSizeOptions: { screenCanvasSizeOptions: { resizeOption: "RESPONSIVE" } },
              },
            },
          },
        ],
      },
    ],
  };
}

/**
 * The calculated fields the visuals read, one per dataset and name (a field used by several visuals is
 * declared once): date-times of `epochSeconds` fields, upper-cased `symbol` fields, KPI targets.
 */
export function calculatedFields(spec: DashboardSpec): CalculatedField[] {
  const fields = new Map<string, CalculatedField>();
  const add = (view: string, name: string, expression: string): void => {
    fields.set(`${view}\u0000${name}`, { dataSetIdentifier: view, name, expression });
  };
  for (const visual of spec.visuals) {
    for (const field of visual.fields) {
      if (field.format === "epochSeconds") add(visual.view, field.column + CALCULATED_SUFFIXES.time, `epochDate({${field.column}})`);
      if (field.format === "symbol") add(visual.view, field.column + CALCULATED_SUFFIXES.upper, `toUpper({${field.column}})`);
    }
    const delta = visual.kind === "kpi" ? fieldsWith(visual, "delta")[0] : undefined;
    if (delta !== undefined) {
      const value = fieldsWith(visual, "value")[0];
      add(visual.view, kpiTargetName(value), kpiTargetExpression(value, delta));
    }
  }
  return [...fields.values()];
}

/** Name of the KPI target calculated field of a KPI's value field. */
export function kpiTargetName(value: VisualField): string {
  return value.column + CALCULATED_SUFFIXES.kpiTarget;
}

/** The value before a percent change: `value / (1 + delta / 100)` (null when the delta is null). */
export function kpiTargetExpression(value: VisualField, delta: VisualField): string {
  return `{${value.column}} / (1 + {${delta.column}} / 100)`;
}

/** The column a field is read from: the view column itself, or the calculated field its format needs. */
export function columnOf(visual: VisualSpec, field: VisualField): ColumnIdentifier {
  const suffix = field.format === "epochSeconds" ? CALCULATED_SUFFIXES.time : field.format === "symbol" ? CALCULATED_SUFFIXES.upper : "";
  return { dataSetIdentifier: visual.view, columnName: field.column + suffix };
}

/** The id of a field within its visual, e.g. `top_100.market_cap_rank`. */
export function fieldIdOf(visual: VisualSpec, field: VisualField): string {
  return `${visual.id}.${field.column}`;
}

/** Grid elements of the visuals: spans scaled to QuickSight's canvas, rows as tall as their tallest visual. */
export function gridElements(spec: DashboardSpec): GridLayoutElement[] {
  const scale = QUICKSIGHT_GRID_COLUMNS / spec.gridColumns;
  const rows: VisualSpec[][] = [];
  let used = spec.gridColumns;
  for (const visual of spec.visuals) {
    if (!Number.isInteger(visual.span * scale)) {
      throw new Error(
        `visual ${visual.id}: span ${visual.span} of ${spec.gridColumns} is not a whole number of QuickSight's ${QUICKSIGHT_GRID_COLUMNS} columns`,
      );
    }
    if (used + visual.span > spec.gridColumns) {
      rows.push([]);
      used = 0;
    }
    rows[rows.length - 1].push(visual);
    used += visual.span;
  }
  const elements: GridLayoutElement[] = [];
  let rowIndex = 0;
  for (const row of rows) {
    const rowSpan = Math.max(...row.map((v) => ROW_SPANS[v.kind]));
    let columnIndex = 0;
    for (const visual of row) {
      const columnSpan = visual.span * scale;
      elements.push({ elementId: visual.id, elementType: "VISUAL", columnIndex, columnSpan, rowIndex, rowSpan });
      columnIndex += columnSpan;
    }
    rowIndex += rowSpan;
  }
  return elements;
}

function visualOf(visual: VisualSpec): Visual {
  const common = {
    visualId: visual.id,
    title: { visibility: "VISIBLE", formatText: { plainText: visual.title } },
    subtitle: { visibility: "VISIBLE", formatText: { plainText: visual.subtitle } },
  } as const;
  switch (visual.kind) {
    case "kpi":
      return { kpiVisual: { ...common, chartConfiguration: kpiConfiguration(visual) } };
    case "bar":
      return { barChartVisual: { ...common, chartConfiguration: barConfiguration(visual) } };
    case "line":
      return { lineChartVisual: { ...common, chartConfiguration: lineConfiguration(visual) } };
    case "table":
      return { tableVisual: { ...common, chartConfiguration: tableConfiguration(visual) } };
  }
}

function kpiConfiguration(visual: VisualSpec): types.input.quicksight.DashboardKpiConfigurationArgs {
  const value = fieldsWith(visual, "value")[0];
  const delta = fieldsWith(visual, "delta")[0];
  if (delta === undefined) return { fieldWells: { values: [measure(visual, value)] } };
  const target: MeasureField = {
    numericalMeasureField: {
      fieldId: `${visual.id}.${kpiTargetName(value)}`,
      column: { dataSetIdentifier: visual.view, columnName: kpiTargetName(value) },
      aggregationFunction: { simpleNumericalAggregation: MEASURE_AGGREGATION },
      formatConfiguration: { formatConfiguration: numericFormat(value.format) },
    },
  };
  return {
    fieldWells: { values: [measure(visual, value)], targetValues: [target] },
    kpiOptions: {
      primaryValueDisplayType: "ACTUAL",
      comparison: {
        comparisonMethod: "PERCENT_DIFFERENCE",
        comparisonFormat: { percentageDisplayFormatConfiguration: { decimalPlacesConfiguration: { decimalPlaces: FIXED_DECIMALS } } },
      },
      // With the actual value as the primary value, the secondary value is where QuickSight writes the
      // comparison (the 24 h change); hiding it would leave only the trend arrow
      // (https://docs.aws.amazon.com/quicksight/latest/APIReference/API_KPIOptions.html).
      secondaryValue: { visibility: "VISIBLE" },
      trendArrows: { visibility: "VISIBLE" },
    },
  };
}

function barConfiguration(visual: VisualSpec): types.input.quicksight.DashboardBarChartConfigurationArgs {
  const category = fieldsWith(visual, "category")[0];
  const value = fieldsWith(visual, "value")[0];
  return {
    orientation: "HORIZONTAL",
    barsArrangement: "CLUSTERED",
    fieldWells: { barChartAggregatedFieldWells: { category: [dimension(visual, category)], values: [measure(visual, value)] } },
    categoryLabelOptions: axisLabels(visual, [category]),
    valueLabelOptions: axisLabels(visual, [value]),
    ...sortOf(visual, (sort) => ({ sortConfiguration: { categorySort: [sort] } })),
    tooltip: tooltipOf(visual),
    legend: { visibility: "HIDDEN" },
  };
}

function lineConfiguration(visual: VisualSpec): types.input.quicksight.DashboardLineChartConfigurationArgs {
  const x = fieldsWith(visual, "x")[0];
  const ys = fieldsWith(visual, "y");
  const series = fieldsWith(visual, "series")[0];
  const left = ys.filter((y) => (y.axis ?? "left") === "left");
  const right = ys.filter((y) => y.axis === "right");
  const split =
    series === undefined
      ? {}
      : visual.smallMultiples === true
        ? { smallMultiples: [dimension(visual, series)] }
        : { colors: [dimension(visual, series)] };
  return {
    type: "LINE",
    fieldWells: {
      lineChartAggregatedFieldWells: { category: [dimension(visual, x)], values: ys.map((y) => measure(visual, y)), ...split },
    },
    series: ys.map((y) => ({
      fieldSeriesItem: { fieldId: fieldIdOf(visual, y), axisBinding: y.axis === "right" ? "SECONDARY_YAXIS" : "PRIMARY_YAXIS" },
    })),
    xAxisLabelOptions: axisLabels(visual, [x]),
    ...(left.length > 0 ? { primaryYAxisLabelOptions: axisLabels(visual, left) } : {}),
    ...(right.length > 0 ? { secondaryYAxisLabelOptions: axisLabels(visual, right) } : {}),
    ...(series !== undefined && visual.smallMultiples === true
      ? { smallMultiplesOptions: { xAxis: { scale: "SHARED" }, yAxis: { scale: "INDEPENDENT" } } }
      : {}),
    legend:
      series === undefined || visual.smallMultiples === true
        ? { visibility: ys.length > 1 ? "VISIBLE" : "HIDDEN" }
        : { visibility: "VISIBLE", title: { visibility: "VISIBLE", customLabel: series.label } },
    sortConfiguration: { categorySort: [{ fieldSort: { fieldId: fieldIdOf(visual, x), direction: "ASC" } }] },
    tooltip: tooltipOf(visual),
  };
}

function tableConfiguration(visual: VisualSpec): types.input.quicksight.DashboardTableConfigurationArgs {
  const columns = fieldsWith(visual, "column");
  return {
    fieldWells: {
      tableUnaggregatedFieldWells: {
        values: columns.map((field) => ({
          fieldId: fieldIdOf(visual, field),
          column: columnOf(visual, field),
          formatConfiguration: formatOf(field.format),
        })),
      },
    },
    fieldOptions: {
      order: columns.map((field) => fieldIdOf(visual, field)),
      selectedFieldOptions: columns.map((field) => ({
        fieldId: fieldIdOf(visual, field),
        customLabel: field.label,
        visibility: "VISIBLE",
      })),
    },
    ...sortOf(visual, (sort) => ({ sortConfiguration: { rowSort: [sort] } })),
  };
}

function fieldsWith(visual: VisualSpec, role: VisualField["role"]): VisualField[] {
  return visual.fields.filter((f) => f.role === role);
}

function measure(visual: VisualSpec, field: VisualField): MeasureField {
  return {
    numericalMeasureField: {
      fieldId: fieldIdOf(visual, field),
      column: columnOf(visual, field),
      aggregationFunction: { simpleNumericalAggregation: MEASURE_AGGREGATION },
      formatConfiguration: { formatConfiguration: numericFormat(field.format) },
    },
  };
}

function dimension(visual: VisualSpec, field: VisualField): DimensionField {
  const base = { fieldId: fieldIdOf(visual, field), column: columnOf(visual, field) };
  if (field.format === "epochSeconds") {
    return {
      dateDimensionField: { ...base, dateGranularity: TIME_GRANULARITY, formatConfiguration: { dateTimeFormat: DATE_TIME_FORMAT } },
    };
  }
  if (isNumeric(field.format))
    return { numericalDimensionField: { ...base, formatConfiguration: { formatConfiguration: numericFormat(field.format) } } };
  return { categoricalDimensionField: base };
}

/** Axis titles of the given fields (QuickSight's default would be the raw column name). */
function axisLabels(visual: VisualSpec, fields: VisualField[]): ChartAxisLabelOptions {
  return {
    visibility: "VISIBLE",
    axisLabelOptions: fields.map((field) => ({
      customLabel: field.label,
      applyTo: { fieldId: fieldIdOf(visual, field), column: columnOf(visual, field) },
    })),
  };
}

/** Numeric tooltip fields as column tooltips; see the module comment for text tooltips. */
function tooltipOf(visual: VisualSpec): TooltipOptions {
  const items = fieldsWith(visual, "tooltip")
    .filter((field) => isNumeric(field.format))
    .map((field): types.input.quicksight.DashboardTooltipItemArgs => ({
      columnTooltipItem: {
        column: columnOf(visual, field),
        label: field.label,
        visibility: "VISIBLE",
        aggregation: { numericalAggregationFunction: { simpleNumericalAggregation: MEASURE_AGGREGATION } },
      },
    }));
  return {
    tooltipVisibility: "VISIBLE",
    selectedTooltipType: "DETAILED",
    fieldBasedTooltip: { aggregationVisibility: "HIDDEN", tooltipTitleType: "PRIMARY_VALUE", tooltipFields: items },
  };
}

/** The spec's sort as a field sort on the sorted field, wrapped by `place`; nothing without a sort. */
function sortOf<T>(
  visual: VisualSpec,
  place: (sort: types.input.quicksight.DashboardFieldSortOptionsArgs) => T,
): T | Record<string, never> {
  if (visual.sort === undefined) return {};
  const field = visual.fields.find((f) => f.column === visual.sort?.column) as VisualField;
  return place({ fieldSort: { fieldId: fieldIdOf(visual, field), direction: visual.sort.direction === "asc" ? "ASC" : "DESC" } });
}

function isNumeric(format: FieldFormat): boolean {
  return format !== "text" && format !== "symbol";
}

const THOUSANDS = { thousandsSeparator: { visibility: "VISIBLE", symbol: "COMMA" }, decimalSeparator: "DOT" } as const;

/** QuickSight's number format for a numeric spec format. */
export function numericFormat(format: FieldFormat): NumericFormat {
  switch (format) {
    case "usdPrice":
      // Decimals left to QuickSight: a price needs two for BTC and eight for a micro-cap token.
      return { currencyDisplayFormatConfiguration: { symbol: "USD", numberScale: "NONE", separatorConfiguration: THOUSANDS } };
    case "usdCompact":
      return {
        currencyDisplayFormatConfiguration: {
          symbol: "USD",
          numberScale: "AUTO",
          decimalPlacesConfiguration: { decimalPlaces: FIXED_DECIMALS },
          separatorConfiguration: THOUSANDS,
        },
      };
    case "percent":
      return {
        numberDisplayFormatConfiguration: {
          suffix: "%",
          numberScale: "NONE",
          decimalPlacesConfiguration: { decimalPlaces: FIXED_DECIMALS },
          separatorConfiguration: THOUSANDS,
        },
      };
    case "integer":
    case "epochSeconds":
      return {
        numberDisplayFormatConfiguration: {
          numberScale: "NONE",
          decimalPlacesConfiguration: { decimalPlaces: 0 },
          separatorConfiguration: THOUSANDS,
        },
      };
    case "text":
    case "symbol":
      throw new Error(`format ${format} is not numeric`);
  }
}

/** The format of an unaggregated (table) column. */
function formatOf(format: FieldFormat): FormatConfiguration | undefined {
  if (format === "epochSeconds") return { dateTimeFormatConfiguration: { dateTimeFormat: DATE_TIME_FORMAT } };
  if (!isNumeric(format)) return undefined;
  return { numberFormatConfiguration: { formatConfiguration: numericFormat(format) } };
}
