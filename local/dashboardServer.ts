/**
 * The local dashboard server: node:http on 127.0.0.1 only, serving the page (dashboard/page), Chart.js from
 * the installed npm package (never a CDN), the dashboard spec as JSON and one read-only JSON API,
 * `GET /api/views/<name>`, which runs only the views the spec names. Nothing else reaches DuckDB; every
 * other path is a 404.
 *
 * DuckDB: one engine per server, opened at start, shared by all requests, holding the views' window in
 * memory (loaded while the server starts, by the spec check's first view statement). The engine runs
 * statements one at a time (its own queue), so concurrent requests cannot interleave on the connection.
 * The transform may write to the lake meanwhile from another engine: it publishes each Parquet file by
 * rename from a staging folder outside the tables' globs, and the engine re-lists the window's folders
 * before every view query, appending the files that appeared, so a query sees a file either whole or not
 * at all.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as path from "node:path";
import { DASHBOARD_SPEC, DashboardSpec, dashboardSpecProblems, dashboardViews } from "../dashboard/spec";
import { viewNames } from "../functions/sqlFiles";
import { DuckDbEngine } from "./duckdbEngine";

/** Port of the local dashboard by default. */
export const DEFAULT_DASHBOARD_PORT = 8787;

/** The only interface the server listens on: the dashboard is for this machine, not the network. */
export const DASHBOARD_HOST = "127.0.0.1";

/** Folder of the page's files, relative to the package root. */
export const PAGE_DIR = "dashboard/page";

/** Chart.js's standalone browser build, next to the package's CommonJS entry. */
export const CHART_JS_FILE = "chart.umd.min.js";

/** URL path prefix of the views API. */
export const VIEWS_API_PREFIX = "/api/views/";

/** URL path of the spec as JSON. */
export const SPEC_API_PATH = "/api/spec";

/** A file the page is made of. */
export interface PageAsset {
  /** URL path the server answers it on; the page refers to it by the same path without the leading `/`. */
  urlPath: string;
  /** Content-Type header. */
  contentType: string;
  /** Absolute file path. */
  file: string;
}

let cachedPageRoot: string | undefined;

/**
 * Absolute path of the page folder: the nearest ancestor of this module holding `package.json` and
 * `dashboard/page/index.html` (the repository under ts-node, the installed package from `dist/local/`).
 */
export function pageRoot(): string {
  if (cachedPageRoot !== undefined) return cachedPageRoot;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, PAGE_DIR, "index.html"))) {
      cachedPageRoot = path.join(dir, PAGE_DIR);
      return cachedPageRoot;
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find ${PAGE_DIR}/ above ${__dirname}: the package is incomplete`);
  }
}

/** Chart.js's browser build from node_modules; chart.js exports no subpath for it, so it is found beside the main entry. */
export function chartJsPath(): string {
  return path.join(path.dirname(require.resolve("chart.js")), CHART_JS_FILE);
}

/** Every file of the page, by URL path. `/` is the HTML page. */
export function pageAssets(): PageAsset[] {
  const root = pageRoot();
  return [
    { urlPath: "/", contentType: "text/html; charset=utf-8", file: path.join(root, "index.html") },
    { urlPath: "/app.js", contentType: "text/javascript; charset=utf-8", file: path.join(root, "app.js") },
    { urlPath: "/style.css", contentType: "text/css; charset=utf-8", file: path.join(root, "style.css") },
    { urlPath: `/vendor/${CHART_JS_FILE}`, contentType: "text/javascript; charset=utf-8", file: chartJsPath() },
  ];
}

/**
 * Rows of one view as the API and the static export serve them: every column, sorted by every column left
 * to right (as `crypto-analytics query` prints them), BIGINTs as numbers when safe, else decimal strings.
 * The caller must have checked `view` against a whitelist: it is spliced into the SQL as an identifier.
 */
export async function viewRows(engine: DuckDbEngine, view: string): Promise<Record<string, unknown>[]> {
  return (await engine.execute(`SELECT * FROM ${view} ORDER BY ALL`)).rows;
}

/**
 * Checks a spec against the views' real schemas on `engine` and throws an Error listing every problem
 * (unknown view or column, a text column with a number format, a malformed visual).
 */
export async function checkSpecAgainstViews(engine: DuckDbEngine, spec: DashboardSpec): Promise<void> {
  const schemas = new Map<string, Record<string, { numeric: boolean }>>();
  const known = new Set(viewNames());
  // An unknown view is left out: dashboardSpecProblems reports it below, with the visual that names it. A
  // known view that cannot be described is a broken engine or lake, not a bad spec: its error propagates.
  for (const view of dashboardViews(spec).filter((v) => known.has(v))) {
    let columns;
    try {
      columns = await engine.viewSchema(view);
    } catch (err) {
      throw new Error(`dashboard spec ${spec.id}: cannot describe view ${view}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    schemas.set(view, Object.fromEntries(columns.map((c) => [c.name, { numeric: c.type !== "string" }])));
  }
  const problems = dashboardSpecProblems(spec, (view) => schemas.get(view));
  if (problems.length > 0) throw new Error(`dashboard spec ${spec.id} is invalid: ${problems.join("; ")}`);
}

