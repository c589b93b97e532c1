/**
 * Finds the Chromium or Chrome the browser test drives, where users have one: the path in an environment
 * variable, the usual Linux and macOS install locations, or a browser Playwright downloaded into its
 * cache. When there is none, the test fails with one line saying how to get one; it never skips.
 */
import * as fs from "fs";
import * as path from "path";

/** Environment variables naming a browser executable, read in this order before any location. */
export const BROWSER_ENV_VARS = ["CHROMIUM_PATH", "CHROME_PATH"] as const;

/** The one line a test run prints when no browser is found. */
export const NO_BROWSER_MESSAGE =
  "no Chromium or Chrome found for the dashboard browser test: install one (apt install chromium, or Google Chrome), " +
  "run `npx playwright-core install chromium`, or set CHROMIUM_PATH to its executable";

/** Where package managers and installers put the browser, per platform. */
const SYSTEM_LOCATIONS: Record<string, readonly string[]> = {
  linux: [
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/snap/bin/chromium",
    "/usr/bin/google-chrome",
    "/usr/bin/google-chrome-stable",
    "/opt/google/chrome/chrome",
  ],
  darwin: ["/Applications/Google Chrome.app/Contents/MacOS/Google Chrome", "/Applications/Chromium.app/Contents/MacOS/Chromium"],
};

/** Playwright's browser cache under the home folder, per platform (its default PLAYWRIGHT_BROWSERS_PATH). */
const PLAYWRIGHT_CACHES: Record<string, string> = { linux: ".cache/ms-playwright", darwin: "Library/Caches/ms-playwright" };

/** The executable inside one of Playwright's `chromium-<revision>` or `chromium_headless_shell-<revision>` folders, across its layouts. */
const PLAYWRIGHT_EXECUTABLES = [
  "chrome-linux64/chrome",
  "chrome-linux/chrome",
  "chrome-headless-shell-linux64/chrome-headless-shell",
  "chrome-linux/headless_shell",
  "chrome-mac-arm64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
  "chrome-mac/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
  "chrome-mac/Chromium.app/Contents/MacOS/Chromium",
  "chrome-headless-shell-mac-arm64/chrome-headless-shell",
  "chrome-headless-shell-mac-x64/chrome-headless-shell",
];

/** Where {@link findBrowser} looks; every field defaults to this machine's. */
export interface BrowserSearch {
  /** Environment holding {@link BROWSER_ENV_VARS} and PLAYWRIGHT_BROWSERS_PATH. Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** `linux` or `darwin`; others have no known locations. Defaults to `process.platform`. */
  platform?: string;
  /** The home folder holding Playwright's cache. Defaults to `$HOME`. */
  home?: string;
  /** Folder the system locations are under (tests use a temporary one). Defaults to `/`. */
  root?: string;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Executables in Playwright's cache folder, newest revision first, full browsers before headless shells. */
function playwrightBrowsers(cache: string): string[] {
  const revision = (dir: string): number => Number(/-(\d+)$/.exec(dir)?.[1] ?? -1);
  const dirs = (fs.existsSync(cache) ? fs.readdirSync(cache) : []).filter((d) => /^chromium(_headless_shell)?-\d+$/.test(d));
  dirs.sort((a, b) => Number(a.includes("headless")) - Number(b.includes("headless")) || revision(b) - revision(a));
  return dirs.flatMap((dir) => PLAYWRIGHT_EXECUTABLES.map((exe) => path.join(cache, dir, exe)));
}

/**
 * The browser executable to launch: the first of {@link BROWSER_ENV_VARS} that is set (which must then
 * name an executable: a wrong path is an error, not a reason to look elsewhere), else the first executable
 * among the platform's install locations, else the newest in Playwright's cache. Throws
 * {@link NO_BROWSER_MESSAGE} when there is none.
 */
export function findBrowser(search: BrowserSearch = {}): string {
  const env = search.env ?? process.env;
  const platform = search.platform ?? process.platform;
  const home = search.home ?? env.HOME ?? "";
  const root = search.root ?? "/";
  for (const name of BROWSER_ENV_VARS) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    if (!isExecutable(value)) throw new Error(`${name}=${value} is not an executable file; point it at a Chromium or Chrome executable`);
    return value;
  }
  const system = (SYSTEM_LOCATIONS[platform] ?? []).map((location) => path.join(root, location));
  const caches = [
    env.PLAYWRIGHT_BROWSERS_PATH,
    PLAYWRIGHT_CACHES[platform] === undefined ? undefined : path.join(home, PLAYWRIGHT_CACHES[platform]),
  ];
  const cached = caches.filter((c): c is string => c !== undefined && c !== "" && c !== "0").flatMap(playwrightBrowsers);
  const found = [...system, ...cached].find(isExecutable);
  if (found === undefined) throw new Error(NO_BROWSER_MESSAGE);
  return found;
}
