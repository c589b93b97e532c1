/**
 * Monitoring under Pulumi mocks: every alarm's metric, namespace, dimensions, statistic, threshold,
 * period, missing-data treatment and actions; a not-empty alarm for every queue the pipeline really
 * creates; the topic's key (its policy evaluated by an IAM simulator) and subscriptions; disabled alarms;
 * the dashboard; argument checks; and the custom metrics the real handlers emit (runIngest on a recorded
 * CoinGecko page, runTransform over the lake it wrote) being exactly those the alarms and dashboard watch.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import * as pulumi from "@pulumi/pulumi";
import { ATHENA_FAILED_QUERIES_METRIC, RUNBOOK_LOCATION } from "../components/alarmCatalog";
import { AnalyticsLayer } from "../components/analyticsLayer";
import { IngestLake } from "../components/ingestLake";
import { Monitoring, MonitoringArgs, scheduledFunctionTargets } from "../components/monitoring";
import { runIngest, SnapshotSource } from "../functions/ingest";
import { INGEST_ENV } from "../functions/ingestHandler";
import { LocalObjectStore } from "../functions/localObjectStore";
import { DEFAULT_METRICS_NAMESPACE, METRICS, PIPELINE_DIMENSION } from "../functions/metricsCatalog";
import { partitionPath } from "../functions/partitions";
import { createLogger, createMetrics } from "../functions/telemetry";
import { runTransform } from "../functions/transform";
import { TRANSFORM_ENV } from "../functions/transformHandler";
import { fixtureBytes, makeTempDir, removeTempDir } from "./helpers/factories";
import { installPulumiMocks, MOCK_ACCOUNT_ID, MOCK_REGION, policyOf, promiseOf, RecordedResource } from "./helpers/pulumiMocks";

const mocks = installPulumiMocks();
// IngestLake serializes its handler; a serialization error makes a mocked deployment hang instead of failing.
jest.setTimeout(60_000);
afterAll(() => pulumi.runtime.disconnect());

const T = {
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  key: "aws:kms/key:Key",
  queue: "aws:sqs/queue:Queue",
  fn: "aws:lambda/function:Function",
} as const;

const TAGS = { project: "crypto-analytics", environment: "test" };
const KMS_KEY_ARN = `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b`;
const EMAILS = ["ops@example.com", "On-Call@Example.org"];
const WEBHOOK = "https://hooks.example.com/alarms";
const ALERT_QUEUE_ARN = `arn:aws:sqs:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:alerts`;
/** Names of a transform function and its queues as plain values (for the components not built on AnalyticsLayer). */
const TRANSFORM = {
  functionName: "analytics-transform-5e6f7a8b",
  dlqName: "analytics-transform-dlq-9c0d1e2",
  failureQueueName: "analytics-transform-failures-3f4a5b6",
};

/** Resources a component named `prefix` created (its children are all named `${prefix}-...`). */
function resourcesOf(prefix: string): RecordedResource[] {
  return mocks.resources.filter((r) => r.name === prefix || r.name.startsWith(`${prefix}-`));
}
function alarmsOf(prefix: string): RecordedResource[] {
  return resourcesOf(prefix).filter((r) => r.type === T.alarm);
}
function field(r: RecordedResource, name: string): string {
  const v = r.state[name];
  if (typeof v !== "string") throw new Error(`${r.name}.${name} is not a string`);
  return v;
}

interface Widget {
  type: string;
  properties: {
    title: string;
    region?: string;
    metrics?: unknown[][];
    alarms?: string[];
    annotations?: { horizontal: { value: number }[] };
  };
}
function widgetsOf(prefix: string): Widget[] {
  return (JSON.parse(field(mocks.one(T.dashboard, `${prefix}-dashboard`), "dashboardBody")) as { widgets: Widget[] }).widgets;
}
/** Every metric line of every graph: `[namespace, name, dim1, value1, ..., {options}]`. */
function dashboardMetrics(prefix: string): unknown[][] {
  return widgetsOf(prefix).flatMap((w) => w.properties.metrics ?? []);
}

let lake: IngestLake;
let layer: AnalyticsLayer;
let mon: Monitoring;
let quiet: Monitoring;
let byok: Monitoring;
/** Values resolved once everything is registered. */
let pipeline: string;
let ingestFunctionName: string;
let ingestDlqName: string;
let ingestFailuresName: string;
let transformFunctionName: string;
let transformDlqName: string;
let transformFailuresName: string;
let workGroup: string;
let topicArn: string;