/** Options of {@link startDashboardServer}. */
export interface DashboardServerOptions {
  /** The lake folder whose views are served. */
  lake: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. Defaults to {@link DEFAULT_DASHBOARD_PORT}. */
  port?: number;
  /** The dashboard to serve. Defaults to {@link DASHBOARD_SPEC}. */
  spec?: DashboardSpec;
  /** Told about each failed view query (the request answers 500). Defaults to none. */
  onError?: (view: string, err: unknown) => void;
  /** The views' clock, epoch ms (see {@link DuckDbEngineOptions.now}). Defaults to `Date.now`. */
  now?: () => number;
}

/** A running dashboard server. */
export interface DashboardServer {
  /** `http://127.0.0.1:<port>/`. */
  url: string;
  /** The address actually bound: {@link DASHBOARD_HOST}. */
  address: string;
  /** The port actually bound. */
  port: number;
  /** Stops accepting requests, waits for those in flight, closes DuckDB. */
  close(): Promise<void>;
}

/**
 * Starts the server: opens DuckDB over the lake, checks the spec against the views (throws if it names a
 * missing view or column; this loads the views' window into memory), reads the page files, then listens on 127.0.0.1. Throws a one-line reason when
 * the port is taken.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const spec = options.spec ?? DASHBOARD_SPEC;
  const port = options.port ?? DEFAULT_DASHBOARD_PORT;
  const engine = await DuckDbEngine.open(options.lake, { window: "memory", now: options.now });
  let server: http.Server;
  try {
    await checkSpecAgainstViews(engine, spec);
    const assets = new Map(pageAssets().map((a) => [a.urlPath, { contentType: a.contentType, body: fs.readFileSync(a.file) }]));
    const specJson = Buffer.from(JSON.stringify(spec));
    const whitelist = new Set(dashboardViews(spec));
    const inFlight = new Set<Promise<void>>();

    server = http.createServer((req, res) => {
      const work = handle(req, res).catch(() => undefined);
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    });
    const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
      const boundPort = (server.address() as AddressInfo).port;
      // A page on another site could point a DNS name at 127.0.0.1 (DNS rebinding); only our own names are served.
      if (!allowedHost(req.headers.host, boundPort)) return send(res, 403, "text/plain; charset=utf-8", "forbidden host\n");
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.setHeader("Allow", "GET, HEAD");
        return send(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
      }
      const urlPath = (req.url ?? "/").split("?")[0];
      const asset = assets.get(urlPath);
      if (asset !== undefined) return send(res, 200, asset.contentType, asset.body, req.method === "HEAD");
      if (urlPath === SPEC_API_PATH) return send(res, 200, "application/json", specJson, req.method === "HEAD");
      const view = urlPath.startsWith(VIEWS_API_PREFIX) ? urlPath.slice(VIEWS_API_PREFIX.length) : undefined;
      // Compared as raw text, undecoded: "%2e%2e%2f" or any other spelling is simply not a whitelisted name.
      if (view === undefined || !whitelist.has(view)) return send(res, 404, "text/plain; charset=utf-8", "not found\n");
      try {
        const rows = await viewRows(engine, view);
        return send(res, 200, "application/json", JSON.stringify(rows), req.method === "HEAD");
      } catch (err) {
        options.onError?.(view, err);
        return send(res, 500, "application/json", JSON.stringify({ error: `view ${view} failed` }));
      }
    };
    await listen(server, port);
    let closing: Promise<void> | undefined;
    const bound = server.address() as AddressInfo;
    return {
      url: `http://${DASHBOARD_HOST}:${bound.port}/`,
      address: bound.address,
      port: bound.port,
      close: () => {
        closing ??= (async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          await Promise.all([...inFlight]);
          server.closeAllConnections();
          await closed;
          engine.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    engine.close();
    throw err;
  }
}

/** Binds 127.0.0.1:port; rejects with a one-line reason when it cannot. */
function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new Error(
          err.code === "EADDRINUSE"
            ? `port ${port} on ${DASHBOARD_HOST} is already in use: stop the other program or pass --port`
            : `cannot listen on ${DASHBOARD_HOST}:${port}: ${err.message}`,
        ),
      );
    };
    server.once("error", onError);
    server.listen(port, DASHBOARD_HOST, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Whether a Host header names this server: 127.0.0.1 or localhost, on its port. */
function allowedHost(host: string | undefined, port: number): boolean {
  return host === `${DASHBOARD_HOST}:${port}` || host === `localhost:${port}`;
}

/** Writes a complete response with the headers every answer carries. */
function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer, headOnly = false): void {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": bytes.byteLength,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    // The page loads only its own files and talks only to this server.
    "Content-Security-Policy":
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  });
  res.end(headOnly ? undefined : bytes);
}
