/**
 * The CoinGecko key stays secret, end to end.
 *
 * Deploy side (Pulumi mocks): the whole CryptoAnalyticsPipeline with its QuickSight dashboard, given the key
 * as a *plain* string, hands it to exactly one resource, the SSM SecureString, and only as a Pulumi secret;
 * no plain-text input anywhere (serialized function code and dashboard definition included) and no
 * component output holds it. (ingestLake.test.ts covers IngestLake alone and the `plainTextPaths` search itself.)
 *
 * Run side (real HTTP on 127.0.0.1): the ingest runs against the CoinGecko stand-in for a success and for
 * every kind of failure, including bodies that echo the key. The key is sent in its header on every request
 * (so the test is not vacuous), and appears nowhere else: not in any log or EMF line (captured without the
 * logger's redaction, so the code is shown never to hand the key over at all), not in the thrown error's
 * message, stack or JSON, not in any object written to the lake, not in the result. The Lambda handler
 * itself (key from the SSM stand-in, objects to the S3 stand-in, stdout captured) is checked the same way,
 * and so is local mode (`local --once --api-key KEY`): its status and log lines, its error, the lake folder
 * with the static dashboard, and every page, spec and view the dashboard server then serves from that lake.
 */
import * as fs from "fs";
import * as path from "path";
import { inspect } from "util";
import { gunzipSync } from "zlib";
import * as pulumi from "@pulumi/pulumi";
import { CryptoAnalyticsPipeline } from "../components/pipeline";
import { CoinGeckoPlan, createCoinGeckoSource, KEY_HEADERS } from "../functions/coingeckoClient";
import { CoinGeckoErrorKind, isCoinGeckoError } from "../functions/coingeckoErrors";
import { runIngest } from "../functions/ingest";
import { createIngestHandler, FETCH_SAFETY_MARGIN_MS, INGEST_ENV } from "../functions/ingestHandler";
import { LocalObjectStore } from "../functions/localObjectStore";
import { TRANSFORM_ENV } from "../functions/transformHandler";
import { localCommand } from "../cli/localCommand";
import { dashboardViews } from "../dashboard/spec";
import { pageAssets, SPEC_API_PATH, startDashboardServer, VIEWS_API_PREFIX } from "../local/dashboardServer";
import { AwsStandIn, isolatedSdkEnv, startAwsStandIn } from "./helpers/awsStandIn";
import { ScriptedResponse, startCoinGeckoStandIn } from "./helpers/coingeckoStandIn";
import {
  captureStdout,
  coin,
  errorCodeResponse,
  FAST_RETRY_OPTIONS,
  fixtureCoins,
  fixturePage,
  htmlPage,
  lambdaContext,
  makeTempDir,
  marketsPage,
  rateLimited,
  recorder,
  removeTempDir,
  scheduledEvent,
  serverError,
} from "./helpers/factories";
import { installPulumiMocks, isSecretValue, MOCK_ACCOUNT_ID, MOCK_REGION, plainTextPaths, promiseOf } from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
// A function serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(60_000);
afterAll(() => pulumi.runtime.disconnect());

const KEY = "CG-h9SecretKey7f3a9c1e2d5b";
const VIEWER = `arn:aws:quicksight:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:user/default/analyst`;
const SCHEDULED = Date.UTC(2024, 8, 3, 7, 5);

/** Every 12-character piece of the key: a message quoting part of it (e.g. a JSON parse error's excerpt) leaks too. */
const KEY_PIECES = Array.from({ length: KEY.length - 11 }, (_, i) => KEY.slice(i, i + 12));

/** Names of the artifacts that contain the key or a piece of it. */
function leaks(artifacts: Record<string, string>): string[] {
  return Object.entries(artifacts)
    .filter(([, text]) => KEY_PIECES.some((piece) => text.includes(piece)))
    .map(([name]) => name);
}

/** Every way an error is printed: message, stack, JSON of its own properties, util.inspect (console.error). */
function errorTexts(err: unknown): Record<string, string> {
  if (!(err instanceof Error)) return { "thrown value": String(err) };
  return {
    "error message": err.message,
    "error stack": err.stack ?? "",
    "error JSON": JSON.stringify(err, Object.getOwnPropertyNames(err)),
    "error inspected": inspect(err, { depth: 5 }),
  };
}

