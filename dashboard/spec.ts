/**
 * The dashboard, described once: which visuals exist, which view feeds each, and what every field of a
 * visual does. The local page (dashboard/page, served by local/dashboardServer.ts and inlined by the static
 * export) renders exactly this, and the QuickSight definition is derived from it, so the two dashboards
 * cannot drift apart. Plain data with no imports: it is served to the browser as JSON as it stands.
 */

/** How a visual draws its view: a headline number, a table, a bar chart or a line chart. */
export type VisualKind = "kpi" | "table" | "bar" | "line";

/**
 * What a field does in its visual.
 * - `value`: the number a KPI shows, or the bar length of a bar chart.
 * - `delta`: a KPI's change figure, shown beside the value (QuickSight: the KPI's comparison).
 * - `category`: the label of each bar.
 * - `x`: the horizontal position of a line chart's points.
 * - `y`: a line chart's plotted value; several `y` fields are several lines.
 * - `series`: splits a line chart's rows into one line per distinct value.
 * - `column`: a table column.
 * - `tooltip`: shown only in a point's or bar's tooltip.
 */
export type FieldRole = "value" | "delta" | "category" | "x" | "y" | "series" | "column" | "tooltip";

/**
 * How a value is written.
 * - `usdPrice`: dollars with as many decimals as a price needs (`$65,012.34`, `$0.00000864`).
 * - `usdCompact`: dollars in thousands/millions/billions/trillions (`$2.31T`).
 * - `percent`: a signed percentage with two decimals (`+1.25%`); the data holds percent values, not ratios.
 * - `integer`: a whole number with digit grouping.
 * - `text`: as is.
 * - `symbol`: a ticker, upper case (`BTC`).
 * - `epochSeconds`: a UTC time from epoch seconds.
 */
export type FieldFormat = "usdPrice" | "usdCompact" | "percent" | "integer" | "text" | "symbol" | "epochSeconds";

/** One field of a visual: a column of the visual's view, its role and how it is written. */
export interface VisualField {
  /** Column of the view, exactly as the view names it. */
  column: string;
  /** Label on headers, axes, legends and tooltips. */
  label: string;
  /** What the field does; see {@link FieldRole}. */
  role: FieldRole;
  /** How values are written; see {@link FieldFormat}. */
  format: FieldFormat;
  /** For `y` fields: the axis the line is read against. Defaults to `left`. */
  axis?: "left" | "right";
  /** For `column` fields: whether clicking the header sorts by it. Defaults to false. */
  sortable?: boolean;
}

/** The order rows are shown in. */
export interface VisualSort {
  /** A column of the visual's fields. */
  column: string;
  /** Ascending or descending. */
  direction: "asc" | "desc";
}

/** One visual of the dashboard. */
export interface VisualSpec {
  /** Stable id (lower_snake): the element id on the page and the QuickSight visual id. */
  id: string;
  /** Title shown above the visual. */
  title: string;
  /** One line under the title saying what the visual shows. */
  subtitle: string;
  /** How the visual is drawn. */
  kind: VisualKind;
  /** The `v_*` view (sql/views) that feeds the visual; the only SQL the dashboard can cause to run. */
  view: string;
  /** The view columns the visual uses, with their roles. */
  fields: VisualField[];
  /** Initial row order (tables, bars). Defaults to the view's own order. */
  sort?: VisualSort;
  /**
   * For a line chart with a `series` field: one small chart per series value, each with its own y axis
   * (QuickSight: small multiples with independent y axes), so series of very different size each show
   * their movement. Defaults to false: every series on one chart.
   */
  smallMultiples?: boolean;
  /** Width in columns of a {@link DashboardSpec.gridColumns}-column grid. */
  span: number;
}

/** The whole dashboard. */
export interface DashboardSpec {
  /** Stable id (lower_snake), also the QuickSight dashboard id suffix. */
  id: string;
  /** Page and dashboard title. */
  title: string;
  /** Seconds between refreshes of the served page (the static export never refreshes). */
  refreshSeconds: number;
  /** Columns of the layout grid that visuals' `span`s divide. */
  gridColumns: number;
  /** Visuals in reading order: left to right, top to bottom. */
  visuals: VisualSpec[];
}

/** Seconds between refreshes of the served page: one snapshot slot is 5 minutes, so a minute keeps it current. */
export const DASHBOARD_REFRESH_SECONDS = 60;

/** Columns of the layout grid. */
export const DASHBOARD_GRID_COLUMNS = 12;

