/**
 * The dashboard in headless Chromium or Chrome (playwright-core, the browser findBrowser finds: CHROMIUM_PATH,
 * the usual install locations or Playwright's cache; none is a failure saying how to get one) over a simulated lake:
 * served by the local server, its KPIs equal `crypto-analytics query v_total_market_cap`, the table has 100
 * rows and sorts, every chart is drawn with data, and it refreshes itself; the static export renders the
 * same with every request other than file:// blocked. Screenshots go to __tests__/artifacts/.
 */
import * as fs from "fs";
import * as path from "path";
import { Browser, chromium, Page } from "playwright-core";
import { dashboardCommand } from "../cli/dashboardCommand";
import { queryCommand } from "../cli/queryCommand";
import { simulateCommand } from "../cli/simulateCommand";
import { localTransform } from "../local/localTransform";
import { DASHBOARD_SPEC } from "../dashboard/spec";
import { DashboardServer, startDashboardServer } from "../local/dashboardServer";
import { findBrowser } from "./helpers/browser";
import { makeTempDir, recorder, removeTempDir } from "./helpers/factories";

/** Where screenshots are kept (git-ignored). */
const ARTIFACTS = path.join(__dirname, "artifacts");
/** More than 100 coins, so the top-100 table can fill (one simulated coin is unranked). */
const COINS = 120;
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const VIEWPORT = { width: 1400, height: 1000 };

let lake: string;
let server: DashboardServer;
let browser: Browser;

beforeAll(async () => {
  // First, so a machine without a browser fails at once with the one line saying how to get one.
  const executablePath = findBrowser();
  lake = makeTempDir("dashboard-browser");
  // A little over a day, hourly: the KPIs' 24 h comparison and every chart have data.
  await simulateCommand({ lake, days: 1.1, coins: COINS, everyMinutes: 60 });
  await localTransform({ lake, all: true, logger: recorder().logger });
  server = await startDashboardServer({ lake, port: 0 });
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  removeTempDir(lake);
});

/** Errors the page reported (console errors, uncaught exceptions). */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}

/** Every Chart.js instance of the page: its key, number of data points and non-transparent canvas pixels. */
function chartsDrawn(page: Page): Promise<{ key: string; points: number; inkedPixels: number }[]> {
  // Runs in the page; typed structurally because this project compiles without the DOM library.
  type Canvas = {
    width: number;
    height: number;
    getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
  };
  type PageWindow = { dashboard: { charts: Record<string, { canvas: Canvas; data: { datasets: { data: unknown[] }[] } }> } };
  return page.evaluate(() => {
    const charts = (globalThis as unknown as PageWindow).dashboard.charts;
    return Object.entries(charts).map(([key, chart]) => {
      const { width, height } = chart.canvas;
      const pixels = chart.canvas.getContext("2d").getImageData(0, 0, width, height).data;
      let inked = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked += 1;
      return { key, points: chart.data.datasets.reduce((n, d) => n + d.data.length, 0), inkedPixels: inked };
    });
  });
}

/** The `data-value` of each element, as numbers (evaluated in the page). */
function dataValues(page: Page, selector: string): Promise<number[]> {
  return page
    .locator(selector)
    .evaluateAll((cells) => cells.map((c) => Number((c as unknown as { dataset: { value: string } }).dataset.value)));
}

/** The chart keys the spec implies: one per bar or line visual, one per series value for small multiples. */
const EXPECTED_CHARTS = ["btc_24h", "top_gainers", "trending", ...["btc", "eth", "sol", "usdt"].map((s) => `core_7d/${s}`)].sort();

/** Checks that every expected chart is drawn with data: points in its datasets and ink on its canvas. */
async function expectEveryChartDrawn(page: Page): Promise<void> {
  const charts = await chartsDrawn(page);
  expect(charts.map((c) => c.key).sort()).toEqual(EXPECTED_CHARTS);
  for (const chart of charts) {
    expect({ key: chart.key, hasPoints: chart.points > 0, inked: chart.inkedPixels > 2_000 }).toEqual({
      key: chart.key,
      hasPoints: true,
      inked: true,
    });
  }
}

/** A compact dollar amount as the page writes it (`$2.53T`), back to a number. */
function parseCompactUsd(text: string): number {
  const m = /^(-?)\$([\d.]+)([KMBT]?)$/.exec(text.trim());
  if (m === null) throw new Error(`not a compact dollar amount: ${text}`);
  const scale = { "": 1, K: 1e3, M: 1e6, B: 1e9, T: 1e12 }[m[3] as "" | "K" | "M" | "B" | "T"];
  return (m[1] === "-" ? -1 : 1) * Number(m[2]) * scale;
}