/** Every file under `dir` as text; gzipped files also decompressed. */
function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const bytes = fs.readFileSync(file);
    const name = path.relative(dir, file);
    out[name] = bytes.toString("latin1");
    if (name.endsWith(".gz")) out[`${name} (gunzipped)`] = gunzipSync(bytes).toString("utf8");
  }
  return out;
}

describe("deploy side: the key reaches one resource, as a secret", () => {
  let pipeline: CryptoAnalyticsPipeline;

  beforeAll(async () => {
    // As index.ts deploys it, QuickSight dashboard included; the key given as plain text on purpose.
    pipeline = new CryptoAnalyticsPipeline("crypto", { coingeckoPlan: "demo", coingeckoApiKey: KEY, quicksightPrincipalArns: [VIEWER] });
    await mocks.settled();
  });

  test("only the SecureString parameter receives it, wrapped as a Pulumi secret although it was given as plain text", () => {
    const holders = mocks.resources.filter((r) => JSON.stringify(r.inputs).includes(KEY));
    expect(holders.map((r) => `${r.type} ${r.name}`)).toEqual(["aws:ssm/parameter:Parameter crypto-coingecko-key"]);
    const value = holders[0].inputs.value;
    expect(holders[0].inputs.type).toBe("SecureString");
    expect(isSecretValue(value) && value.value).toBe(KEY);
  });

  test("no plain-text input of any resource holds it (functions, catalog, alarms, QuickSight dashboard), nor its base64", async () => {
    expect(mocks.resources.some((r) => r.type.startsWith("aws-native:quicksight"))).toBe(true);
    expect(await plainTextPaths(mocks.resources, KEY)).toEqual([]);
    expect(await plainTextPaths(mocks.resources, Buffer.from(KEY).toString("base64"))).toEqual([]);
  });

  test("that search did read both serialized handlers (their code names the parameters they read)", async () => {
    expect(await plainTextPaths(mocks.resources, INGEST_ENV.keyParameter)).toEqual(["Function crypto-ingest-function.code[__index.js]"]);
    expect(await plainTextPaths(mocks.resources, TRANSFORM_ENV.templateParameter)).toEqual([
      "Function crypto-transform-function.code[__index.js]",
    ]);
  });

  test("no output of the pipeline or of its four components holds it", async () => {
    const outputs: Record<string, string> = {};
    const components = {
      pipeline,
      ingest: pipeline.ingest,
      analytics: pipeline.analytics,
      monitoring: pipeline.monitoring,
      dashboards: pipeline.dashboards,
    };
    for (const [component, value] of Object.entries(components)) {
      for (const [field, output] of Object.entries(value ?? {})) {
        if (pulumi.Output.isInstance(output))
          outputs[`${component}.${field}`] = JSON.stringify(await promiseOf(output as pulumi.Output<unknown>)) ?? "";
      }
    }
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(["pipeline.coingeckoKeyParameterName", "ingest.functionArn", "dashboards.dashboardUrl"]),
    );
    expect(leaks(outputs)).toEqual([]);
  });
});

/** One run-side scenario: what the stand-in answers and how the ingest must end. */
interface Scenario {
  what: string;
  /** Answers in order; `fallback` answers every later request. */
  responses: ScriptedResponse[];
  fallback?: ScriptedResponse;
  plan?: Exclude<CoinGeckoPlan, "keyless">;
  topN?: number;
  /** `written`, or the CoinGecko error kind the run must fail with. */
  outcome: "written" | CoinGeckoErrorKind;
}

const echoing = (text: string): string => text.replace("KEY", KEY);
const resetConnection: ScriptedResponse = { destroy: true };

