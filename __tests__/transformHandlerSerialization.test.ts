/**
 * The transform handler as Lambda will run it: serialized by Pulumi's closure serializer (exactly what
 * `CallbackFunction({ callbackFactory })` deploys), written out as `__index.js` and run in a fresh Node
 * process against a loopback AWS stand-in (S3, SSM and Athena over real HTTP).
 */
import * as pulumi from "@pulumi/pulumi";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { floorToHour, HOUR_SECONDS, partitionOf, partitionStart, processedKey } from "../functions/partitions";
import { athenaInsertTemplate } from "../functions/sqlFiles";
import { renderTemplate } from "../functions/sqlTemplate";
import { manifestKey } from "../functions/transform";
import { createTransformHandler, TRANSFORM_ENV } from "../functions/transformHandler";
import { createAthenaStandIn } from "./helpers/athenaStandIn";
import { AwsStandIn, startAwsStandIn } from "./helpers/awsStandIn";

const ARCHIVE = "archive-bucket-serialized";
const ANALYTICS = "analytics-bucket-serialized";
const TEMPLATE_PARAMETER = "/crypto-analytics/test/transform/insert-template";
const SECRET_SENTINEL = "CG-sentinel-secret-9f8e7d6c5b4a";

const TRANSFORM_SETTINGS = {
  [TRANSFORM_ENV.archiveBucket]: ARCHIVE,
  [TRANSFORM_ENV.analyticsBucket]: ANALYTICS,
  [TRANSFORM_ENV.workGroup]: "crypto_wg_serialized",
  [TRANSFORM_ENV.database]: "crypto_data_serialized",
  [TRANSFORM_ENV.templateParameter]: TEMPLATE_PARAMETER,
  // Two hours: the seeded hour stays inside the window even if the clock crosses an hour during the test.
  [TRANSFORM_ENV.lookbackHours]: "2",
  [TRANSFORM_ENV.pipeline]: "crypto-serialized",
};

let serialized: pulumi.runtime.SerializedFunction;
let dir: string;

beforeAll(async () => {
  // Set while serializing: none of these may be captured into the function text.
  const saved = { ...process.env };
  Object.assign(process.env, TRANSFORM_SETTINGS, { COINGECKO_API_KEY: SECRET_SENTINEL });
  try {
    serialized = await pulumi.runtime.serializeFunction(createTransformHandler, { isFactoryFunction: true });
  } finally {
    process.env = saved;
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "transform-handler-"));
  fs.writeFileSync(path.join(dir, "__index.js"), serialized.text);
});

afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await pulumi.runtime.disconnect();
});

describe("transform handler serialization", () => {
  it("exports the factory's handler and requires only the SDK clients and Node built-ins", () => {
    const required = [...serialized.text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    const packages = [...new Set(required.filter((r) => !r.startsWith("node:") && !["crypto", "timers/promises"].includes(r)))].sort();

    expect(serialized.exportName).toBe("handler");
    expect(packages).toEqual([
      "@aws-sdk/client-athena/dist-cjs/index.js",
      "@aws-sdk/client-s3/dist-cjs/index.js",
      "@aws-sdk/client-ssm/dist-cjs/index.js",
    ]);
    expect(serialized.text).not.toMatch(/require\("@duckdb/);
    expect(serialized.text).not.toMatch(/require\("@pulumi/);
  });

  it("captures no secret and no configuration value: they are read from the environment and SSM at run time", () => {
    expect(serialized.text).not.toContain(SECRET_SENTINEL);
    const names = Object.values(TRANSFORM_SETTINGS).filter((v) => v.length > 2);
    expect(names).toHaveLength(6);
    for (const value of names) expect(serialized.text).not.toContain(value);
    expect(serialized.text).not.toContain("INSERT INTO analytics_prices");
  });
});

describe("the serialized handler in a fresh Node process", () => {
  let standIn: AwsStandIn;
  const athena = createAthenaStandIn((sql) => (/^INSERT/.test(sql) ? { states: ["RUNNING", "SUCCEEDED"], updateCount: 250 } : {}));

  beforeAll(async () => {
    standIn = await startAwsStandIn({ routes: [athena.route] });
  });
  afterAll(() => standIn.close());

  it("materialises the last completed hour through S3, SSM and Athena over HTTP", async () => {
    const hourStart = floorToHour(Math.floor(Date.now() / 1000)) - HOUR_SECONDS;
    const hour = partitionOf(hourStart);
    const snapshots = [hourStart, hourStart + 300, hourStart + 600];
    standIn.buckets.set(ARCHIVE, new Map(snapshots.map((t) => [processedKey(t), { body: Buffer.from("gz") }])));
    standIn.buckets.set(ANALYTICS, new Map());
    const template = athenaInsertTemplate();
    standIn.parameters.set(TEMPLATE_PARAMETER, template);
    fs.writeFileSync(
      path.join(dir, "invoke.js"),
      `const { handler } = require("./__index.js");
       handler({ source: "aws.scheduler" }, { getRemainingTimeInMillis: () => 120000 })
         .then((summary) => process.stdout.write("SUMMARY " + JSON.stringify(summary) + "\\n"))
         .catch((err) => { process.stderr.write("FAILED " + err.message + "\\n"); process.exit(1); });`,
    );

    const { stdout } = await promisify(execFile)(process.execPath, ["invoke.js"], {
      cwd: dir,
      timeout: 60_000,
      env: {
        PATH: process.env.PATH,
        NODE_PATH: path.resolve(__dirname, "..", "node_modules"),
        AWS_CONFIG_FILE: path.join(dir, "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "no-aws-credentials"),
        ...standIn.env(),
        ...TRANSFORM_SETTINGS,
      },
    });

    const summaryLine = stdout.split("\n").find((l) => l.startsWith("SUMMARY "));
    const summary = JSON.parse(summaryLine?.slice("SUMMARY ".length) ?? "null");
    expect(summary.hours).toEqual([{ partition: hour, snapshots: 3, rowsWritten: 250, queryId: athena.queries[0].id }]);
    expect(summary.rowsMaterialised).toBe(250);

    expect(standIn.ops("GetParameter").map((r) => r.input)).toEqual([{ Name: TEMPLATE_PARAMETER }]);
    expect(athena.queries.map((q) => [q.sql, q.workGroup, q.database, q.token.length])).toEqual([
      [renderTemplate(template, hour), "crypto_wg_serialized", "crypto_data_serialized", 64],
    ]);
    const manifest = standIn.buckets.get(ANALYTICS)?.get(manifestKey(hour));
    expect(JSON.parse(manifest?.body.toString("utf8") ?? "null")).toMatchObject({ snapshots, queryId: athena.queries[0].id });
    expect(manifest?.contentType).toBe("application/json");
    // S3 calls went path-style to the IP endpoint: /<bucket>/<key>.
    expect(standIn.ops("PutObject").map((r) => r.url.split("?")[0])).toEqual([`/${ANALYTICS}/${manifestKey(hour).split("/").map(encodeURIComponent).join("/")}`]);
    const logLines = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logLines).toContainEqual(expect.objectContaining({ message: "athena query started", queryId: athena.queries[0].id, pipeline: "crypto-serialized" }));
    expect(logLines).toContainEqual(expect.objectContaining({ Pipeline: "crypto-serialized", RowsMaterialised: 250, HoursMaterialised: 1 }));
    expect(partitionStart(hour)).toBe(hourStart);
  });
});
