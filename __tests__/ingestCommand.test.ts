import * as fs from "fs";
import * as path from "path";
import { API_KEY_ENV, ingestCommand, IngestCommandOptions } from "../cli/ingestCommand";
import { parseNdjsonGz } from "../functions/ndjson";
import { CoinGeckoStandIn, ScriptedResponse, startCoinGeckoStandIn } from "./helpers/coingeckoStandIn";
import { errorCodeResponse, fixtureBytes, fixturePage, makeTempDir, rateLimited, removeTempDir } from "./helpers/factories";

const FLAG_KEY = "CG-flagKey-0000111122";
const ENV_KEY = "CG-envKey-3333444455";
const AT = "2024-09-03T07:02:13Z";
const DAY_DIR = ["year=2024", "month=9", "day=3", "hour=7"];

let lake: string;
let standIn: CoinGeckoStandIn;
let logLines: string[];
let statusLines: string[];

beforeEach(() => {
  lake = path.join(makeTempDir("ingest-cli"), "lake");
  logLines = [];
  statusLines = [];
});
afterEach(async () => {
  await standIn?.close();
  removeTempDir(path.dirname(lake));
});

async function run(responses: ScriptedResponse[], opts: Partial<IngestCommandOptions>) {
  standIn = await startCoinGeckoStandIn({ responses });
  return ingestCommand({
    lake,
    apiUrl: standIn.baseUrl,
    env: {},
    logSink: (l) => logLines.push(l),
    status: (l) => statusLines.push(l),
    ...opts,
  });
}