const SCENARIOS: Scenario[] = [
  { what: "a snapshot written (demo plan)", responses: [fixturePage("recorded-5-coins.json")], outcome: "written" },
  { what: "a snapshot written (pro plan)", responses: [fixturePage("recorded-5-coins.json")], plan: "pro", outcome: "written" },
  {
    what: "a two-page snapshot written",
    responses: [fixturePage("cgdata-page1-250.json"), fixturePage("cgdata-page2-250.json")],
    topN: 500,
    outcome: "written",
  },
  { what: "401 with error 10002 (key missing)", responses: [errorCodeResponse(401, 10002, "API Key Missing")], outcome: "configuration" },
  {
    what: "401 with error 10011 (demo key on the pro host)",
    responses: [errorCodeResponse(401, 10011, "Demo API key used on pro host")],
    outcome: "configuration",
  },
  { what: "429 forever", responses: [], fallback: rateLimited("0"), outcome: "rate-limited" },
  { what: "500 forever", responses: [], fallback: serverError(500), outcome: "unavailable" },
  { what: "connections reset forever", responses: [], fallback: resetConnection, outcome: "unavailable" },
  { what: "an HTML page with status 200", responses: [htmlPage()], outcome: "invalid-response" },
  {
    what: "a 401 error body echoing the key",
    responses: [errorCodeResponse(401, 10002, echoing("Invalid API key KEY"))],
    outcome: "configuration",
  },
  {
    what: "a 403 error body echoing the key",
    responses: [errorCodeResponse(403, 1020, echoing("blocked request with key KEY"))],
    outcome: "configuration",
  },
  {
    what: "429s echoing the key",
    responses: [],
    fallback: errorCodeResponse(429, 429, echoing("rate limit of key KEY exceeded"), { "retry-after": "0" }),
    outcome: "rate-limited",
  },
  {
    what: "500s echoing the key",
    responses: [],
    fallback: { status: 500, headers: { "content-type": "text/plain" }, body: echoing("upstream failed for KEY") },
    outcome: "unavailable",
  },
  {
    what: "a 200 HTML page echoing the key",
    responses: [{ status: 200, headers: { "content-type": "text/html" }, body: echoing("<html><body>Invalid key KEY</body></html>") }],
    outcome: "invalid-response",
  },
  {
    what: "a 200 text body starting with the key",
    responses: [{ status: 200, headers: { "content-type": "text/plain" }, body: echoing("KEY is not a valid key") }],
    outcome: "invalid-response",
  },
  {
    what: "a 200 JSON object echoing the key",
    responses: [{ status: 200, body: JSON.stringify({ note: KEY }) }],
    outcome: "invalid-response",
  },
  {
    what: "a 200 error object echoing the key",
    responses: [errorCodeResponse(200, 10011, echoing("KEY is a demo key"))],
    outcome: "configuration",
  },
  {
    what: "a 200 page of coins with the key in a coin's name",
    responses: [marketsPage([coin(), coin({ id: "echo", name: KEY })])],
    outcome: "invalid-response",
  },
  {
    what: "a good first page, then a page echoing the key",
    responses: [
      fixturePage("cgdata-page1-250.json"),
      marketsPage([...fixtureCoins("cgdata-page2-250.json").slice(1), coin({ id: "echo", symbol: KEY })]),
    ],
    topN: 500,
    outcome: "invalid-response",
  },
];

