/**
 * The ingest handler: its settings, its key cache in this process, and the handler as Lambda will run it:
 * serialized by Pulumi's closure serializer and bundled (exactly what components/functionCode.ts deploys),
 * written out as `__index.js` and run in a fresh Node process against the loopback CoinGecko stand-in and
 * the loopback S3/SSM stand-in. A serialization problem makes mocked Pulumi tests hang instead of fail,
 * so it is caught here, directly.
 *
 * The child finds only `@aws-sdk/*` on its module path, as the nodejs22.x runtime provides it: axios and
 * axios-retry come from the bundle. The temporary folder lives outside the repository and is removed
 * afterwards.
 */
import { bundledHandler } from "../components/functionCode";
import { LAMBDA_RUNTIME } from "../components/scheduledFunction";
import {
  checkScheduledTime,
  createIngestHandler,
  DEFAULT_MAX_SCHEDULED_EVENT_AGE_SECONDS,
  FETCH_SAFETY_MARGIN_MS,
  INGEST_ENV,
  MAX_SCHEDULE_SKEW_SECONDS,
  readIngestSettings,
} from "../functions/ingestHandler";
import { parseNdjsonGz } from "../functions/ndjson";
import { floorToSlot, processedKey, rawKey, rawRequestKey } from "../functions/partitions";
import { AwsStandIn, isolatedSdkEnv, startAwsStandIn } from "./helpers/awsStandIn";
import { CoinGeckoStandIn, startCoinGeckoStandIn } from "./helpers/coingeckoStandIn";
import {
  captureStdout,
  errorCodeResponse,
  fixtureBytes,
  fixturePage,
  lambdaContext,
  makeTempDir,
  removeTempDir,
  scheduledEvent,
} from "./helpers/factories";
import { ChildRun, runSerializedHandler, serializedHandlerEnv, writeSerializedHandler } from "./helpers/serializedHandler";

const BUCKET = "ingest-archive-test";
const KEY_PARAMETER = "/crypto-analytics/test/coingecko-api-key";
const API_KEY = "CG-serializedHandlerKey42";
/**
 * The previous 5-minute slot of the real clock: the handler refuses events older than its age limit, so
 * every event here is a few minutes old at most, as Scheduler's are.
 */
const SLOT = floorToSlot(Math.floor(Date.now() / 1000)) - 300;
const NEXT_SLOT = SLOT + 300;

/** The ISO-8601 time `secondsIntoSlot` after the start of `slot`. */
function at(slot: number, secondsIntoSlot = 0): string {
  return new Date((slot + secondsIntoSlot) * 1000).toISOString();
}