/** The crypto market dashboard: what QuickSight shows in AWS and the local page shows on a laptop. */
export const DASHBOARD_SPEC: DashboardSpec = {
  id: "crypto_market",
  title: "Crypto market",
  refreshSeconds: DASHBOARD_REFRESH_SECONDS,
  gridColumns: DASHBOARD_GRID_COLUMNS,
  visuals: [
    {
      id: "total_market_cap",
      title: "Total market cap",
      subtitle: "All coins of the newest snapshot, against the snapshot 24 h earlier",
      kind: "kpi",
      view: "v_total_market_cap",
      fields: [
        { column: "total_market_cap", label: "Total market cap", role: "value", format: "usdCompact" },
        { column: "market_cap_change_pct", label: "24 h change", role: "delta", format: "percent" },
      ],
      span: 6,
    },
    {
      id: "total_volume_24h",
      title: "Total 24 h volume",
      subtitle: "Traded over the last 24 h, all coins of the newest snapshot",
      kind: "kpi",
      view: "v_total_market_cap",
      fields: [
        { column: "total_volume_24h", label: "Total 24 h volume", role: "value", format: "usdCompact" },
        { column: "volume_change_pct", label: "24 h change", role: "delta", format: "percent" },
      ],
      span: 6,
    },
    {
      id: "btc_24h",
      title: "Bitcoin, last 24 h",
      subtitle: "Price (left) and 24 h trading volume (right) per snapshot",
      kind: "line",
      view: "v_btc_24h",
      fields: [
        { column: "timestamp", label: "Time (UTC)", role: "x", format: "epochSeconds" },
        { column: "price", label: "Price", role: "y", format: "usdPrice", axis: "left" },
        { column: "volume_24h", label: "24 h volume", role: "y", format: "usdCompact", axis: "right" },
        { column: "change_pct", label: "Change since window start", role: "tooltip", format: "percent" },
      ],
      span: 8,
    },
    {
      id: "top_gainers",
      title: "Top gainers",
      subtitle: "Largest 24 h price change among ranked coins",
      kind: "bar",
      view: "v_top_gainers",
      fields: [
        { column: "symbol", label: "Coin", role: "category", format: "symbol" },
        { column: "price_change_pct_24h", label: "24 h change", role: "value", format: "percent" },
        { column: "name", label: "Name", role: "tooltip", format: "text" },
        { column: "current_price", label: "Price", role: "tooltip", format: "usdPrice" },
      ],
      sort: { column: "price_change_pct_24h", direction: "desc" },
      span: 4,
    },
    {
      id: "core_7d",
      title: "BTC, ETH, USDT and SOL, last 7 days",
      subtitle: "Hourly closing price; each coin on its own scale",
      kind: "line",
      view: "v_trendline_core",
      fields: [
        { column: "hour_start", label: "Hour (UTC)", role: "x", format: "epochSeconds" },
        { column: "close_price", label: "Closing price", role: "y", format: "usdPrice", axis: "left" },
        { column: "symbol", label: "Coin", role: "series", format: "symbol" },
      ],
      smallMultiples: true,
      span: 8,
    },
    {
      id: "trending",
      title: "Trending",
      subtitle: "The 10 largest 7-day moves, up or down, among ranked coins",
      kind: "bar",
      view: "v_trending",
      fields: [
        { column: "symbol", label: "Coin", role: "category", format: "symbol" },
        { column: "price_change_pct_7d", label: "7 d change", role: "value", format: "percent" },
        { column: "name", label: "Name", role: "tooltip", format: "text" },
        { column: "current_price", label: "Price", role: "tooltip", format: "usdPrice" },
      ],
      sort: { column: "price_change_pct_7d", direction: "desc" },
      span: 4,
    },
    {
      id: "top_100",
      title: "Top 100 by market cap",
      subtitle: "Newest snapshot; click a header to sort",
      kind: "table",
      view: "v_top_100",
      fields: [
        { column: "market_cap_rank", label: "#", role: "column", format: "integer", sortable: true },
        { column: "name", label: "Coin", role: "column", format: "text" },
        { column: "symbol", label: "Symbol", role: "column", format: "symbol" },
        { column: "current_price", label: "Price", role: "column", format: "usdPrice", sortable: true },
        { column: "price_change_pct_1h", label: "1 h", role: "column", format: "percent", sortable: true },
        { column: "price_change_pct_24h", label: "24 h", role: "column", format: "percent", sortable: true },
        { column: "price_change_pct_7d", label: "7 d", role: "column", format: "percent", sortable: true },
        { column: "volume_24h", label: "24 h volume", role: "column", format: "usdCompact", sortable: true },
        { column: "market_cap", label: "Market cap", role: "column", format: "usdCompact", sortable: true },
      ],
      sort: { column: "market_cap_rank", direction: "asc" },
      span: 12,
    },
  ],
};