describe("run side: runIngest against the CoinGecko stand-in", () => {
  let lakeDir: string;
  beforeEach(() => {
    lakeDir = makeTempDir("secrets-lake");
  });
  afterEach(() => removeTempDir(lakeDir));

  test.each(SCENARIOS)("$what: the key is sent in its header and appears nowhere else", async (scenario) => {
    const plan = scenario.plan ?? "demo";
    const standIn = await startCoinGeckoStandIn({ responses: scenario.responses, fallback: scenario.fallback });
    // No redaction in the sink: the run must never hand the key to the logger in the first place.
    const rec = recorder([]);
    let result: unknown;
    let thrown: unknown;
    try {
      const source = createCoinGeckoSource({
        ...FAST_RETRY_OPTIONS,
        maxRetries: 3,
        plan,
        apiKey: KEY,
        baseUrl: standIn.baseUrl,
        topN: scenario.topN,
      });
      result = await runIngest({
        store: new LocalObjectStore(lakeDir),
        source,
        scheduledTime: SCHEDULED,
        vsCurrency: "usd",
        logger: rec.logger,
        metrics: rec.metrics,
      });
    } catch (err) {
      thrown = err;
    } finally {
      await standIn.close();
    }

    if (scenario.outcome === "written") {
      expect(result).toMatchObject({ status: "written" });
      expect(Object.keys(filesUnder(lakeDir)).some((f) => f.startsWith("processed/"))).toBe(true);
    } else {
      expect(isCoinGeckoError(thrown) && thrown.kind).toBe(scenario.outcome);
    }
    expect(standIn.requests.length).toBeGreaterThan(0);
    for (const request of standIn.requests) expect(request.headers[KEY_HEADERS[plan]]).toBe(KEY);

    const artifacts = {
      ...Object.fromEntries(rec.logLines.map((line, i) => [`log line ${i}`, line])),
      ...Object.fromEntries(rec.metricLines.map((line, i) => [`EMF line ${i}`, line])),
      ...errorTexts(thrown),
      result: JSON.stringify(result) ?? "",
      ...filesUnder(lakeDir),
    };
    expect(rec.logLines.length).toBeGreaterThan(0);
    expect(rec.metricLines.length).toBeGreaterThan(0);
    expect(leaks(artifacts)).toEqual([]);
  });

  test("a body echoing the key is refused before anything is written, and the error says why without the key", async () => {
    const standIn = await startCoinGeckoStandIn({ responses: [marketsPage([coin({ name: KEY })])] });
    const source = createCoinGeckoSource({ ...FAST_RETRY_OPTIONS, plan: "demo", apiKey: KEY, baseUrl: standIn.baseUrl });
    const rec = recorder([]);
    const run = runIngest({
      store: new LocalObjectStore(lakeDir),
      source,
      scheduledTime: SCHEDULED,
      vsCurrency: "usd",
      logger: rec.logger,
      metrics: rec.metrics,
    });
    await expect(run).rejects.toThrow(
      "CoinGecko page 1 echoed the API key in its body (HTTP 200); refused, so the key is neither stored nor logged",
    );
    await standIn.close();
    expect(filesUnder(lakeDir)).toEqual({});
  });

  test("the leak check finds a piece of the key (so its silence above means something)", () => {
    expect(
      leaks({ clean: "nothing here", excerpt: `Unexpected token 'C', "${KEY.slice(0, 12)}"... is not valid JSON`, whole: KEY }),
    ).toEqual(["excerpt", "whole"]);
  });
});

describe("run side: the Lambda handler, key from SSM, objects to S3, stdout captured", () => {
  const BUCKET = "secrets-archive";
  const PARAMETER = "/crypto-analytics/secrets-test/coingecko-key";
  let aws: AwsStandIn;
  let dir: string;
  let savedEnv: NodeJS.ProcessEnv;
  let stdout: string[];

  beforeEach(async () => {
    aws = await startAwsStandIn();
    aws.buckets.set(BUCKET, new Map());
    aws.parameters.set(PARAMETER, KEY);
    dir = makeTempDir("secrets-handler");
    savedEnv = { ...process.env };
    stdout = captureStdout();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    process.env = savedEnv;
    await aws.close();
    removeTempDir(dir);
  });

  test.each<[string, ScriptedResponse, "written" | CoinGeckoErrorKind]>([
    ["a snapshot written", fixturePage("recorded-5-coins.json"), "written"],
    ["a 401 error body echoing the key", errorCodeResponse(401, 10002, `Invalid API key ${KEY}`), "configuration"],
    [
      "a 200 HTML page echoing the key",
      { status: 200, headers: { "content-type": "text/html" }, body: `<html>Invalid key ${KEY}</html>` },
      "invalid-response",
    ],
  ])("%s", async (_what, response, outcome) => {
    const coingecko = await startCoinGeckoStandIn({ responses: [response] });
    Object.assign(process.env, isolatedSdkEnv(aws, dir), {
      [INGEST_ENV.bucket]: BUCKET,
      [INGEST_ENV.baseUrl]: coingecko.baseUrl,
      [INGEST_ENV.keyParameter]: PARAMETER,
    });
    let thrown: unknown;
    let result: unknown;
    try {
      // Now: the handler refuses events older than its age limit, as it must for redriven messages.
      result = await createIngestHandler()(scheduledEvent(new Date().toISOString()), lambdaContext(FETCH_SAFETY_MARGIN_MS + 2_000));
    } catch (err) {
      thrown = err;
    } finally {
      await coingecko.close();
    }

    if (outcome === "written") expect(result).toMatchObject({ status: "written" });
    else expect(isCoinGeckoError(thrown) && thrown.kind).toBe(outcome);
    expect(aws.ops("GetParameter").map((r) => r.input)).toEqual([{ Name: PARAMETER, WithDecryption: true }]);
    expect(coingecko.requests.map((r) => r.headers[KEY_HEADERS.demo])).toEqual([KEY]);
    const objects = Object.fromEntries(
      [...(aws.buckets.get(BUCKET) ?? new Map()).entries()].flatMap(([key, o]) => [
        [key, o.body.toString("latin1")],
        ...(key.endsWith(".gz") ? [[`${key} (gunzipped)`, gunzipSync(o.body).toString("utf8")]] : []),
      ]),
    );
    expect(Object.keys(objects).length > 0).toBe(outcome === "written");
    expect(stdout.join("")).toMatch(/"CloudWatchMetrics"/);
    expect(leaks({ stdout: stdout.join(""), ...errorTexts(thrown), result: JSON.stringify(result) ?? "", ...objects })).toEqual([]);
  });
});

