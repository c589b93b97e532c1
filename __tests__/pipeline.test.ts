/**
 * CryptoAnalyticsPipeline under Pulumi mocks: `new CryptoAnalyticsPipeline("x", {})` builds IngestLake,
 * AnalyticsLayer and Monitoring and nothing of QuickSight; with principals, Dashboards joins with exactly
 * its own extra workgroup and role. Wiring is checked through what the resources receive (values flow
 * from one component's outputs into the next, none typed twice), Monitoring's alarms cover every function
 * and every queue the pipeline really creates, and the flat args reach the sub-components.
 */
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_MIN_COINS_FRACTION } from "../components/monitoring";
import { CryptoAnalyticsPipeline } from "../components/pipeline";
import { INGEST_ENV } from "../functions/ingestHandler";
import { TRANSFORM_ENV } from "../functions/transformHandler";
import {
  installPulumiMocks,
  MOCK_ACCOUNT_ID,
  MOCK_KMS_KEY_ARN,
  MOCK_REGION,
  policyOf,
  promiseOf,
  RecordedResource,
  RESOURCE_TYPES as T,
  stringField,
} from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
// Both functions are serialized per pipeline; a serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(90_000);
afterAll(() => pulumi.runtime.disconnect());

const VIEWER = `arn:aws:quicksight:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:user/default/alice`;
const COMPONENT = "crypto-analytics:pipeline:";

function env(r: RecordedResource): Record<string, string> {
  return (r.inputs.environment as { variables: Record<string, string> }).variables;
}
/** How many resources of each type a component named `prefix` created. */
function census(prefix: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of mocks.resourcesOf(prefix)) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return counts;
}

let bare: CryptoAnalyticsPipeline;
let full: CryptoAnalyticsPipeline;

beforeAll(async () => {
  bare = new CryptoAnalyticsPipeline("x", {});
  full = new CryptoAnalyticsPipeline("y", {
    coingeckoPlan: "demo",
    coingeckoApiKey: pulumi.secret("CG-pipelineTestKey1"),
    topN: 500,
    ingestSchedule: "rate(10 minutes)",
    transformSchedule: "cron(15 * * * ? *)",
    databaseName: "crypto_data_y",
    bytesScannedCutoffPerQuery: 200 * 1024 ** 2,
    kmsKeyArn: MOCK_KMS_KEY_ARN,
    alertEmails: ["ops@example.com"],
    quicksightPrincipalArns: [VIEWER],
    dashboardMode: "DIRECT_QUERY",
    tags: { environment: "test" },
  });
  await mocks.settled();
});

describe("with no arguments", () => {
  test("builds IngestLake, AnalyticsLayer and Monitoring, and no Dashboards", () => {
    const components = mocks
      .resourcesOf("x")
      .filter((r) => r.type.startsWith(COMPONENT) && r.name === "x")
      .map((r) => r.type.slice(COMPONENT.length));
    expect(components.sort()).toEqual(["AnalyticsLayer", "CryptoAnalyticsPipeline", "IngestLake", "Monitoring"]);
    expect(bare.dashboards).toBeUndefined();
    expect(bare.dashboardUrl).toBeUndefined();
  });

  test("nothing of QuickSight: no quicksight resource, no aws-native resource, no dashboard workgroup or role", () => {
    const all = mocks.resourcesOf("x");
    expect(all.filter((r) => /quicksight|aws-native/i.test(r.type) || r.name.includes("quicksight"))).toEqual([]);
    expect(all.filter((r) => r.type === T.workgroup).map((r) => r.name)).toEqual(["x-workgroup"]);
    // Each of the two scheduled functions has an execution role and a scheduler role; nothing else.
    expect(
      all
        .filter((r) => r.type === T.role)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["x-ingest-role", "x-ingest-scheduler-role", "x-transform-role", "x-transform-scheduler-role"].sort());
  });

  test("defaults come from the sub-components: keyless plan, no key parameter, a pipeline name of <name>-<stack>", async () => {
    const ingest = mocks.one(T.fn, "x-ingest-function");
    expect(env(ingest)[INGEST_ENV.plan]).toBe("keyless");
    expect(env(ingest)[INGEST_ENV.keyParameter]).toBeUndefined();
    expect(await promiseOf(bare.ingest.pipelineName)).toBe("x-test");
    expect(bare.coingeckoKeyParameterName).toBeUndefined();
  });
});