beforeAll(async () => {
  // The pipeline as it will be composed: both halves, and Monitoring fed with their outputs.
  lake = new IngestLake("lake", { coingeckoPlan: "keyless", tags: TAGS });
  layer = new AnalyticsLayer("analytics", {
    archiveBucketName: lake.bucketName,
    archiveBucketArn: lake.bucketArn,
    pipelineName: lake.pipelineName,
    metricsNamespace: lake.metricsNamespace,
    tags: TAGS,
  });
  mon = new Monitoring("mon", {
    pipelineName: lake.pipelineName,
    metricsNamespace: lake.metricsNamespace,
    ...scheduledFunctionTargets({
      ingest: lake,
      transform: { functionName: layer.transformFunctionName, dlqName: layer.dlqName, failureQueueName: layer.failureQueueName },
    }),
    athenaWorkGroup: layer.workGroupName,
    alertEmails: EMAILS,
    subscriptions: [
      { protocol: "https", endpoint: WEBHOOK },
      { protocol: "sqs", endpoint: pulumi.output(ALERT_QUEUE_ARN) },
    ],
    tags: TAGS,
  });
  quiet = new Monitoring("quiet", {
    pipelineName: "quiet-test",
    ...scheduledFunctionTargets({ transform: TRANSFORM }),
    athenaWorkGroup: "quiet_queries",
    alertEmails: ["ops@example.com"],
    alarmsEnabled: false,
  });
  byok = new Monitoring("byok", {
    pipelineName: "byok.test",
    kmsKeyArn: KMS_KEY_ARN,
    topN: pulumi.output(500),
    freshnessMinutes: 30,
    functionErrorThreshold: 3,
    transformMetrics: false,
  });
  await mocks.settled();
  pipeline = await promiseOf(lake.pipelineName);
  ingestFunctionName = await promiseOf(lake.functionName);
  ingestDlqName = await promiseOf(lake.dlqName);
  ingestFailuresName = await promiseOf(lake.failureQueueName);
  transformFunctionName = await promiseOf(layer.transformFunctionName);
  transformDlqName = await promiseOf(layer.dlqName);
  transformFailuresName = await promiseOf(layer.failureQueueName);
  workGroup = await promiseOf(layer.workGroupName);
  topicArn = field(mocks.one(T.topic, "mon-topic"), "arn");
});

/** One expected alarm: label → exact metric, condition and missing-data treatment. */
interface ExpectedAlarm {
  namespace: string;
  metricName: string;
  dimensions: () => Record<string, string>;
  statistic: string;
  threshold: number;
  comparisonOperator: string;
  period: number;
  evaluationPeriods: number;
  treatMissingData: string;
}
const pipelineDims = () => ({ [PIPELINE_DIMENSION]: pipeline });
const custom = (metricName: string, rest: Omit<ExpectedAlarm, "namespace" | "metricName" | "dimensions">): ExpectedAlarm => ({
  namespace: DEFAULT_METRICS_NAMESPACE,
  metricName,
  dimensions: pipelineDims,
  ...rest,
});
const lambda = (metricName: string, fnName: () => string): ExpectedAlarm => ({
  namespace: "AWS/Lambda",
  metricName,
  dimensions: () => ({ FunctionName: fnName() }),
  statistic: "Sum",
  threshold: 0,
  comparisonOperator: "GreaterThanThreshold",
  period: 300,
  evaluationPeriods: 1,
  treatMissingData: "notBreaching",
});
const queue = (queueName: () => string): ExpectedAlarm => ({
  namespace: "AWS/SQS",
  metricName: "ApproximateNumberOfMessagesVisible",
  dimensions: () => ({ QueueName: queueName() }),
  statistic: "Maximum",
  threshold: 0,
  comparisonOperator: "GreaterThanThreshold",
  period: 300,
  evaluationPeriods: 1,
  treatMissingData: "notBreaching",
});