describe("served dashboard", () => {
  let page: Page;
  let errors: string[];

  const viewRequests: string[] = [];

  beforeAll(async () => {
    page = await browser.newPage({ viewport: VIEWPORT });
    errors = collectErrors(page);
    // A controlled page clock, so the self-refresh test can move a minute on at once.
    await page.clock.install();
    page.on("request", (r) => r.url().includes("/api/views/") && viewRequests.push(new URL(r.url()).pathname));
    await page.goto(server.url);
    await page.waitForSelector("body[data-state=ready]");
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard.png"), fullPage: true });
  }, 30_000);

  afterAll(async () => {
    await page?.close();
  });

  it("shows the KPIs of `crypto-analytics query v_total_market_cap`, value and change", async () => {
    const [expected] = JSON.parse(await queryCommand({ lake, view: "v_total_market_cap", format: "json" })) as Record<string, number>[];
    const kpi = async (visual: string, column: string): Promise<{ value: string; text: string }> => {
      const cell = page.locator(`#visual-${visual} [data-column="${column}"]`);
      return { value: (await cell.getAttribute("data-value")) ?? "", text: await cell.innerText() };
    };

    const marketCap = await kpi("total_market_cap", "total_market_cap");
    const marketCapChange = await kpi("total_market_cap", "market_cap_change_pct");
    const volume = await kpi("total_volume_24h", "total_volume_24h");
    const volumeChange = await kpi("total_volume_24h", "volume_change_pct");

    expect(Number(marketCap.value)).toBe(expected.total_market_cap);
    expect(Number(volume.value)).toBe(expected.total_volume_24h);
    expect(Number(marketCapChange.value)).toBe(expected.market_cap_change_pct);
    expect(Number(volumeChange.value)).toBe(expected.volume_change_pct);
    // What the reader sees says the same, rounded: $2.53T is within half a unit of the last digit.
    expect(Math.abs(parseCompactUsd(marketCap.text) / expected.total_market_cap - 1)).toBeLessThan(0.005);
    expect(Math.abs(parseCompactUsd(volume.text) / expected.total_volume_24h - 1)).toBeLessThan(0.005);
    expect(marketCapChange.text).toContain(`${expected.market_cap_change_pct > 0 ? "+" : ""}${expected.market_cap_change_pct.toFixed(2)}%`);
  });

  it("lists the top 100 coins, ranks 1 to 100 in order", async () => {
    const ranks = await dataValues(page, "#visual-top_100 tbody tr td:first-child");

    expect(ranks).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it("draws every chart with data", async () => {
    await expectEveryChartDrawn(page);
  });

  it("sorts the table by price when its header is clicked, descending then ascending", async () => {
    const priceColumn = DASHBOARD_SPEC.visuals
      .find((v) => v.id === "top_100")
      ?.fields.findIndex((f) => f.column === "current_price") as number;
    const prices = (): Promise<number[]> => dataValues(page, `#visual-top_100 tbody tr td:nth-child(${priceColumn + 1})`);
    const header = page.locator('#visual-top_100 th[data-column="current_price"]');

    await header.locator("button").click();
    const descending = await prices();
    await header.locator("button").click();
    const ascending = await prices();

    expect(descending).toHaveLength(100);
    expect(descending).toEqual([...descending].sort((a, b) => b - a));
    expect(ascending).toEqual([...descending].reverse());
    expect(await header.getAttribute("aria-sort")).toBe("ascending");
  });

  it("refreshes itself every refreshSeconds, fetching every view again without a reload", async () => {
    const firstRound = viewRequests.length;

    await page.clock.runFor(DASHBOARD_SPEC.refreshSeconds * 1000);
    await page.waitForSelector("body[data-refreshes='2']");

    expect(firstRound).toBe(new Set(DASHBOARD_SPEC.visuals.map((v) => v.view)).size);
    expect(viewRequests.slice(firstRound).sort()).toEqual(viewRequests.slice(0, firstRound).sort());
    await expectEveryChartDrawn(page);
    expect(await page.locator("#visual-top_100 tbody tr").count()).toBe(100);
  });

  it("logs no error", () => {
    expect(errors).toEqual([]);
  });
});

describe("static export", () => {
  it("opens from disk and renders everything with every non-file request blocked", async () => {
    const out = path.join(lake, "export", "dashboard.html");
    const exported = await dashboardCommand({ lake, out });
    const context = await browser.newContext({ viewport: VIEWPORT, offline: true });
    const page = await context.newPage();
    const errors = collectErrors(page);
    const requested: string[] = [];
    const blocked: string[] = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      requested.push(url);
      if (url.startsWith("file://")) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    try {
      await page.goto(`file://${exported.out}`);
      await page.waitForSelector("body[data-state=ready]");
      await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-static.png"), fullPage: true });

      expect(blocked).toEqual([]);
      expect(requested).toEqual([`file://${exported.out}`]);
      expect(await page.locator("#visual-top_100 tbody tr").count()).toBe(100);
      await expectEveryChartDrawn(page);
      const [expected] = JSON.parse(await queryCommand({ lake, view: "v_total_market_cap", format: "json" })) as Record<string, number>[];
      expect(Number(await page.locator('#visual-total_market_cap [data-column="total_market_cap"]').getAttribute("data-value"))).toBe(
        expected.total_market_cap,
      );
      expect(errors).toEqual([]);
      expect(exported.rows.v_top_100).toBe(100);
    } finally {
      await context.close();
    }
  });
});