describe("serialized ingest handler", () => {
  let dir: string;
  let aws: AwsStandIn;
  let coingecko: CoinGeckoStandIn;
  let text: string;
  let child: ChildRun;

  beforeAll(async () => {
    text = await bundledHandler("ingest", createIngestHandler, LAMBDA_RUNTIME);
    dir = writeSerializedHandler(text, "ingest-serialized");

    aws = await startAwsStandIn();
    aws.buckets.set(BUCKET, new Map());
    aws.parameters.set(KEY_PARAMETER, API_KEY);
    coingecko = await startCoinGeckoStandIn({
      responses: [
        fixturePage("cgdata-page1-250.json"),
        fixturePage("recorded-5-coins.json"),
        errorCodeResponse(401, 10002, "API Key Missing"),
      ],
    });

    const events = [scheduledEvent(at(SLOT, 133)), scheduledEvent(at(SLOT, 299)), scheduledEvent(at(NEXT_SLOT))];
    child = await runSerializedHandler(
      dir,
      events,
      serializedHandlerEnv(dir, aws, {
        [INGEST_ENV.bucket]: BUCKET,
        [INGEST_ENV.plan]: "demo",
        [INGEST_ENV.baseUrl]: coingecko.baseUrl,
        [INGEST_ENV.keyParameter]: KEY_PARAMETER,
        [INGEST_ENV.pipeline]: "serialization-test",
        [INGEST_ENV.namespace]: "CryptoAnalyticsTest",
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await coingecko?.close();
    await aws?.close();
    if (dir) removeTempDir(dir);
  });

  it("serializes without capturing Pulumi, local files or the key", () => {
    expect(text).toContain("exports.handler = ");
    expect(text).not.toMatch(/require\("@pulumi\//);
    expect(text).not.toMatch(/require\("\.{1,2}\//);
    expect(text).not.toContain(API_KEY);
  });

  it("writes the snapshot on the first delivery and nothing new on the second", () => {
    expect(child.outcomes[0].result).toEqual({
      timestamp: SLOT,
      status: "written",
      coins: 250,
      dropped: 0,
      rawKeys: [rawKey(SLOT)],
      processedKey: processedKey(SLOT),
    });
    expect(child.outcomes[1].result).toMatchObject({ timestamp: SLOT, status: "already-written", coins: 250 });

    const bucket = aws.buckets.get(BUCKET)!;
    expect([...bucket.keys()].sort()).toEqual([processedKey(SLOT), rawKey(SLOT), rawRequestKey(SLOT)].sort());
    expect(bucket.get(rawKey(SLOT))!.body.equals(fixtureBytes("cgdata-page1-250.json"))).toBe(true);
    expect(bucket.get(rawKey(SLOT))!.contentType).toBe("application/json");
    expect(parseNdjsonGz(bucket.get(processedKey(SLOT))!.body)).toHaveLength(250);
  });

  it("writes with If-None-Match, path-style, to the bucket from the environment", () => {
    const puts = aws.ops("PutObject");
    expect(puts.length).toBeGreaterThanOrEqual(3);
    for (const put of puts) {
      expect(put.headers["if-none-match"]).toBe("*");
      expect(new URL(put.url, "http://x").pathname.startsWith(`/${BUCKET}/`)).toBe(true);
    }
  });

  it("reads the key from SSM once per container, decrypted, and sends it in the Demo header", () => {
    const reads = aws.ops("GetParameter");
    expect(reads).toHaveLength(1);
    expect(reads[0].input).toEqual({ Name: KEY_PARAMETER, WithDecryption: true });
    expect(coingecko.requests).toHaveLength(3);
    for (const request of coingecko.requests) expect(request.headers["x-cg-demo-api-key"]).toBe(API_KEY);
  });

  it("throws a configuration error for a rejected key and writes nothing for that slot", () => {
    expect(child.outcomes[2].error).toMatch(/^CoinGecko error 10002: the API key is missing or empty/);
    expect([...aws.buckets.get(BUCKET)!.keys()].some((k) => k.includes(String(NEXT_SLOT)))).toBe(false);
  });

  it("logs JSON lines and EMF metrics without ever printing the key", () => {
    const output = child.stdout + child.stderr;
    expect(output).not.toContain(API_KEY);
    const lines = child.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    expect(lines.find((l) => l.message === "snapshot written")).toMatchObject({
      service: "ingest",
      pipeline: "serialization-test",
      coins: 250,
    });
    expect(lines.find((l) => l.message === "ingest failed")).toMatchObject({
      level: "error",
      kind: "configuration",
      errorCode: 10002,
      errorName: "CoinGeckoError",
      errorMessage: expect.stringMatching(/^CoinGecko error 10002: /),
    });
    const emf = lines.filter((l) => l._aws);
    expect(emf.map((l) => l.SnapshotsWritten)).toEqual([1, 0, 0]);
    expect(emf[0]._aws.CloudWatchMetrics[0].Namespace).toBe("CryptoAnalyticsTest");
    expect(emf[0].Pipeline).toBe("serialization-test");
  });
});

describe("readIngestSettings", () => {
  it("applies the defaults", () => {
    expect(readIngestSettings({ [INGEST_ENV.bucket]: "b" })).toEqual({
      bucket: "b",
      plan: undefined,
      baseUrl: undefined,
      keyParameter: undefined,
      vsCurrency: undefined,
      topN: undefined,
      pipeline: "crypto-analytics",
      namespace: "CryptoAnalytics",
      maxEventAgeSeconds: DEFAULT_MAX_SCHEDULED_EVENT_AGE_SECONDS,
    });
  });

  it("reads the event age limit", () => {
    expect(readIngestSettings({ [INGEST_ENV.bucket]: "b", [INGEST_ENV.maxEventAgeSeconds]: "3600" }).maxEventAgeSeconds).toBe(3600);
  });

  it.each([
    [{}, /^ARCHIVE_BUCKET is not set: the ingest function needs the archive bucket name$/],
    [{ [INGEST_ENV.bucket]: "  " }, /^ARCHIVE_BUCKET is not set/],
    [{ [INGEST_ENV.bucket]: "b", [INGEST_ENV.plan]: "free" }, /^COINGECKO_PLAN must be one of demo, pro, keyless; got "free"$/],
    [{ [INGEST_ENV.bucket]: "b", [INGEST_ENV.topN]: "250 coins" }, /^TOP_N must be an integer; got "250 coins"$/],
    [
      { [INGEST_ENV.bucket]: "b", [INGEST_ENV.maxEventAgeSeconds]: "15m" },
      /^MAX_EVENT_AGE_SECONDS must be a positive integer number of seconds; got "15m"$/,
    ],
    [{ [INGEST_ENV.bucket]: "b", [INGEST_ENV.maxEventAgeSeconds]: "0" }, /^MAX_EVENT_AGE_SECONDS must be a positive integer/],
  ])("refuses %j at cold start", (env, message) => {
    expect(() => readIngestSettings(env)).toThrow(message);
  });
});

describe("ingest handler in this process", () => {
  const PARAMETER = "/crypto-analytics/in-process/key";
  let aws: AwsStandIn;
  let coingecko: CoinGeckoStandIn;
  let dir: string;
  let savedEnv: NodeJS.ProcessEnv;
  let stdout: string[];

  beforeEach(async () => {
    aws = await startAwsStandIn();
    aws.buckets.set(BUCKET, new Map());
    coingecko = await startCoinGeckoStandIn({ fallback: fixturePage("recorded-5-coins.json") });
    dir = makeTempDir("ingest-handler");
    savedEnv = { ...process.env };
    Object.assign(process.env, isolatedSdkEnv(aws, dir), {
      [INGEST_ENV.bucket]: BUCKET,
      [INGEST_ENV.baseUrl]: coingecko.baseUrl,
      [INGEST_ENV.keyParameter]: PARAMETER,
    });
    stdout = captureStdout();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    process.env = savedEnv;
    await coingecko.close();
    await aws.close();
    removeTempDir(dir);
  });

  it("asks SSM again after a failed key read, then keeps the key for the container", async () => {
    const handler = createIngestHandler();

    await expect(handler(scheduledEvent(at(SLOT)), lambdaContext())).rejects.toThrow(
      `could not read the CoinGecko key from SSM parameter ${PARAMETER}: Parameter ${PARAMETER} not found.`,
    );
    expect(coingecko.requests).toHaveLength(0);
    aws.parameters.set(PARAMETER, API_KEY);
    await expect(handler(scheduledEvent(at(SLOT)), lambdaContext())).resolves.toMatchObject({ status: "written" });
    await expect(handler(scheduledEvent(at(NEXT_SLOT)), lambdaContext())).resolves.toMatchObject({ status: "written" });

    expect(aws.ops("GetParameter")).toHaveLength(2);
    const logs = stdout
      .join("")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l));
    expect(logs.find((l) => l.message === "ingest not started")).toMatchObject({
      level: "error",
      errorMessage: expect.stringContaining("Parameter"),
    });
    expect(stdout.join("")).not.toContain(API_KEY);
  });

  it("budgets the fetch to the invocation's remaining time minus the safety margin", async () => {
    aws.parameters.set(PARAMETER, API_KEY);
    const handler = createIngestHandler();
    await expect(handler(scheduledEvent(at(SLOT)), lambdaContext(FETCH_SAFETY_MARGIN_MS))).rejects.toThrow(
      "CoinGecko fetch ran out of its 0.0 s time budget before page 1",
    );
    expect(coingecko.requests).toHaveLength(0);
    expect(aws.ops("PutObject")).toHaveLength(0);
  });

  /** Log lines the handler printed, parsed. */
  const logLines = (): Record<string, unknown>[] =>
    stdout
      .join("")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it.each([
    [
      "a message redriven from the failure queue 3 hours later",
      -3 * 3600,
      /^event for slot (\S+) is 180 min old \(limit 15 min\); CoinGecko serves only current prices, so nothing was fetched or written and this slot stays empty: do not redrive it/,
    ],
    [
      "an event just past the age limit",
      -(DEFAULT_MAX_SCHEDULED_EVENT_AGE_SECONDS + 60),
      /^event for slot \S+ is 16 min old \(limit 15 min\)/,
    ],
    [
      "an event scheduled 10 minutes ahead",
      600,
      /^event for slot \S+ is scheduled \d+ s in the future \(more than the 60 s clock skew allowed\); nothing was fetched or written$/,
    ],
  ])("refuses %s: no key read, no CoinGecko request, nothing written", async (_what, offsetSeconds, message) => {
    aws.parameters.set(PARAMETER, API_KEY);
    const handler = createIngestHandler();
    const scheduled = new Date(Date.now() + offsetSeconds * 1000).toISOString();

    await expect(handler(scheduledEvent(scheduled), lambdaContext())).rejects.toThrow(message);

    expect(aws.ops("GetParameter")).toHaveLength(0);
    expect(coingecko.requests).toHaveLength(0);
    expect(aws.ops("PutObject")).toHaveLength(0);
    expect(logLines().find((l) => l.message === "ingest not started")).toMatchObject({
      level: "error",
      errorMessage: expect.stringMatching(message),
    });
  });

  it("serves an event as old as the limit allows and a manual invoke without a time", async () => {
    aws.parameters.set(PARAMETER, API_KEY);
    const handler = createIngestHandler();
    const oldest = new Date(Date.now() - (DEFAULT_MAX_SCHEDULED_EVENT_AGE_SECONDS - 30) * 1000);

    await expect(handler(scheduledEvent(oldest.toISOString()), lambdaContext())).resolves.toMatchObject({
      status: "written",
      timestamp: floorToSlot(Math.floor(oldest.getTime() / 1000)),
    });
    await expect(handler({}, lambdaContext())).resolves.toMatchObject({ status: "written" });
    expect(coingecko.requests).toHaveLength(2);
  });

  it("takes the age limit from the environment", async () => {
    aws.parameters.set(PARAMETER, API_KEY);
    process.env[INGEST_ENV.maxEventAgeSeconds] = "120";
    const handler = createIngestHandler();

    await expect(handler(scheduledEvent(new Date(Date.now() - 300_000).toISOString()), lambdaContext())).rejects.toThrow(
      /is 5 min old \(limit 2 min\)/,
    );
    expect(coingecko.requests).toHaveLength(0);
  });
});

describe("checkScheduledTime", () => {
  const now = Date.parse("2024-09-03T08:00:00Z");

  it.each([
    ["exactly the age limit", now - 900_000],
    ["now", now],
    ["the allowed skew ahead", now + MAX_SCHEDULE_SKEW_SECONDS * 1000],
  ])("accepts %s", (_what, ms) => {
    expect(() => checkScheduledTime(new Date(ms), now, 900)).not.toThrow();
  });

  it.each([
    ["one second past the age limit", now - 901_000, "event for slot 2024-09-03T07:40:00.000Z is 15 min old (limit 15 min)"],
    [
      "one second past the skew",
      now + (MAX_SCHEDULE_SKEW_SECONDS + 1) * 1000,
      "event for slot 2024-09-03T08:00:00.000Z is scheduled 61 s in the future",
    ],
  ])("refuses %s, naming the slot", (_what, ms, message) => {
    expect(() => checkScheduledTime(new Date(ms), now, 900)).toThrow(message);
  });
});
