/**
 * `crypto-analytics dashboard --lake DIR --out FILE.html`: the dashboard as one self-contained HTML file:
 * the page, its stylesheet, Chart.js and the rows of every view the spec names, all inlined, so it opens
 * from disk or a mail attachment with no server and no network.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DASHBOARD_SPEC, DashboardSpec, dashboardViews } from "../dashboard/spec";
import { DuckDbEngine } from "../local/duckdbEngine";
import { checkSpecAgainstViews, pageAssets, viewRows } from "../local/dashboardServer";
import { requireLake } from "../local/lakeFolder";

/** Options of {@link dashboardCommand}. */
export interface DashboardCommandOptions {
  /** The lake folder; must be a lake ({@link requireLake}). */
  lake: string;
  /** The HTML file to write; replaced atomically if it exists. */
  out: string;
  /** The dashboard. Defaults to {@link DASHBOARD_SPEC}. */
  spec?: DashboardSpec;
  /** Clock for the export time shown on the page, epoch ms. Defaults to `Date.now`. */
  now?: () => number;
}

/** What {@link dashboardCommand} wrote. */
export interface DashboardExport {
  /** Absolute path of the HTML file. */
  out: string;
  /** Its size in bytes. */
  bytes: number;
  /** Rows embedded per view. */
  rows: Record<string, number>;
}

/**
 * Queries every view of the spec on the lake and writes the static dashboard. The file appears complete or
 * not at all (written beside its target, then renamed). Throws if the lake folder does not exist or the
 * spec does not match the views.
 */
export async function dashboardCommand(options: DashboardCommandOptions): Promise<DashboardExport> {
  const spec = options.spec ?? DASHBOARD_SPEC;
  requireLake(options.lake);
  const views: Record<string, Record<string, unknown>[]> = {};
  // A one-shot export: the views read the window's files (the default window) rather than loading them first.
  const engine = await DuckDbEngine.open(options.lake);
  try {
    await checkSpecAgainstViews(engine, spec);
    for (const view of dashboardViews(spec)) views[view] = await viewRows(engine, view);
  } finally {
    engine.close();
  }
  const html = renderStaticDashboard(spec, views, new Date((options.now ?? Date.now)()).toISOString());
  const out = path.resolve(options.out);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const temp = path.join(path.dirname(out), `.${path.basename(out)}.${randomUUID()}.tmp`);
  try {
    fs.writeFileSync(temp, html);
    fs.renameSync(temp, out);
  } finally {
    fs.rmSync(temp, { force: true });
  }
  return { out, bytes: Buffer.byteLength(html), rows: Object.fromEntries(Object.entries(views).map(([v, rows]) => [v, rows.length])) };
}

/**
 * The page with every asset inlined and the data embedded as `window.__DASHBOARD_DATA__` (which app.js
 * reads instead of fetching). Throws if the page no longer references an asset the way it is replaced, or
 * an inlined script holds `</script`, either of which would break the file silently.
 */
export function renderStaticDashboard(spec: DashboardSpec, views: Record<string, Record<string, unknown>[]>, generatedAt: string): string {
  const assets = pageAssets();
  const read = (urlPath: string): string => {
    const asset = assets.find((a) => a.urlPath === urlPath);
    if (asset === undefined) throw new Error(`the page has no asset ${urlPath}`);
    return fs.readFileSync(asset.file, "utf8");
  };
  const script = (urlPath: string): string => {
    const code = read(urlPath);
    if (/<\/script/i.test(code)) throw new Error(`${urlPath} contains "</script" and cannot be inlined`);
    return `<script>\n${code}\n</script>`;
  };
  const data = `<script>window.__DASHBOARD_DATA__ = ${scriptJson({ spec, views, generatedAt })};</script>`;
  let html = read("/");
  for (const asset of assets.filter((a) => a.urlPath !== "/")) {
    const ref = asset.urlPath.slice(1);
    const quotedRef = ref.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // A <link> is a void element: `<link ...>` and `<link ... />` (as Prettier writes it) are the same tag.
    const tag = asset.urlPath.endsWith(".css")
      ? new RegExp(`<link rel="stylesheet" href="${quotedRef}"\\s*/?>`)
      : new RegExp(`<script src="${quotedRef}"></script>`);
    const inline = asset.urlPath.endsWith(".css")
      ? `<style>\n${read(asset.urlPath)}\n</style>`
      : asset.urlPath === "/app.js"
        ? `${data}\n${script(asset.urlPath)}`
        : script(asset.urlPath);
    const parts = html.split(tag);
    if (parts.length !== 2) throw new Error(`the page must reference ${ref} exactly once as ${tag.source}`);
    // Joined, not String.replace: Chart.js's code holds "$&"-like sequences that replace() would expand.
    html = parts.join(inline);
  }
  return html;
}

/** JSON safe inside a <script> element: no `<` (so no `</script>` or `<!--`), no U+2028/2029. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