const EXPECTED_ALARMS: Record<string, ExpectedAlarm> = {
  "ingest-freshness": custom("SnapshotsWritten", {
    statistic: "Sum",
    threshold: 1,
    comparisonOperator: "LessThanThreshold",
    period: 300,
    evaluationPeriods: 3,
    treatMissingData: "breaching",
  }),
  "ingest-coins-per-snapshot": custom("CoinsPerSnapshot", {
    statistic: "Minimum",
    threshold: 225,
    comparisonOperator: "LessThanThreshold",
    period: 300,
    evaluationPeriods: 2,
    treatMissingData: "notBreaching",
  }),
  "transform-stalled": custom("HoursMaterialised", {
    statistic: "Sum",
    threshold: 1,
    comparisonOperator: "LessThanThreshold",
    period: 3600,
    evaluationPeriods: 2,
    treatMissingData: "breaching",
  }),
  "transform-lag": custom("TransformLagHours", {
    statistic: "Maximum",
    threshold: 2,
    comparisonOperator: "GreaterThanThreshold",
    period: 3600,
    evaluationPeriods: 1,
    treatMissingData: "notBreaching",
  }),
  "ingest-errors": lambda("Errors", () => ingestFunctionName),
  "ingest-throttles": lambda("Throttles", () => ingestFunctionName),
  "ingest-async-events-dropped": lambda("AsyncEventsDropped", () => ingestFunctionName),
  "ingest-destination-delivery-failures": lambda("DestinationDeliveryFailures", () => ingestFunctionName),
  "transform-errors": lambda("Errors", () => transformFunctionName),
  "transform-throttles": lambda("Throttles", () => transformFunctionName),
  "transform-async-events-dropped": lambda("AsyncEventsDropped", () => transformFunctionName),
  "transform-destination-delivery-failures": lambda("DestinationDeliveryFailures", () => transformFunctionName),
  "ingest-dlq-not-empty": queue(() => ingestDlqName),
  "ingest-failures-not-empty": queue(() => ingestFailuresName),
  "transform-dlq-not-empty": queue(() => transformDlqName),
  "transform-failures-not-empty": queue(() => transformFailuresName),
  "athena-failed-queries": {
    namespace: "AWS/Athena",
    metricName: "TotalExecutionTime",
    dimensions: () => ({ QueryState: "FAILED", QueryType: "DML", WorkGroup: workGroup }),
    statistic: "SampleCount",
    threshold: 0,
    comparisonOperator: "GreaterThanThreshold",
    period: 300,
    evaluationPeriods: 1,
    treatMissingData: "notBreaching",
  },
};

describe("alarms: exact metric and condition", () => {
  test("the component creates exactly the expected alarms, and outputs their ARNs and names by label", async () => {
    const labels = Object.keys(EXPECTED_ALARMS).sort();
    expect(
      alarmsOf("mon")
        .map((a) => a.name.slice("mon-".length))
        .sort(),
    ).toEqual(labels);
    const arns = await promiseOf(mon.alarmArns);
    const names = await promiseOf(mon.alarmNames);
    expect(Object.keys(arns).sort()).toEqual(labels);
    for (const label of labels) {
      const alarm = mocks.one(T.alarm, `mon-${label}`);
      expect(arns[label]).toBe(field(alarm, "arn"));
      expect(names[label]).toBe(field(alarm, "name"));
    }
  });

  describe.each(Object.entries(EXPECTED_ALARMS))("%s", (label, expected) => {
    test("watches the right metric with the right condition", () => {
      const { inputs } = mocks.one(T.alarm, `mon-${label}`);
      expect({
        namespace: inputs.namespace,
        metricName: inputs.metricName,
        dimensions: inputs.dimensions,
        statistic: inputs.statistic,
        threshold: inputs.threshold,
        comparisonOperator: inputs.comparisonOperator,
        period: inputs.period,
        evaluationPeriods: inputs.evaluationPeriods,
        treatMissingData: inputs.treatMissingData,
      }).toEqual({ ...expected, dimensions: expected.dimensions() });
    });

    test("notifies the topic on ALARM and on OK, says what it means and points to the runbook", () => {
      const { inputs } = mocks.one(T.alarm, `mon-${label}`);
      expect(inputs.actionsEnabled).toBe(true);
      expect(inputs.alarmActions).toEqual([topicArn]);
      expect(inputs.okActions).toEqual([topicArn]);
      expect(inputs.alarmDescription).toContain(`pipeline ${pipeline}`);
      expect(inputs.alarmDescription).toMatch(new RegExp(`Runbook: ${RUNBOOK_LOCATION}#[a-z-]+$`));
      expect((inputs.alarmDescription as string).length).toBeLessThanOrEqual(1024);
      expect(inputs.tags).toEqual(TAGS);
      // Auto-named by Pulumi from the component and label (a random suffix): two stacks never collide.
      expect(inputs.name).toBeUndefined();
      expect(field(mocks.one(T.alarm, `mon-${label}`), "name")).toBe(`mon-${label}-1a2b3c4`);
    });
  });

  test("the Athena alarm watches the metric AWS documents for failed queries", () => {
    expect(ATHENA_FAILED_QUERIES_METRIC).toEqual({
      namespace: "AWS/Athena",
      metricName: "TotalExecutionTime",
      statistic: "SampleCount",
      queryState: "FAILED",
      queryType: "DML",
    });
  });
});