/** Roles each visual kind accepts, with how many fields of each it needs: [min, max]. */
export const ROLE_COUNTS: Readonly<Record<VisualKind, Partial<Record<FieldRole, readonly [number, number]>>>> = {
  kpi: { value: [1, 1], delta: [0, 1] },
  bar: { category: [1, 1], value: [1, 1], tooltip: [0, Infinity] },
  line: { x: [1, 1], y: [1, 2], series: [0, 1], tooltip: [0, Infinity] },
  table: { column: [1, Infinity] },
};

/** Formats that write numbers; a field with one of them must be a numeric column. */
export const NUMERIC_FORMATS: readonly FieldFormat[] = ["usdPrice", "usdCompact", "percent", "integer", "epochSeconds"];

/**
 * Everything wrong with a spec, as readable sentences (empty when it is sound): duplicate or malformed ids,
 * spans outside the grid, roles a kind does not take or needs more or fewer of, a sort on a column the
 * visual does not use, `series` with more than one `y`, small multiples without a `series`. With `columnTypes` (a view's column names and
 * whether each is numeric, or undefined for a view that does not exist) every field is also checked
 * against its view.
 */
export function dashboardSpecProblems(
  spec: DashboardSpec,
  columnTypes?: (view: string) => Record<string, { numeric: boolean }> | undefined,
): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  if (!Number.isInteger(spec.refreshSeconds) || spec.refreshSeconds < 1)
    problems.push(`refreshSeconds must be a positive integer, got ${spec.refreshSeconds}`);
  for (const visual of spec.visuals) {
    const at = `visual ${visual.id}`;
    if (!/^[a-z][a-z0-9_]*$/.test(visual.id)) problems.push(`${at}: id must be lower_snake`);
    if (ids.has(visual.id)) problems.push(`${at}: id is used twice`);
    ids.add(visual.id);
    if (!Number.isInteger(visual.span) || visual.span < 1 || visual.span > spec.gridColumns)
      problems.push(`${at}: span must be 1..${spec.gridColumns}, got ${visual.span}`);
    const allowed = ROLE_COUNTS[visual.kind];
    for (const field of visual.fields) {
      if (allowed[field.role] === undefined) problems.push(`${at}: a ${visual.kind} takes no ${field.role} field (${field.column})`);
    }
    for (const [role, [min, max]] of Object.entries(allowed) as [FieldRole, readonly [number, number]][]) {
      const count = visual.fields.filter((f) => f.role === role).length;
      if (count < min || count > max) problems.push(`${at}: needs ${min === max ? min : `${min}..${max}`} ${role} field(s), has ${count}`);
    }
    if (visual.fields.some((f) => f.role === "series") && visual.fields.filter((f) => f.role === "y").length > 1)
      problems.push(`${at}: a series split takes a single y field`);
    if (visual.smallMultiples === true && !visual.fields.some((f) => f.role === "series"))
      problems.push(`${at}: small multiples need a series field`);
    if (visual.sort !== undefined && !visual.fields.some((f) => f.column === visual.sort?.column))
      problems.push(`${at}: sorts on ${visual.sort.column}, which is not one of its fields`);
    if (columnTypes === undefined) continue;
    const columns = columnTypes(visual.view);
    if (columns === undefined) {
      problems.push(`${at}: view ${visual.view} does not exist`);
      continue;
    }
    for (const field of visual.fields) {
      const column = columns[field.column];
      if (column === undefined) problems.push(`${at}: view ${visual.view} has no column ${field.column}`);
      else if (NUMERIC_FORMATS.includes(field.format) && !column.numeric)
        problems.push(`${at}: ${field.column} is not numeric but has format ${field.format}`);
    }
  }
  return problems;
}

/** The distinct views a dashboard reads, in first-use order: the whitelist of the dashboard's data API. */
export function dashboardViews(spec: DashboardSpec = DASHBOARD_SPEC): string[] {
  return [...new Set(spec.visuals.map((v) => v.view))];
}
