/**
 * The local dashboard server over a small simulated lake: it binds 127.0.0.1 only, serves the page and
 * Chart.js from node_modules, the spec as JSON and exactly the spec's views; everything else is a 404 and
 * nothing else reaches DuckDB. Also: the spec itself matches the views' real schemas, and the spec checker
 * catches broken specs.
 */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import { localTransform } from "../local/localTransform";
import { simulateCommand } from "../cli/simulateCommand";
import { queryCommand } from "../cli/queryCommand";
import { DASHBOARD_SPEC, DashboardSpec, dashboardSpecProblems, dashboardViews, VisualSpec } from "../dashboard/spec";
import { viewNames } from "../functions/sqlFiles";
import { chartJsPath, DashboardServer, pageAssets, startDashboardServer } from "../local/dashboardServer";
import { deriveViewSchemas } from "../local/duckdbEngine";
import { makeTempDir, recorder, removeTempDir } from "./helpers/factories";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request sent with its path exactly as given (no normalisation of `..` or escapes). */
function request(port: number, path: string, options: { method?: string; host?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: { host: options.host ?? `127.0.0.1:${port}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Whether a TCP connection to address:port is refused. */
function refused(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

let lake: string;
let server: DashboardServer;
const viewFailures: string[] = [];

beforeAll(async () => {
  lake = makeTempDir("dashboard-server");
  await simulateCommand({ lake, days: 1, coins: 60, everyMinutes: 60 });
  await localTransform({ lake, all: true, logger: recorder().logger });
  server = await startDashboardServer({ lake, port: 0, onError: (view) => viewFailures.push(view) });
}, 60_000);

afterAll(async () => {
  await server?.close();
  removeTempDir(lake);
});

describe("binding", () => {
  it("listens on 127.0.0.1 only: every other address of this machine refuses the connection", async () => {
    const others = Object.values(os.networkInterfaces())
      .flat()
      .filter((i): i is os.NetworkInterfaceInfo => i !== undefined && i.address !== "127.0.0.1" && !i.address.startsWith("fe80:"))
      .map((i) => i.address);

    expect(server.address).toBe("127.0.0.1");
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(await refused("127.0.0.1", server.port)).toBe(false);
    for (const address of others) expect(await refused(address, server.port)).toBe(true);
  });

  it("fails with a one-line reason when the port is taken", async () => {
    await expect(startDashboardServer({ lake, port: server.port })).rejects.toThrow(
      `port ${server.port} on 127.0.0.1 is already in use: stop the other program or pass --port`,
    );
  });
});

describe("page and assets", () => {
  it.each(pageAssets().map((a) => [a.urlPath, a.contentType, a.file] as const))(
    "serves %s as %s, byte for byte",
    async (urlPath, contentType, file) => {
      const answer = await request(server.port, urlPath);

      expect(answer.status).toBe(200);
      expect(answer.headers["content-type"]).toBe(contentType);
      expect(answer.body.equals(fs.readFileSync(file))).toBe(true);
      expect(answer.headers["content-security-policy"]).toContain("script-src 'self'");
    },
  );

  it("takes Chart.js from the installed chart.js package, which the page loads from this server", async () => {
    const html = (await request(server.port, "/")).body.toString("utf8");
    const chart = await request(server.port, "/vendor/chart.umd.min.js");

    expect(chartJsPath()).toBe(require.resolve("chart.js").replace(/chart\.cjs$/, "chart.umd.min.js"));
    expect(chart.body.toString("utf8")).toContain("Chart.js v4");
    expect(html).toContain('<script src="vendor/chart.umd.min.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("serves the dashboard spec as JSON", async () => {
    const answer = await request(server.port, "/api/spec");

    expect(answer.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(answer.body.toString("utf8"))).toEqual(DASHBOARD_SPEC);
  });
});

describe("views API", () => {
  it.each(dashboardViews())("GET /api/views/%s answers the view's rows, as `query --format json` prints them", async (view) => {
    const answer = await request(server.port, `/api/views/${view}`);

    expect(answer.status).toBe(200);
    expect(answer.headers["cache-control"]).toBe("no-store");
    const rows = JSON.parse(answer.body.toString("utf8")) as unknown[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows).toEqual(JSON.parse(await queryCommand({ lake, view, format: "json" })));
  });

  const realButNotOnTheDashboard = viewNames().filter((v) => !dashboardViews().includes(v));

  it.each([
    ["an unknown view", "/api/views/v_nope"],
    ["a lake table", "/api/views/analytics_prices"],
    ["a real view the dashboard does not use", `/api/views/${realButNotOnTheDashboard[0]}`],
    ["path traversal", "/api/views/../../package.json"],
    ["encoded path traversal", "/api/views/%2e%2e%2f%2e%2e%2fpackage.json"],
    ["traversal to the page folder", "/../dashboard/page/app.js"],
    ["the page folder by path", "/dashboard/page/index.html"],
    ["SQL appended to a view name", "/api/views/v_top_100;DROP%20TABLE%20x"],
    ["SQL appended with a quote", "/api/views/v_top_100'--"],
    ["SQL appended with encoded spaces", "/api/views/v_top_100%20UNION%20SELECT%201"],
    ["an encoded whitelisted name", "/api/views/v%5Ftop%5F100"],
    ["a trailing segment", "/api/views/v_top_100/extra"],
    ["an empty view name", "/api/views/"],
    ["the API root", "/api/views"],
    ["a file beside the page", "/package.json"],
    ["the node_modules copy of Chart.js", "/node_modules/chart.js/dist/chart.umd.min.js"],
  ])("%s is a 404 (%s)", async (_case, path) => {
    const answer = await request(server.port, path);

    expect(answer.status).toBe(404);
    expect(answer.body.toString("utf8")).toBe("not found\n");
  });

  it("has real views outside the whitelist to refuse (so the case above means something), and no whitelisted view failed", () => {
    expect(realButNotOnTheDashboard.length).toBeGreaterThan(0);
    expect(viewFailures).toEqual([]);
  });

  it.each(["POST", "PUT", "DELETE"])("refuses %s with 405", async (method) => {
    const answer = await request(server.port, "/api/views/v_top_100", { method });

    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe("GET, HEAD");
  });

  it("answers HEAD without a body", async () => {
    const answer = await request(server.port, "/api/spec", { method: "HEAD" });

    expect(answer.status).toBe(200);
    expect(answer.body.byteLength).toBe(0);
  });

  it.each(["evil.example", "attacker.test:8787", "127.0.0.2"])(
    "refuses a request whose Host header is %s (DNS rebinding)",
    async (host) => {
      const answer = await request(server.port, "/api/views/v_top_100", { host });

      expect(answer.status).toBe(403);
    },
  );

  it("accepts localhost as the Host", async () => {
    expect((await request(server.port, "/api/spec", { host: `localhost:${server.port}` })).status).toBe(200);
  });
});

describe("the dashboard spec", () => {
  let schemas: Map<string, Record<string, { numeric: boolean }>>;
  beforeAll(async () => {
    schemas = new Map(
      (await deriveViewSchemas()).map((s) => [
        s.name,
        Object.fromEntries(s.columns.map((c) => [c.name, { numeric: c.type !== "string" }])),
      ]),
    );
  });

  it("names only real views and columns, with number formats on numeric columns only", () => {
    expect(dashboardSpecProblems(DASHBOARD_SPEC, (view) => schemas.get(view))).toEqual([]);
  });

  const visual = (id: string): VisualSpec => DASHBOARD_SPEC.visuals.find((v) => v.id === id) as VisualSpec;
  const withVisual = (changed: VisualSpec): DashboardSpec => ({
    ...DASHBOARD_SPEC,
    visuals: DASHBOARD_SPEC.visuals.map((v) => (v.id === changed.id ? changed : v)),
  });

  it.each([
    ["an unknown view", withVisual({ ...visual("top_100"), view: "v_missing" }), "visual top_100: view v_missing does not exist"],
    [
      "an unknown column",
      withVisual({
        ...visual("top_gainers"),
        fields: [...visual("top_gainers").fields, { column: "nope", label: "x", role: "tooltip", format: "text" }],
      }),
      "visual top_gainers: view v_top_gainers has no column nope",
    ],
    [
      "a number format on text",
      withVisual({
        ...visual("trending"),
        fields: visual("trending").fields.map((f) => (f.column === "symbol" ? { ...f, format: "percent" as const } : f)),
      }),
      "visual trending: symbol is not numeric but has format percent",
    ],
    [
      "a KPI without value",
      withVisual({ ...visual("total_market_cap"), fields: visual("total_market_cap").fields.filter((f) => f.role !== "value") }),
      "visual total_market_cap: needs 1 value field(s), has 0",
    ],
    [
      "a role the kind does not take",
      withVisual({
        ...visual("total_volume_24h"),
        fields: [...visual("total_volume_24h").fields, { column: "coins", label: "Coins", role: "x", format: "integer" }],
      }),
      "visual total_volume_24h: a kpi takes no x field (coins)",
    ],
    [
      "a sort on a column the visual lacks",
      withVisual({ ...visual("top_100"), sort: { column: "timestamp", direction: "asc" } }),
      "visual top_100: sorts on timestamp, which is not one of its fields",
    ],
    ["a span wider than the grid", withVisual({ ...visual("btc_24h"), span: 13 }), "visual btc_24h: span must be 1..12, got 13"],
    [
      "a duplicate id",
      { ...DASHBOARD_SPEC, visuals: [...DASHBOARD_SPEC.visuals, visual("trending")] },
      "visual trending: id is used twice",
    ],
    [
      "small multiples without a series",
      withVisual({ ...visual("btc_24h"), smallMultiples: true }),
      "visual btc_24h: small multiples need a series field",
    ],
  ])("catches %s", (_case, spec, problem) => {
    expect(dashboardSpecProblems(spec, (view) => schemas.get(view))).toEqual([problem]);
  });

  it("keeps a server from starting on a spec that does not match the views", async () => {
    const broken = withVisual({ ...visual("top_100"), view: "v_missing" });

    await expect(startDashboardServer({ lake, port: 0, spec: broken })).rejects.toThrow(
      "dashboard spec crypto_market is invalid: visual top_100: view v_missing does not exist",
    );
  });

  it("reports why a known view could not be described (here its clock failing), never as a missing view", async () => {
    // Arrange: a clock that answers the engine's opening read, then fails as a killed process's does.
    let reads = 0;
    const now = (): number => {
      if (++reads > 1) throw new Error("the clock is gone");
      return Date.now();
    };

    // Act + Assert: the clock's own error, with the view it stopped, and no spec problem invented.
    const start = startDashboardServer({ lake, port: 0, now });
    await expect(start).rejects.toThrow(`dashboard spec crypto_market: cannot describe view ${dashboardViews(DASHBOARD_SPEC)[0]}`);
    await expect(start).rejects.toThrow("the clock is gone");
    await expect(start).rejects.not.toThrow("does not exist");
  });
});