describe("coverage derived from the resources the pipeline really creates", () => {
  test("every SQS queue the pipeline creates (both halves' DLQs and failure destinations) has a not-empty alarm", () => {
    const queues = mocks.ofType(T.queue);
    expect(queues.length).toBe(4);
    const watched = alarmsOf("mon")
      .filter((a) => a.inputs.namespace === "AWS/SQS" && a.inputs.metricName === "ApproximateNumberOfMessagesVisible")
      .map((a) => (a.inputs.dimensions as Record<string, string>).QueueName);
    for (const q of queues) expect(watched).toContain(field(q, "name"));
  });

  test("every Lambda function created has Errors, Throttles, AsyncEventsDropped and DestinationDeliveryFailures alarms", () => {
    const functions = mocks.ofType(T.fn);
    expect(functions.length).toBe(2);
    for (const fn of functions) {
      const watched = alarmsOf("mon")
        .filter(
          (a) => a.inputs.namespace === "AWS/Lambda" && (a.inputs.dimensions as Record<string, string>).FunctionName === field(fn, "name"),
        )
        .map((a) => a.inputs.metricName)
        .sort();
      expect(watched).toEqual(["AsyncEventsDropped", "DestinationDeliveryFailures", "Errors", "Throttles"]);
    }
  });

  test("scheduledFunctionTargets names one function and its two queues per label", () => {
    expect(scheduledFunctionTargets({ transform: TRANSFORM })).toEqual({
      functions: [{ label: "transform", functionName: TRANSFORM.functionName }],
      queues: [
        { label: "transform-dlq", queueName: TRANSFORM.dlqName },
        { label: "transform-failures", queueName: TRANSFORM.failureQueueName },
      ],
    });
  });
});