describe("local mode: local --once --api-key KEY, then the dashboard server on that lake", () => {
  let lakeDir: string;
  beforeEach(() => {
    lakeDir = makeTempDir("secrets-local");
  });
  afterEach(() => removeTempDir(lakeDir));

  /** Runs `local --once` against a stand-in answering `response`; returns what it printed, threw and requested. */
  async function runLocalOnce(response: ScriptedResponse) {
    const standIn = await startCoinGeckoStandIn({ fallback: response });
    const status: string[] = [];
    const logs: string[] = [];
    let thrown: unknown;
    try {
      await localCommand({
        lake: lakeDir,
        source: "live",
        apiUrl: standIn.baseUrl,
        apiKey: KEY,
        once: true,
        port: 0,
        backfill: false,
        status: (l) => status.push(l),
        logSink: (l) => logs.push(l),
      });
    } catch (err) {
      thrown = err;
    } finally {
      await standIn.close();
    }
    return { status, logs, thrown, requests: standIn.requests };
  }

  test("a snapshot: nothing printed, written, exported or served holds the key", async () => {
    const run = await runLocalOnce(fixturePage("recorded-5-coins.json"));
    expect(run.thrown).toBeUndefined();
    expect(run.requests.map((r) => r.headers[KEY_HEADERS.demo])).toEqual([KEY]);
    const files = filesUnder(lakeDir);
    expect(Object.keys(files)).toEqual(expect.arrayContaining(["dashboard.html"]));
    expect(Object.keys(files).some((f) => f.startsWith("analytics/") && f.endsWith(".parquet"))).toBe(true);

    const server = await startDashboardServer({ lake: lakeDir, port: 0 });
    const served: Record<string, string> = {};
    try {
      const paths = [...pageAssets().map((a) => a.urlPath), SPEC_API_PATH, ...dashboardViews().map((v) => `${VIEWS_API_PREFIX}${v}`)];
      for (const urlPath of paths) {
        const response = await fetch(new URL(urlPath, server.url));
        expect([urlPath, response.status]).toEqual([urlPath, 200]);
        served[`GET ${urlPath}`] = await response.text();
      }
    } finally {
      await server.close();
    }
    // The views hold the snapshot's coins, so the served data is the real thing.
    expect(Object.values(served).join("\n")).toContain("bitcoin");
    expect(leaks({ ...lines(run.status, "status"), ...lines(run.logs, "log"), ...files, ...served })).toEqual([]);
  });

  test("CoinGecko echoing the key in an error: the failure printed and thrown does not hold it", async () => {
    const run = await runLocalOnce(errorCodeResponse(401, 10002, `Invalid API key ${KEY}`));
    expect(String(run.thrown)).toMatch(/ingest \S+ failed: CoinGecko error 10002/);
    expect(run.requests.every((r) => r.headers[KEY_HEADERS.demo] === KEY)).toBe(true);
    expect(leaks({ ...lines(run.status, "status"), ...lines(run.logs, "log"), ...errorTexts(run.thrown), ...filesUnder(lakeDir) })).toEqual(
      [],
    );
  });
});

/** Lines as named artifacts. */
function lines(list: readonly string[], what: string): Record<string, string> {
  return Object.fromEntries(list.map((line, i) => [`${what} line ${i}`, line]));
}
