/**
 * The Pulumi program (index.ts) under mocks with a stack's config: it builds the pipeline from the config
 * keys, exports what operators need, keeps the CoinGecko key a secret from config to state, and refuses
 * malformed config values before creating anything.
 */
import * as pulumi from "@pulumi/pulumi";
import { INGEST_ENV } from "../functions/ingestHandler";
import { parseStackOutputs } from "../verify/stackOutputs";
import {
  installPulumiMocks,
  isSecretValue,
  MOCK_ACCOUNT_ID,
  MOCK_REGION,
  plainTextPaths,
  promiseOf,
  RecordedResource,
} from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
// Every function is serialized; a serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(90_000);
afterAll(() => pulumi.runtime.disconnect());

const PROJECT = "crypto-analytics";
const API_KEY = "CG-programTestSecret9";
const VIEWER = `arn:aws:quicksight:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:user/default/alice`;

/** Stack config as `pulumi config set` stores it: project-qualified keys, lists as JSON. */
const STACK_CONFIG: Record<string, string> = {
  coingeckoPlan: "demo",
  coingeckoApiKey: API_KEY,
  topN: "100",
  ingestSchedule: "rate(5 minutes)",
  logRetentionDays: "14",
  lookbackHours: "48",
  alertEmails: JSON.stringify(["ops@example.com"]),
  quicksightPrincipalArns: JSON.stringify([VIEWER]),
  dashboardMode: "SPICE",
  alarmsEnabled: "true",
  lakeFormationPermissions: "true",
};

function setStackConfig(values: Record<string, string>): void {
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(values).map(([k, v]) => [`${PROJECT}:${k}`, v])), [
    `${PROJECT}:coingeckoApiKey`,
  ]);
}

const EXPORTS = [
  "alarmTopicArn",
  "analyticsBucketName",
  "archiveBucketName",
  "athenaWorkGroup",
  "coingeckoKeyParameterName",
  "dashboardUrl",
  "glueDatabase",
  "ingestFunctionName",
  "opsDashboardUrl",
  "queryResultsBucketName",
  "quicksightDataSetArns",
  "quicksightDataSourceArn",
  "quicksightImportMode",
  "transformFunctionName",
  "viewNames",
];

/** The program's exports; the key parameter and dashboard URL are undefined when keyless / without principals. */
let program: Record<string, pulumi.Output<unknown> | undefined>;
let values: Record<string, unknown>;

function one(type: string, name: string): RecordedResource {
  return mocks.one(type, name);
}

beforeAll(async () => {
  setStackConfig(STACK_CONFIG);
  program = await import("../index");
  await mocks.settled();
  values = Object.fromEntries(
    await Promise.all(Object.entries(program).map(async ([k, v]) => [k, v === undefined ? undefined : await promiseOf(v)] as const)),
  );
});

test("exports bucket names, the Glue database, workgroup, function names, topic ARN and dashboard URLs", () => {
  expect(Object.keys(program).sort()).toEqual(EXPORTS);
  expect(values.archiveBucketName).toBe(one("aws:s3/bucket:Bucket", "crypto-archive").state.bucket);
  expect(values.analyticsBucketName).toBe(one("aws:s3/bucket:Bucket", "crypto-analytics").state.bucket);
  expect(values.glueDatabase).toBe("crypto_data_test");
  expect(values.athenaWorkGroup).toBe(one("aws:athena/workgroup:Workgroup", "crypto-workgroup").state.name);
  expect(values.ingestFunctionName).toBe(one("aws:lambda/function:Function", "crypto-ingest-function").state.name);
  expect(values.transformFunctionName).toBe(one("aws:lambda/function:Function", "crypto-transform-function").state.name);
  expect(values.alarmTopicArn).toBe(one("aws:sns/topic:Topic", "crypto-topic").state.arn);
  expect(values.coingeckoKeyParameterName).toBe(one("aws:ssm/parameter:Parameter", "crypto-coingecko-key").state.name);
  const dashboardId = one("aws-native:quicksight:Dashboard", "crypto-quicksight-dashboard").inputs.dashboardId;
  expect(values.dashboardUrl).toBe(`https://${MOCK_REGION}.quicksight.aws.amazon.com/sn/dashboards/${dashboardId}`);
  expect(values.opsDashboardUrl).toMatch(
    /^https:\/\/us-east-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=us-east-1#dashboards\/dashboard\//,
  );
  expect(values.viewNames).toEqual(expect.arrayContaining(["v_top_100", "v_total_market_cap"]));
});

test("exports what `crypto-analytics verify` reads of QuickSight, in the shape it parses", () => {
  expect(values.quicksightDataSourceArn).toBe(one("aws:quicksight/dataSource:DataSource", "crypto-quicksight-source").state.arn);
  const dataSets = mocks.ofType("aws-native:quicksight:DataSet");
  // Data set ids are `<name>-<8 hex>-<view>`.
  const viewOf = (d: RecordedResource): string => String(d.inputs.dataSetId).replace(/^.*?-[0-9a-f]{8}-/, "");
  expect(values.quicksightDataSetArns).toEqual(Object.fromEntries(dataSets.map((d) => [viewOf(d), d.state.arn])));
  expect(values.quicksightImportMode).toBe("SPICE");
  const targets = parseStackOutputs(values, "program exports");
  expect(targets.quicksight).toMatchObject({
    dataSourceId: one("aws:quicksight/dataSource:DataSource", "crypto-quicksight-source").inputs.dataSourceId,
    importMode: "SPICE",
  });
  expect(targets.quicksight?.dataSetIds).toEqual(Object.fromEntries(dataSets.map((d) => [viewOf(d), d.inputs.dataSetId])));
});