describe("topic encryption", () => {
  test("the topic is encrypted with a dedicated customer managed key that rotates", () => {
    const key = mocks.one(T.key, "mon-topic-key");
    expect(mocks.one(T.topic, "mon-topic").inputs.kmsMasterKeyId).toBe(field(key, "arn"));
    expect(key.inputs).toMatchObject({ enableKeyRotation: true, deletionWindowInDays: 30, tags: TAGS });
  });

  test("key policy: the account administers the key; CloudWatch may use it only for this account's alarms in this region", () => {
    expect(policyOf(mocks.one(T.key, "mon-topic-key"))).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "AccountAdministersKey",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${MOCK_ACCOUNT_ID}:root` },
          Action: ["kms:*"],
          Resource: ["*"],
        },
        {
          Sid: "CloudWatchAlarmsPublish",
          Effect: "Allow",
          Principal: { Service: "cloudwatch.amazonaws.com" },
          Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
          Resource: ["*"],
          Condition: {
            StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID },
            ArnLike: { "aws:SourceArn": `arn:aws:cloudwatch:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:alarm:*` },
          },
        },
      ],
    });
  });

  const OTHER_ACCOUNT = "210987654321";
  const ADMIN_ROLE = `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/admin`;
  const alarmArn = (account: string, region = MOCK_REGION) => `arn:aws:cloudwatch:${region}:${account}:alarm:mon-ingest-freshness-1a2b3c4`;
  test.each<[string, string, string, string | undefined, string | undefined, string, boolean?]>([
    [
      "CloudWatch, for an alarm of this account, generates a data key",
      "cloudwatch.amazonaws.com",
      "kms:GenerateDataKey",
      alarmArn(MOCK_ACCOUNT_ID),
      MOCK_ACCOUNT_ID,
      "Allowed",
    ],
    [
      "CloudWatch, for an alarm of this account, decrypts",
      "cloudwatch.amazonaws.com",
      "kms:Decrypt",
      alarmArn(MOCK_ACCOUNT_ID),
      MOCK_ACCOUNT_ID,
      "Allowed",
    ],
    [
      "CloudWatch, for another account's alarm",
      "cloudwatch.amazonaws.com",
      "kms:GenerateDataKey",
      alarmArn(OTHER_ACCOUNT),
      OTHER_ACCOUNT,
      "ImplicitlyDenied",
    ],
    [
      "CloudWatch, for an alarm in another region",
      "cloudwatch.amazonaws.com",
      "kms:Decrypt",
      alarmArn(MOCK_ACCOUNT_ID, "eu-west-1"),
      MOCK_ACCOUNT_ID,
      "ImplicitlyDenied",
    ],
    [
      "CloudWatch, for something that is not an alarm",
      "cloudwatch.amazonaws.com",
      "kms:Decrypt",
      `arn:aws:cloudwatch::${MOCK_ACCOUNT_ID}:dashboard/ops`,
      MOCK_ACCOUNT_ID,
      "ImplicitlyDenied",
    ],
    [
      "CloudWatch re-encrypting",
      "cloudwatch.amazonaws.com",
      "kms:ReEncryptFrom",
      alarmArn(MOCK_ACCOUNT_ID),
      MOCK_ACCOUNT_ID,
      "ImplicitlyDenied",
    ],
    [
      "EventBridge (not granted)",
      "events.amazonaws.com",
      "kms:GenerateDataKey",
      `arn:aws:events:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:rule/r`,
      MOCK_ACCOUNT_ID,
      "ImplicitlyDenied",
    ],
    // The account statement delegates to IAM: an account role may manage the key only if its own policy says so.
    [
      "an account role whose IAM policy allows it, changing the key policy",
      ADMIN_ROLE,
      "kms:PutKeyPolicy",
      undefined,
      undefined,
      "Allowed",
      true,
    ],
    ["an account role without such an IAM policy", ADMIN_ROLE, "kms:PutKeyPolicy", undefined, undefined, "ImplicitlyDenied"],
    [
      "another account's role, even with an IAM policy",
      `arn:aws:iam::${OTHER_ACCOUNT}:role/admin`,
      "kms:Decrypt",
      undefined,
      undefined,
      "ImplicitlyDenied",
      true,
    ],
  ])("%s: %s %s", async (_label, principal, action, sourceArn, sourceAccount, result, iamAllows = false) => {
    const key = mocks.one(T.key, "mon-topic-key");
    const simulation = await runSimulation(
      {
        identityPolicies: iamAllows
          ? [
              {
                name: "key-admin",
                policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["kms:*"], Resource: [field(key, "arn")] }] },
              },
            ]
          : [],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: policyOf(key),
        request: {
          principal,
          action,
          resource: { accountId: MOCK_ACCOUNT_ID, resource: field(key, "arn") },
          contextVariables: sourceArn === undefined ? {} : { "aws:SourceArn": sourceArn, "aws:SourceAccount": sourceAccount as string },
        },
      },
      {},
    );
    expect(simulation.resultType === "error" ? simulation.errors : undefined).toBeUndefined();
    expect(simulation.resultType === "single" && simulation.overallResult).toBe(result);
  });

  test("with kmsKeyArn the given key encrypts the topic and no key is created", async () => {
    expect(resourcesOf("byok").filter((r) => r.type === T.key)).toEqual([]);
    expect(mocks.one(T.topic, "byok-topic").inputs.kmsMasterKeyId).toBe(KMS_KEY_ARN);
    expect(await promiseOf(byok.topicKeyArn)).toBe(KMS_KEY_ARN);
    expect(await promiseOf(mon.topicKeyArn)).toBe(field(mocks.one(T.key, "mon-topic-key"), "arn"));
  });
});

describe("subscriptions", () => {
  test("one e-mail subscription per address, named by a hash of the address, plus the other protocols", () => {
    const subscriptions = resourcesOf("mon").filter((r) => r.type === T.subscription);
    expect(subscriptions.map((s) => ({ name: s.name, ...s.inputs }))).toEqual([
      { name: "mon-email-af3c8254", topic: topicArn, protocol: "email", endpoint: EMAILS[0] },
      { name: "mon-email-2ce4e89d", topic: topicArn, protocol: "email", endpoint: EMAILS[1] },
      { name: "mon-subscription-0", topic: topicArn, protocol: "https", endpoint: WEBHOOK },
      { name: "mon-subscription-1", topic: topicArn, protocol: "sqs", endpoint: ALERT_QUEUE_ARN },
    ]);
  });

  test("the same address gets the same subscription name in another component (stable across reordering)", () => {
    const quietEmail = resourcesOf("quiet").filter((r) => r.type === T.subscription);
    expect(quietEmail.map((s) => s.name)).toEqual(["quiet-email-af3c8254"]);
  });
});

describe("alarms switched off", () => {
  test("no alarm is created; the topic, its key and subscriptions and the dashboard still are", async () => {
    expect(alarmsOf("quiet")).toEqual([]);
    expect(
      resourcesOf("quiet")
        .map((r) => r.type)
        .sort(),
    ).toEqual([T.dashboard, T.key, T.topic, T.subscription, "crypto-analytics:pipeline:Monitoring"].sort());
    expect(await promiseOf(quiet.alarmArns)).toEqual({});
    expect(await promiseOf(quiet.topicArn)).toBe(field(mocks.one(T.topic, "quiet-topic"), "arn"));
  });

  test("its dashboard has no alarm widget but still charts the metrics", () => {
    const widgets = widgetsOf("quiet");
    expect(widgets.filter((w) => w.type === "alarm")).toEqual([]);
    expect(dashboardMetrics("quiet").map((m) => m[1])).toEqual(
      expect.arrayContaining([
        "SnapshotsWritten",
        "TransformLagHours",
        "Errors",
        "ApproximateNumberOfMessagesVisible",
        "TotalExecutionTime",
      ]),
    );
  });
});

describe("thresholds from arguments", () => {
  test("topN (an Output) sets the coins threshold to 90% of it; freshness 30 minutes is 6 periods; the error threshold applies", () => {
    const alarm = (label: string) => mocks.one(T.alarm, `byok-${label}`).inputs;
    expect(alarm("ingest-coins-per-snapshot").threshold).toBe(450);
    expect(alarm("ingest-freshness")).toMatchObject({ period: 300, evaluationPeriods: 6 });
    expect(alarm("ingest-freshness").alarmDescription).toContain("for 30 minutes");
    expect(
      alarmsOf("byok")
        .map((a) => a.name)
        .sort(),
    ).toEqual(["byok-ingest-coins-per-snapshot", "byok-ingest-freshness"]);
    expect(mocks.one(T.dashboard, "byok-dashboard").inputs.dashboardName).toBe("byok-test-ops");
  });
});

describe("ops dashboard", () => {
  test("named after the pipeline, with its console URL as an output", async () => {
    const dashboardName = `${pipeline}-ops`;
    expect(mocks.one(T.dashboard, "mon-dashboard").inputs.dashboardName).toBe(dashboardName);
    expect(await promiseOf(mon.dashboardName)).toBe(dashboardName);
    expect(await promiseOf(mon.dashboardUrl)).toBe(
      `https://${MOCK_REGION}.console.aws.amazon.com/cloudwatch/home?region=${MOCK_REGION}#dashboards/dashboard/${dashboardName}`,
    );
  });

  test("an alarm widget lists every alarm", () => {
    const [alarmWidget] = widgetsOf("mon").filter((w) => w.type === "alarm");
    expect([...(alarmWidget.properties.alarms ?? [])].sort()).toEqual(
      alarmsOf("mon")
        .map((a) => field(a, "arn"))
        .sort(),
    );
  });

  test("every graph is in the stack's region, and shows each function, queue and the Athena workgroup", () => {
    const graphs = widgetsOf("mon").filter((w) => w.type === "metric");
    for (const g of graphs) expect(g.properties.region).toBe(MOCK_REGION);
    const lines = dashboardMetrics("mon").map((m) => m.slice(0, -1));
    for (const fn of [ingestFunctionName, transformFunctionName]) {
      for (const metric of ["Errors", "Throttles", "AsyncEventsDropped", "DestinationDeliveryFailures"]) {
        expect(lines).toContainEqual(["AWS/Lambda", metric, "FunctionName", fn]);
      }
    }
    for (const q of [ingestDlqName, ingestFailuresName, transformDlqName, transformFailuresName]) {
      expect(lines).toContainEqual(["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]);
    }
    expect(lines).toContainEqual(["AWS/Athena", "TotalExecutionTime", "QueryState", "FAILED", "QueryType", "DML", "WorkGroup", workGroup]);
  });

  test("the coins and lag graphs draw the alarm thresholds", () => {
    const thresholds = widgetsOf("mon").flatMap((w) =>
      (w.properties.annotations?.horizontal ?? []).map((h) => [w.properties.title, h.value]),
    );
    expect(thresholds).toEqual([
      ["Ingest: coins per snapshot / rows dropped", 225],
      ["Transform: lag (hours)", 2],
    ]);
  });
});

describe("the metrics the handlers emit are exactly the ones the alarms and dashboard watch", () => {
  interface Emitted {
    namespace: string;
    dimensions: string[][];
    pipeline: unknown;
    names: string[];
  }
  const emitted: Emitted[] = [];
  let lakeDir: string;

  beforeAll(async () => {
    // Each function's deployed environment decides the namespace and dimension value its handler emits.
    const env = (fn: string) => (mocks.one(T.fn, fn).inputs.environment as { variables: Record<string, string> }).variables;
    const ingestEnv = env("lake-ingest-function");
    const transformEnv = env("analytics-transform-function");
    const lines: string[] = [];
    const sink = (l: string) => lines.push(l);
    const ingestMetrics = createMetrics(ingestEnv[INGEST_ENV.pipeline], { namespace: ingestEnv[INGEST_ENV.namespace], sink });
    const transformMetrics = createMetrics(transformEnv[TRANSFORM_ENV.pipeline], {
      namespace: transformEnv[TRANSFORM_ENV.namespace],
      sink,
    });
    const logger = createLogger("monitoring-test", { sink: () => undefined });
    lakeDir = makeTempDir("monitoring-emf");
    const store = new LocalObjectStore(lakeDir);
    const page = new Uint8Array(fixtureBytes("cgdata-page1-250.json"));
    const source: SnapshotSource = async () => ({
      pages: [{ page: 1, body: page }],
      request: { url: "https://api.coingecko.com/api/v3/coins/markets", params: { vs_currency: "usd", per_page: 250, page: 1 } },
      fetchedAt: "2024-09-03T07:05:01.000Z",
      retries: 1,
      latencyMs: 420,
    });
    const ingested = await runIngest({
      store,
      source,
      scheduledTime: Date.UTC(2024, 8, 3, 7, 5),
      vsCurrency: "usd",
      logger,
      metrics: ingestMetrics,
    });
    expect(ingested).toMatchObject({ status: "written", coins: 250 });

    const statements: string[] = [];
    const summary = await runTransform({
      processed: store,
      state: store,
      engine: { execute: async (sql) => (statements.push(sql), { rows: [], rowsWritten: 250, queryId: "q-0001" }) },
      renderInsert: (p) => `INSERT INTO analytics_prices /* ${partitionPath(p)} */`,
      logger,
      metrics: transformMetrics,
      nowMs: () => Date.UTC(2024, 8, 3, 8, 5),
    });
    expect(summary).toMatchObject({ rowsMaterialised: 250, lagHours: 0 });
    expect(statements).toEqual(["INSERT INTO analytics_prices /* year=2024/month=9/day=3/hour=7 */"]);

    for (const line of lines) {
      const record = JSON.parse(line) as Record<string, unknown> & {
        _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
      };
      for (const directive of record._aws.CloudWatchMetrics) {
        emitted.push({
          namespace: directive.Namespace,
          dimensions: directive.Dimensions,
          pipeline: record[PIPELINE_DIMENSION],
          names: directive.Metrics.map((m) => m.Name),
        });
      }
    }
  });
  afterAll(() => removeTempDir(lakeDir));

  const emittedNames = () => new Set(emitted.flatMap((e) => e.names));
  const isCustom = (namespace: unknown) => typeof namespace === "string" && !namespace.startsWith("AWS/");

  test("ingest and transform emitted every catalog metric, under one namespace, dimensioned by the pipeline only", () => {
    expect([...emittedNames()].sort()).toEqual(
      Object.values(METRICS)
        .map((m) => m.name)
        .sort(),
    );
    expect(new Set(emitted.map((e) => e.namespace))).toEqual(new Set([DEFAULT_METRICS_NAMESPACE]));
    for (const e of emitted) {
      expect(e.dimensions).toEqual([[PIPELINE_DIMENSION]]);
      expect(e.pipeline).toBe(pipeline);
    }
  });

  test("every custom-metric alarm watches an emitted name, in the emitted namespace, with exactly the emitted dimension and value", () => {
    const customAlarms = alarmsOf("mon").filter((a) => isCustom(a.inputs.namespace));
    expect(customAlarms.length).toBe(4);
    for (const a of customAlarms) {
      const match = emitted.find((e) => e.names.includes(a.inputs.metricName as string));
      expect(match).toBeDefined();
      expect(a.inputs.namespace).toBe(match?.namespace);
      expect(Object.keys(a.inputs.dimensions as object)).toEqual(match?.dimensions[0]);
      expect((a.inputs.dimensions as Record<string, string>)[PIPELINE_DIMENSION]).toBe(match?.pipeline);
    }
  });

  test("the dashboard charts exactly the emitted custom metrics, with the emitted dimension and value", () => {
    const lines = dashboardMetrics("mon").filter((m) => isCustom(m[0]));
    expect(new Set(lines.map((m) => m[1]))).toEqual(emittedNames());
    for (const m of lines) {
      expect(m[0]).toBe(emitted[0].namespace);
      expect(m.slice(2, -1)).toEqual([PIPELINE_DIMENSION, pipeline]);
    }
  });
});

describe("invalid arguments are refused before anything is created", () => {
  const base: MonitoringArgs = { pipelineName: "check-test" };
  let counter = 0;
  test.each<[string, Partial<MonitoringArgs>, RegExp]>([
    ["negative queue threshold", { queueDepthThreshold: -1 }, /queueDepthThreshold must be an integer from 0 to 100000, got -1/],
    ["fractional error threshold", { functionErrorThreshold: 0.5 }, /functionErrorThreshold must be an integer from 0 to 100000, got 0.5/],
    ["negative lag", { maxTransformLagHours: -2 }, /maxTransformLagHours must be an integer from 0 to 167/],
    ["zero coins", { minCoinsPerSnapshot: 0 }, /minCoinsPerSnapshot must be an integer from 1 to 1000/],
    ["coins above topN", { topN: 100, minCoinsPerSnapshot: 150 }, /minCoinsPerSnapshot \(150\) is above topN \(100\)/],
    ["freshness off the 5-minute grid", { freshnessMinutes: 12 }, /freshnessMinutes must be a multiple of 5 \(the ingest slot\), got 12/],
    ["freshness below two slots", { freshnessMinutes: 5 }, /freshnessMinutes must be an integer from 10 to 1440/],
    [
      "bad e-mail",
      { alertEmails: ["ops.example.com"] },
      /alertEmails entry must be an e-mail address such as ops@example.com, got "ops.example.com"/,
    ],
    ["e-mail listed twice", { alertEmails: ["ops@example.com", "OPS@example.com"] }, /alertEmails lists "OPS@example.com" twice/],
    [
      "plain http subscription",
      { subscriptions: [{ protocol: "http" as never, endpoint: "http://hooks.example.com" }] },
      /subscriptions\[0\]\.protocol must be one of https, sqs, lambda, sms, email-json, application, got "http"/,
    ],
    [
      "https protocol with an http URL",
      { subscriptions: [{ protocol: "https", endpoint: "http://hooks.example.com" }] },
      /subscriptions\[0\]\.endpoint \(https\) must be an https:\/\/ URL/,
    ],
    [
      "sms without country code",
      { subscriptions: [{ protocol: "sms", endpoint: "4155550100" }] },
      /endpoint \(sms\) must be an E.164 phone number/,
    ],
    [
      "function label twice",
      {
        functions: [
          { label: "ingest", functionName: "a" },
          { label: "ingest", functionName: "b" },
        ],
      },
      /functions: label "ingest" is used twice/,
    ],
    ["upper-case queue label", { queues: [{ label: "Ingest-DLQ", queueName: "q" }] }, /queues: label must be 1-40 lower-case letters/],
    ["pipeline name with spaces", { pipelineName: "my pipeline" }, /pipelineName must be 1-128 letters/],
    ["AWS/ namespace", { metricsNamespace: "AWS/Lambda" }, /metricsNamespace must be a CloudWatch namespace not starting with AWS\//],
  ])("%s", async (_label, args, message) => {
    counter += 1;
    const name = `bad${counter}`;
    expect(() => new Monitoring(name, { ...base, ...args })).toThrow(message);
    await mocks.settled();
    expect(resourcesOf(name).filter((r) => r.type.startsWith("aws:"))).toEqual([]);
  });
});