describe("wiring: values flow from outputs", () => {
  test.each(["x", "y"])(
    "%s: the transform reads the archive IngestLake created, in the database and workgroup AnalyticsLayer created",
    async (name) => {
      const archive = stringField(mocks.one(T.bucket, `${name}-archive`), "bucket");
      const transform = env(mocks.one(T.fn, `${name}-transform-function`));
      expect(transform[TRANSFORM_ENV.archiveBucket]).toBe(archive);
      expect(transform[TRANSFORM_ENV.database]).toBe(stringField(mocks.one(T.database, `${name}-database`), "name"));
      expect(transform[TRANSFORM_ENV.workGroup]).toBe(stringField(mocks.one(T.workgroup, `${name}-workgroup`), "name"));
      const pipeline = name === "x" ? bare : full;
      expect(await promiseOf(pipeline.archiveBucketName)).toBe(archive);
      expect(await promiseOf(pipeline.analyticsBucketName)).toBe(stringField(mocks.one(T.bucket, `${name}-analytics`), "bucket"));
      expect(await promiseOf(pipeline.queryResultsBucketName)).toBe(stringField(mocks.one(T.bucket, `${name}-query-results`), "bucket"));
      expect(await promiseOf(pipeline.ingestFunctionName)).toBe(stringField(mocks.one(T.fn, `${name}-ingest-function`), "name"));
      expect(await promiseOf(pipeline.transformFunctionName)).toBe(stringField(mocks.one(T.fn, `${name}-transform-function`), "name"));
    },
  );

  test.each(["x", "y"])("%s: both functions and every alarm name the same pipeline and namespace", async (name) => {
    const ingest = env(mocks.one(T.fn, `${name}-ingest-function`));
    const transform = env(mocks.one(T.fn, `${name}-transform-function`));
    expect(transform[TRANSFORM_ENV.pipeline]).toBe(ingest[INGEST_ENV.pipeline]);
    expect(transform[TRANSFORM_ENV.namespace]).toBe(ingest[INGEST_ENV.namespace]);
    const custom = mocks
      .resourcesOf(name)
      .filter((r) => r.type === T.alarm && (r.inputs.dimensions as Record<string, string>).Pipeline !== undefined);
    expect(custom.length).toBeGreaterThan(0);
    for (const alarm of custom) {
      expect(alarm.inputs.namespace).toBe(ingest[INGEST_ENV.namespace]);
      expect((alarm.inputs.dimensions as Record<string, string>).Pipeline).toBe(ingest[INGEST_ENV.pipeline]);
    }
  });

  test.each([
    ["x", 4, 2],
    ["y", 4, 2],
  ])("%s: Monitoring watches every function and every queue the pipeline created, and the workgroup", (name, queueCount, functionCount) => {
    const alarms = mocks.resourcesOf(name).filter((r) => r.type === T.alarm);
    const dimension = (key: string) =>
      alarms.map((a) => (a.inputs.dimensions as Record<string, string>)[key]).filter((v) => v !== undefined);
    const queues = mocks
      .resourcesOf(name)
      .filter((r) => r.type === T.queue)
      .map((q) => stringField(q, "name"));
    expect(queues).toHaveLength(queueCount);
    expect([...new Set(dimension("QueueName"))].sort()).toEqual([...queues].sort());
    const functions = mocks
      .resourcesOf(name)
      .filter((r) => r.type === T.fn)
      .map((f) => stringField(f, "name"));
    expect(functions).toHaveLength(functionCount);
    for (const fn of functions) {
      const metrics = alarms
        .filter((a) => (a.inputs.dimensions as Record<string, string>).FunctionName === fn)
        .map((a) => a.inputs.metricName);
      expect(metrics.sort()).toEqual(["AsyncEventsDropped", "DestinationDeliveryFailures", "Errors", "Throttles"]);
    }
    expect(dimension("WorkGroup")).toEqual([stringField(mocks.one(T.workgroup, `${name}-workgroup`), "name")]);
  });

  test("Dashboards reads the database, views, buckets and results location AnalyticsLayer created", async () => {
    const database = stringField(mocks.one(T.database, "y-database"), "name");
    const dataSets = mocks.resourcesOf("y").filter((r) => r.type === T.dataSet);
    expect(dataSets.length).toBeGreaterThan(0);
    const viewNames = await promiseOf(full.viewNames);
    for (const d of dataSets) {
      const table = Object.values(d.inputs.physicalTableMap as Record<string, { relationalTable: { schema: string; name: string } }>)[0]
        .relationalTable;
      expect(table.schema).toBe(database);
      expect(viewNames).toContain(table.name);
    }
    const policy = JSON.stringify(policyOf(mocks.one(T.rolePolicy, "y-quicksight-role-policy")));
    expect(policy).toContain(`${stringField(mocks.one(T.bucket, "y-analytics"), "arn")}/analytics/*`);
    expect(policy).toContain(`${stringField(mocks.one(T.bucket, "y-query-results"), "arn")}/query-results/quicksight/*`);
    expect(policy).toContain(`:database/${database}`);
    expect(await promiseOf(full.dashboardUrl as pulumi.Output<string>)).toBe(
      await promiseOf((full.dashboards as NonNullable<typeof full.dashboards>).dashboardUrl),
    );
  });
});