describe("crypto-analytics ingest", () => {
  it("writes one snapshot into the lake folder at the --at slot", async () => {
    const result = await run([fixturePage("cgdata-page1-250.json")], { apiKey: FLAG_KEY, at: AT });

    expect(result).toMatchObject({ timestamp: 1725346800, status: "written", coins: 250 });
    const raw = fs.readFileSync(path.join(lake, "raw", ...DAY_DIR, "1725346800.json"));
    expect(raw.equals(fixtureBytes("cgdata-page1-250.json"))).toBe(true);
    expect(fs.existsSync(path.join(lake, "raw", ...DAY_DIR, "1725346800.request.json"))).toBe(true);
    expect(parseNdjsonGz(fs.readFileSync(path.join(lake, "processed", ...DAY_DIR, "1725346800.ndjson.gz")))).toHaveLength(250);
    expect(standIn.requests[0].headers["x-cg-demo-api-key"]).toBe(FLAG_KEY);
    expect(logLines.join("\n")).not.toContain(FLAG_KEY);
  });

  it("is a no-op the second time for the same --at", async () => {
    await run([fixturePage("recorded-5-coins.json")], { at: AT });
    await standIn.close();
    const again = await run([fixturePage("cgdata-page1-250.json")], { at: AT });
    expect(again).toMatchObject({ status: "already-written", coins: 5 });
  });

  it.each([
    ["the environment variable when --api-key is absent", { env: { [API_KEY_ENV]: ENV_KEY } }, ENV_KEY],
    ["--api-key over the environment variable", { apiKey: FLAG_KEY, env: { [API_KEY_ENV]: ENV_KEY } }, FLAG_KEY],
  ])("takes the key from %s", async (_case, opts, expected) => {
    await run([fixturePage("recorded-5-coins.json")], { at: AT, ...opts });
    expect(standIn.requests[0].headers["x-cg-demo-api-key"]).toBe(expected);
  });

  it("runs keyless without any key", async () => {
    await run([fixturePage("recorded-5-coins.json")], { at: AT, env: { [API_KEY_ENV]: "" } });
    expect(Object.keys(standIn.requests[0].headers).filter((h) => h.startsWith("x-cg-"))).toEqual([]);
  });

  it("sends a pro key in the pro header with --plan pro", async () => {
    await run([fixturePage("recorded-5-coins.json")], { at: AT, plan: "pro", apiKey: FLAG_KEY });
    expect(standIn.requests[0].headers["x-cg-pro-api-key"]).toBe(FLAG_KEY);
  });

  it("uses the current time without --at", async () => {
    const result = await run([fixturePage("recorded-5-coins.json")], { now: () => Date.parse("2024-09-03T07:09:59Z") });
    expect(result.timestamp).toBe(1725347100);
  });

  it.each([
    [{ at: "tomorrow" }, /^--at must be an ISO-8601 time with a zone, e\.g\. 2024-09-03T07:05:00Z; got "tomorrow"$/],
    [{ at: "2024-09-03T07:02:13" }, /^--at must be an ISO-8601 time with a zone/],
    [{ at: AT, plan: "free" }, /^--plan must be one of demo, pro, keyless; got "free"$/],
    [{ at: AT, plan: "keyless", apiKey: FLAG_KEY }, /API key was given but the plan is "keyless"/],
  ])("refuses %j before sending anything or writing", async (opts, message) => {
    await expect(run([fixturePage("recorded-5-coins.json")], opts)).rejects.toThrow(message);
    expect(standIn.requests).toHaveLength(0);
    expect(fs.existsSync(lake)).toBe(false);
  });

  it("fails with a one-line reason naming the misconfiguration, and writes nothing", async () => {
    const err = await run([errorCodeResponse(401, 10011, "Demo key on the Pro host")], { at: AT, plan: "pro", apiKey: FLAG_KEY }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^CoinGecko error 10011: the key is a Demo key but requests go to 127\.0\.0\.1:\d+; set plan "demo"/);
    expect(err?.message).not.toContain("\n");
    expect(err?.message).not.toContain(FLAG_KEY);
    expect(fs.existsSync(path.join(lake, "processed"))).toBe(false);
    expect(logLines.join("\n")).not.toContain(FLAG_KEY);
  });

  it.each([
    [
      "an ftp:// URL",
      "ftp://x",
      /^CoinGecko base URL "ftp:\/\/x" must be an https:\/\/ URL \(the key travels in a header\), or http:\/\/ to this machine/,
    ],
    [
      "plain http to another host",
      "http://api.coingecko.com/api/v3",
      /^CoinGecko base URL "http:\/\/api\.coingecko\.com\/api\/v3" must be an https:\/\/ URL/,
    ],
    ["text that is not a URL", "api.coingecko.com/api/v3", /^CoinGecko base URL "api\.coingecko\.com\/api\/v3" is not a URL$/],
  ])(
    "refuses --api-url with %s at once, as a configuration error: no request, no retry, nothing written",
    async (_case, apiUrl, message) => {
      const err = await run([fixturePage("recorded-5-coins.json")], { at: AT, apiUrl }).then(
        () => undefined,
        (e: Error & { kind?: string }) => e,
      );

      expect(err?.message).toMatch(message);
      expect(err?.kind).toBe("configuration");
      expect(standIn.requests).toHaveLength(0);
      expect(statusLines).toEqual([]);
      expect(fs.existsSync(lake)).toBe(false);
    },
  );

  it("says on its status stream which attempt failed, why, and when the next one starts, before waiting", async () => {
    const result = await run([rateLimited("1"), fixturePage("recorded-5-coins.json")], { at: AT, apiKey: FLAG_KEY });

    expect(result).toMatchObject({ status: "written", coins: 5 });
    expect(statusLines).toHaveLength(1);
    expect(statusLines[0]).toMatch(/^CoinGecko page 1: attempt 1 failed \(HTTP 429\); attempt 2 in 1\.[0-2] s$/);
    expect(statusLines.join("\n")).not.toContain(FLAG_KEY);
    expect(standIn.requests).toHaveLength(2);
  });
});

describe("write commands on a folder that is not a lake", () => {
  /** A folder holding someone's files and no lake, e.g. a mistyped --lake pointing at a project. */
  function foreignFolder(): string {
    const dir = path.join(path.dirname(lake), "documents");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "notes.txt"), "mine\n");
    return dir;
  }

  it("ingest refuses it before sending anything, and leaves it as it was", async () => {
    const dir = foreignFolder();

    await expect(run([fixturePage("recorded-5-coins.json")], { at: AT, lake: dir })).rejects.toThrow(
      `${dir} is not a lake and not empty: a lake holds raw/, processed/, analytics/; pass a new or empty folder to start one`,
    );

    expect(standIn.requests).toHaveLength(0);
    expect(fs.readdirSync(dir)).toEqual(["notes.txt"]);
  });

  it.each([
    ["a missing folder", () => lake],
    [
      "an empty folder",
      () => {
        fs.mkdirSync(lake);
        return lake;
      },
    ],
  ])("ingest starts a lake in %s", async (_case, folder) => {
    const result = await run([fixturePage("recorded-5-coins.json")], { at: AT, lake: folder() });

    expect(result.status).toBe("written");
    expect(fs.readdirSync(lake).sort()).toEqual([".tmp", "processed", "raw"]);
  });
});
