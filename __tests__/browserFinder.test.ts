/**
 * findBrowser (helpers/browser.ts), the browser test's way to the browser a user has: environment
 * variables first, then the platform's install locations, then Playwright's cache, else one line saying
 * how to get one. Each case builds a fake file system of executables in a temporary folder.
 */
import * as fs from "fs";
import * as path from "path";
import { findBrowser, NO_BROWSER_MESSAGE } from "./helpers/browser";
import { tempDirsRemovedAfterAll } from "./helpers/factories";

const tempDir = tempDirsRemovedAfterAll();

/** A fake file system: `root` for system locations, `home` for Playwright's cache. */
function sandbox(): { root: string; home: string; put: (file: string, executable?: boolean) => string } {
  const root = tempDir("browser-finder");
  const home = path.join(root, "home", "user");
  const put = (file: string, executable = true): string => {
    const full = path.join(root, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, "#!/bin/sh\n", { mode: executable ? 0o755 : 0o644 });
    return full;
  };
  return { root, home, put };
}

describe("findBrowser", () => {
  describe.each([
    ["linux", "/usr/bin/chromium", "/usr/bin/google-chrome"],
    ["darwin", "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome", "/Applications/Chromium.app/Contents/MacOS/Chromium"],
  ])("on %s", (platform, first, second) => {
    it("finds the usual install location, the first one in order when several exist", () => {
      const fake = sandbox();
      fake.put(second);
      expect(findBrowser({ env: {}, platform, home: fake.home, root: fake.root })).toBe(path.join(fake.root, second));
      fake.put(first);
      expect(findBrowser({ env: {}, platform, home: fake.home, root: fake.root })).toBe(path.join(fake.root, first));
    });

    it("skips a location holding a file that is not executable", () => {
      const fake = sandbox();
      fake.put(first, false);
      fake.put(second);
      expect(findBrowser({ env: {}, platform, home: fake.home, root: fake.root })).toBe(path.join(fake.root, second));
    });
  });

  it.each([
    ["linux", "home/user/.cache/ms-playwright", "chromium-1187/chrome-linux64/chrome"],
    ["linux", "home/user/.cache/ms-playwright", "chromium_headless_shell-1187/chrome-headless-shell-linux64/chrome-headless-shell"],
    [
      "darwin",
      "home/user/Library/Caches/ms-playwright",
      "chromium-1187/chrome-mac-arm64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
    ],
  ])("on %s, finds Playwright's download in %s: %s", (platform, cache, executable) => {
    const fake = sandbox();
    const file = fake.put(path.join(cache, executable));
    expect(findBrowser({ env: {}, platform, home: fake.home, root: fake.root })).toBe(file);
  });

  it("prefers the newest Playwright revision, and a full browser over a headless shell", () => {
    const fake = sandbox();
    const cache = "home/user/.cache/ms-playwright";
    fake.put(path.join(cache, "chromium_headless_shell-1200/chrome-linux/headless_shell"));
    fake.put(path.join(cache, "chromium-1090/chrome-linux/chrome"));
    const newest = fake.put(path.join(cache, "chromium-1187/chrome-linux/chrome"));
    expect(findBrowser({ env: {}, platform: "linux", home: fake.home, root: fake.root })).toBe(newest);
  });

  it("prefers an install location over Playwright's cache, and PLAYWRIGHT_BROWSERS_PATH over the default cache", () => {
    const fake = sandbox();
    const custom = fake.put("browsers/chromium-1187/chrome-linux/chrome");
    fake.put("home/user/.cache/ms-playwright/chromium-1187/chrome-linux/chrome");
    const search = {
      env: { PLAYWRIGHT_BROWSERS_PATH: path.join(fake.root, "browsers") },
      platform: "linux",
      home: fake.home,
      root: fake.root,
    };
    expect(findBrowser(search)).toBe(custom);
    const system = fake.put("/usr/bin/chromium-browser");
    expect(findBrowser(search)).toBe(system);
  });

  it.each(["CHROMIUM_PATH", "CHROME_PATH"])("takes %s over every location", (name) => {
    const fake = sandbox();
    fake.put("/usr/bin/chromium");
    const mine = fake.put("opt/my-chrome/chrome");
    expect(findBrowser({ env: { [name]: mine }, platform: "linux", home: fake.home, root: fake.root })).toBe(mine);
  });

  it("takes CHROMIUM_PATH over CHROME_PATH", () => {
    const fake = sandbox();
    const [chromium, chrome] = [fake.put("a/chromium"), fake.put("b/chrome")];
    expect(
      findBrowser({ env: { CHROME_PATH: chrome, CHROMIUM_PATH: chromium }, platform: "linux", home: fake.home, root: fake.root }),
    ).toBe(chromium);
  });

  it.each([
    ["a missing file", (fake: ReturnType<typeof sandbox>) => path.join(fake.root, "nowhere", "chrome")],
    ["a file that is not executable", (fake: ReturnType<typeof sandbox>) => fake.put("opt/chrome.txt", false)],
  ])("fails on CHROMIUM_PATH naming %s rather than launching something else", (_case, target) => {
    const fake = sandbox();
    fake.put("/usr/bin/chromium");
    const value = target(fake);
    expect(() => findBrowser({ env: { CHROMIUM_PATH: value }, platform: "linux", home: fake.home, root: fake.root })).toThrow(
      `CHROMIUM_PATH=${value} is not an executable file; point it at a Chromium or Chrome executable`,
    );
  });

  it.each(["linux", "darwin", "win32"])("on %s with no browser anywhere, fails with one line saying how to get one", (platform) => {
    const fake = sandbox();
    fake.put("home/user/.cache/ms-playwright/ffmpeg-1011/ffmpeg-linux");
    let message = "";
    try {
      findBrowser({ env: { CHROMIUM_PATH: "" }, platform, home: fake.home, root: fake.root });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe(NO_BROWSER_MESSAGE);
    expect(message).not.toContain("\n");
    expect(message).toMatch(/npx playwright-core install chromium.*CHROMIUM_PATH/);
  });

  it("finds this machine's browser with no arguments", () => {
    expect(fs.existsSync(findBrowser())).toBe(true);
  });
});