describe("the flat args reach the sub-components", () => {
  test("principals add Dashboards with exactly one more workgroup and one more role than the bare pipeline", () => {
    const bareCensus = census("x");
    const fullCensus = census("y");
    expect(fullCensus[T.workgroup] - bareCensus[T.workgroup]).toBe(1);
    expect(fullCensus[T.role] - bareCensus[T.role]).toBe(1);
    expect(mocks.one(T.workgroup, "y-quicksight-workgroup")).toBeDefined();
    expect(mocks.one(T.role, "y-quicksight-role")).toBeDefined();
    expect(full.dashboards).toBeDefined();
  });

  test("topN reaches the ingest function and the coins alarm; the schedules, database and mode arrive as given", () => {
    expect(env(mocks.one(T.fn, "y-ingest-function"))[INGEST_ENV.topN]).toBe("500");
    expect(mocks.one(T.alarm, "y-ingest-coins-per-snapshot").inputs.threshold).toBe(Math.floor(DEFAULT_MIN_COINS_FRACTION * 500));
    expect(mocks.one(T.schedule, "y-ingest-schedule").inputs.scheduleExpression).toBe("rate(10 minutes)");
    expect(mocks.one(T.schedule, "y-transform-schedule").inputs.scheduleExpression).toBe("cron(15 * * * ? *)");
    expect(stringField(mocks.one(T.database, "y-database"), "name")).toBe("crypto_data_y");
    expect(
      new Set(
        mocks
          .resourcesOf("y")
          .filter((r) => r.type === T.dataSet)
          .map((d) => d.inputs.importMode),
      ),
    ).toEqual(new Set(["DIRECT_QUERY"]));
  });

  test("one bytes-scanned cutoff for both workgroups; one KMS key for every bucket and the dashboard role", () => {
    for (const wg of ["y-workgroup", "y-quicksight-workgroup"]) {
      expect((mocks.one(T.workgroup, wg).inputs.configuration as { bytesScannedCutoffPerQuery: number }).bytesScannedCutoffPerQuery).toBe(
        200 * 1024 ** 2,
      );
    }
    const encryptions = mocks.resourcesOf("y").filter((r) => r.type === T.encryption);
    expect(encryptions).toHaveLength(3);
    for (const e of encryptions) expect(JSON.stringify(e.inputs.rules)).toContain(MOCK_KMS_KEY_ARN);
    expect(JSON.stringify(policyOf(mocks.one(T.rolePolicy, "y-quicksight-role-policy")))).toContain(MOCK_KMS_KEY_ARN);
  });

  test("alert e-mails become subscriptions of the alarm topic", async () => {
    const subscriptions = mocks.resourcesOf("y").filter((r) => r.type === T.subscription);
    expect(subscriptions.map((s) => [s.inputs.protocol, s.inputs.endpoint, s.inputs.topic])).toEqual([
      ["email", "ops@example.com", await promiseOf(full.alarmTopicArn)],
    ]);
  });
});