test("config keys reach the pipeline", () => {
  const ingest = one("aws:lambda/function:Function", "crypto-ingest-function").inputs.environment as { variables: Record<string, string> };
  expect(ingest.variables[INGEST_ENV.plan]).toBe("demo");
  expect(ingest.variables[INGEST_ENV.topN]).toBe("100");
  expect(one("aws:cloudwatch/logGroup:LogGroup", "crypto-ingest-logs").inputs.retentionInDays).toBe(14);
  expect(
    one("aws:sns/topicSubscription:TopicSubscription", mocks.ofType("aws:sns/topicSubscription:TopicSubscription")[0].name).inputs.endpoint,
  ).toBe("ops@example.com");
  expect(mocks.ofType("aws-native:quicksight:DataSet").map((d) => d.inputs.importMode)).toEqual(expect.arrayContaining(["SPICE"]));
  expect(
    (one("aws-native:quicksight:Dashboard", "crypto-quicksight-dashboard").inputs.permissions as { principal: string }[]).map(
      (p) => p.principal,
    ),
  ).toEqual([VIEWER]);
  // lakeFormationPermissions: grants for the two roles that query through Athena, none for the ingest role.
  const grantees = new Set(mocks.ofType("aws:lakeformation/permissions:Permissions").map((g) => g.inputs.principal));
  expect([...grantees].sort()).toEqual(
    [one("aws:iam/role:Role", "crypto-transform-role").state.arn, one("aws:iam/role:Role", "crypto-quicksight-role").state.arn].sort(),
  );
});

test("SPICE: the dashboard's refresh follows this stack's transform, and Monitoring alarms on the refresh function and both its queues", () => {
  const transformArn = String(one("aws:lambda/function:Function", "crypto-transform-function").state.arn);
  const pattern = JSON.parse(String(one("aws:cloudwatch/eventRule:EventRule", "crypto-spice-refresh-rule").inputs.eventPattern));
  expect(pattern.detail.requestContext.functionArn).toEqual([transformArn, { prefix: `${transformArn}:` }]);
  expect(
    one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig", "crypto-transform-invoke-config").inputs.destinationConfig,
  ).toMatchObject({
    onSuccess: { destination: `arn:aws:events:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:event-bus/default` },
  });
  const dimensions = mocks.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.inputs.dimensions as Record<string, string>);
  const refreshFn = String(one("aws:lambda/function:Function", "crypto-spice-refresh-function").state.name);
  expect(dimensions.filter((d) => d.FunctionName === refreshFn)).toHaveLength(4);
  for (const queue of ["crypto-spice-refresh-dlq", "crypto-spice-refresh-failures"]) {
    const queueName = String(one("aws:sqs/queue:Queue", queue).state.name);
    expect([queue, dimensions.some((d) => d.QueueName === queueName)]).toEqual([queue, true]);
  }
});

test("the CoinGecko key exists only as a secret: in the SSM parameter's value, nowhere in plain text, in no export", async () => {
  const parameter = one("aws:ssm/parameter:Parameter", "crypto-coingecko-key");
  expect(isSecretValue(parameter.inputs.value)).toBe(true);
  expect((parameter.inputs.value as { value: unknown }).value).toBe(API_KEY);
  expect(await plainTextPaths(mocks.resources, API_KEY)).toEqual([]);
  expect(JSON.stringify(values)).not.toContain(API_KEY);
});

describe("malformed config fails before anything is created", () => {
  afterAll(() => setStackConfig(STACK_CONFIG));

  test.each([
    ["dashboardMode outside its values", { dashboardMode: "HYBRID" }, /dashboardMode.*HYBRID|HYBRID.*dashboardMode/],
    ["coingeckoPlan outside its values", { coingeckoPlan: "enterprise" }, /coingeckoPlan/],
    [
      "alertEmails not a list",
      { alertEmails: JSON.stringify("ops@example.com") },
      /config crypto-analytics:alertEmails must be a list of strings, got "ops@example.com"/,
    ],
    [
      "quicksightPrincipalArns holding a number",
      { quicksightPrincipalArns: JSON.stringify([42]) },
      /quicksightPrincipalArns must be a list of strings/,
    ],
  ])("%s", async (_label, override, message) => {
    setStackConfig({ ...STACK_CONFIG, ...override });
    const before = mocks.resources.length;
    // A fresh module registry, so index.ts runs again; the config is read before the pipeline is constructed.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- isolateModules re-runs the program, which only require can do
    expect(() => jest.isolateModules(() => require("../index"))).toThrow(message);
    await mocks.settled();
    expect(mocks.resources.length).toBe(before);
  });
});
