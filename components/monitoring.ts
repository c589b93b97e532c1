/**
 * Monitoring: operators hear within minutes when snapshots stop, data thins out, the hourly transform
 * falls behind, a function fails or an event lands in a dead-letter queue. Owns an encrypted SNS topic
 * with its subscriptions, the CloudWatch alarms (alarm and OK actions to the topic) and an ops dashboard
 * showing the same metrics. What each alarm watches and means is an entry of components/alarmCatalog.ts,
 * which both the alarms and the dashboard read; the custom metric names, namespace and dimension come from
 * functions/metricsCatalog.ts, the one definition the handlers emit through.
 */
import { createHash } from "crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_TOP_N } from "../functions/coingeckoClient";
import { DEFAULT_METRICS_NAMESPACE } from "../functions/metricsCatalog";
import {
  AlarmContext,
  alarmDescription,
  AlarmEntry,
  AlarmScope,
  AlarmTarget,
  ALARMS,
  CHARTS,
  CompanionLine,
  MetricRef,
  INGEST_ALARM_PERIOD_SECONDS,
} from "./alarmCatalog";
import { checked, derive, integerIn, matching, metricsNamespaceFormat, oneOf, pipelineNameFormat, plainValue } from "./args";
import { IAM_POLICY_VERSION, PolicyStatement } from "./iam";
import { MAX_TOP_N } from "./ingestLake";

/** Minutes without a written snapshot before the freshness alarm fires (missing data counts as none). */
export const DEFAULT_FRESHNESS_MINUTES = 15;
/** Share of `topN` a snapshot must hold; fewer coins means CoinGecko served a thin or partial answer. */
export const DEFAULT_MIN_COINS_FRACTION = 0.9;
/** Hours without a materialised hour before the transform-stalled alarm fires (missing data counts as none). */
export const DEFAULT_TRANSFORM_STALLED_HOURS = 2;
/** Largest tolerated `TransformLagHours` (hours between now and the newest fully materialised hour). */
export const DEFAULT_MAX_TRANSFORM_LAG_HOURS = 2;
/** Function errors (and throttles, dropped events, destination failures) per period tolerated. */
export const DEFAULT_FUNCTION_ERROR_THRESHOLD = 0;
/** Messages a dead-letter or failure queue may hold before its alarm fires. */
export const DEFAULT_QUEUE_DEPTH_THRESHOLD = 0;
/** Failed Athena queries per period tolerated in the workgroup. */
export const DEFAULT_ATHENA_FAILED_QUERY_THRESHOLD = 0;
/** Days a deleted topic key stays recoverable (the KMS maximum). */
export const KMS_KEY_DELETION_WINDOW_DAYS = 30;

/** Protocols accepted in {@link MonitoringArgs.subscriptions}; plain `http` is refused (alerts in clear text). */
export const SUBSCRIPTION_PROTOCOLS = ["https", "sqs", "lambda", "sms", "email-json", "application"] as const;
/** A protocol of {@link SUBSCRIPTION_PROTOCOLS}. */
export type SubscriptionProtocol = (typeof SUBSCRIPTION_PROTOCOLS)[number];

/** A Lambda function to watch. */
export interface MonitoredFunction {
  /** Lower-case label naming its alarms, e.g. `ingest` → alarm `ingest-errors`. */
  label: string;
  /** Function name (`FunctionName` dimension). */
  functionName: pulumi.Input<string>;
}

/** An SQS queue that must stay empty: a delivery DLQ or an on-failure destination. */
export interface MonitoredQueue {
  /** Lower-case label naming its alarm, e.g. `ingest-dlq` → alarm `ingest-dlq-not-empty`. */
  label: string;
  /** Queue name (`QueueName` dimension). */
  queueName: pulumi.Input<string>;
}

/** A notification endpoint other than e-mail. */
export interface AlertSubscription {
  /** One of {@link SUBSCRIPTION_PROTOCOLS}. */
  protocol: SubscriptionProtocol;
  /**
   * `https://...` URL, SQS queue ARN, Lambda function ARN, E.164 phone number, e-mail address
   * (`email-json`) or platform endpoint ARN (`application`). The endpoint's owner grants SNS access
   * (queue policy, `lambda.Permission`).
   */
  endpoint: pulumi.Input<string>;
}

/** What a scheduled function exposes for monitoring: IngestLake directly, AnalyticsLayer via its transform outputs. */
export interface MonitoredScheduledFunction {
  /** Function name. */
  functionName: pulumi.Input<string>;
  /** Schedule delivery DLQ name. */
  dlqName: pulumi.Input<string>;
  /** Async on-failure destination name. */
  failureQueueName: pulumi.Input<string>;
}

/**
 * The functions and queues of scheduled functions, keyed by label: function `label`, queues
 * `label-dlq` and `label-failures`. Spread the result into {@link MonitoringArgs}, e.g.
 * `scheduledFunctionTargets({ ingest: lake, transform: { functionName: layer.transformFunctionName, ... } })`.
 */
export function scheduledFunctionTargets(
  sources: Record<string, MonitoredScheduledFunction>,
): Required<Pick<MonitoringArgs, "functions" | "queues">> {
  const entries = Object.entries(sources);
  return {
    functions: entries.map(([label, s]) => ({ label, functionName: s.functionName })),
    queues: entries.flatMap(([label, s]) => [
      { label: `${label}-dlq`, queueName: s.dlqName },
      { label: `${label}-failures`, queueName: s.failureQueueName },
    ]),
  };
}

/** Arguments of {@link Monitoring}. */
export interface MonitoringArgs {
  /**
   * The `Pipeline` dimension the handlers emit (IngestLake's and AnalyticsLayer's `pipelineName`
   * output). Required: the alarms must watch exactly what the handlers write.
   */
  pipelineName: pulumi.Input<string>;
  /** Namespace of the custom metrics. Defaults to `DEFAULT_METRICS_NAMESPACE` (functions/metricsCatalog.ts). */
  metricsNamespace?: pulumi.Input<string>;
  /** Functions whose Errors, Throttles, AsyncEventsDropped and DestinationDeliveryFailures are alarmed. None by default. */
  functions?: MonitoredFunction[];
  /** Queues that must stay empty (every DLQ and on-failure destination). None by default. */
  queues?: MonitoredQueue[];
  /** Athena workgroup whose failed queries are alarmed (it must publish CloudWatch metrics). None by default. */
  athenaWorkGroup?: pulumi.Input<string>;
  /** Alarm on and chart the ingest metrics (freshness, coins per snapshot). Defaults to true. */
  ingestMetrics?: boolean;
  /** Alarm on and chart the transform metrics (stalled, lag). Defaults to true. */
  transformMetrics?: boolean;
  /**
   * E-mail addresses subscribed to the topic (each confirms by mail). Plain strings, so a bad address
   * fails before anything is created; each subscription is named by a hash of its address, so
   * reordering the list changes nothing. None by default.
   */
  alertEmails?: string[];
  /** Other subscriptions; named by position (`<name>-subscription-<i>`). None by default. */
  subscriptions?: AlertSubscription[];
  /**
   * Customer managed KMS key for the topic; its key policy must let `cloudwatch.amazonaws.com` use
   * `kms:Decrypt` and `kms:GenerateDataKey*`. Defaults to a dedicated key created here, with rotation
   * and exactly that grant. (The AWS managed `alias/aws/sns` key cannot be used: its policy cannot
   * grant CloudWatch, so alarms would fail to publish.)
   */
  kmsKeyArn?: pulumi.Input<string>;
  /** Create the alarms. Defaults to true. When false the topic, its subscriptions and the dashboard still exist. */
  alarmsEnabled?: boolean;
  /** Freshness window in minutes, a multiple of 5 from 10 to 1440. Defaults to {@link DEFAULT_FRESHNESS_MINUTES}. */
  freshnessMinutes?: pulumi.Input<number>;
  /** Coins per snapshot IngestLake asks for. Defaults to `DEFAULT_TOP_N` (250). */
  topN?: pulumi.Input<number>;
  /** Fewest coins a snapshot may hold (1–`MAX_TOP_N`). Defaults to {@link DEFAULT_MIN_COINS_FRACTION} × `topN`, rounded down. */
  minCoinsPerSnapshot?: pulumi.Input<number>;
  /** Hours without a materialised hour before alarming (1–24). Defaults to {@link DEFAULT_TRANSFORM_STALLED_HOURS}. */
  transformStalledHours?: pulumi.Input<number>;
  /**
   * Largest tolerated transform lag in hours (0–167); keep it below the transform's lookback, since the
   * reported lag never exceeds it. Defaults to {@link DEFAULT_MAX_TRANSFORM_LAG_HOURS}.
   */
  maxTransformLagHours?: pulumi.Input<number>;
  /** Errors/throttles/dropped events per 5 minutes tolerated per function. Defaults to {@link DEFAULT_FUNCTION_ERROR_THRESHOLD}. */
  functionErrorThreshold?: pulumi.Input<number>;
  /** Messages tolerated in each queue. Defaults to {@link DEFAULT_QUEUE_DEPTH_THRESHOLD}. */
  queueDepthThreshold?: pulumi.Input<number>;
  /** Failed Athena queries per 5 minutes tolerated. Defaults to {@link DEFAULT_ATHENA_FAILED_QUERY_THRESHOLD}. */
  athenaFailedQueryThreshold?: pulumi.Input<number>;
  /** Tags for the key, topic and alarms. None by default. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

const LABEL = /^[a-z][a-z0-9-]{0,39}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ENDPOINTS: Record<SubscriptionProtocol, { pattern: RegExp; expected: string }> = {
  https: { pattern: /^https:\/\/[^\s/]+(\/\S*)?$/, expected: "an https:// URL" },
  sqs: { pattern: /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:\S+$/, expected: "an SQS queue ARN" },
  lambda: { pattern: /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:\S+$/, expected: "a Lambda function ARN" },
  sms: { pattern: /^\+[1-9]\d{6,14}$/, expected: "an E.164 phone number such as +14155550100" },
  "email-json": { pattern: EMAIL, expected: "an e-mail address" },
  application: { pattern: /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:endpoint\/\S+$/, expected: "an SNS platform endpoint ARN" },
};

/**
 * Alarms, notifications and the ops dashboard of one pipeline. Children (for name `n`): `n-topic-key`
 * (unless `kmsKeyArn`), `n-topic`, `n-email-<hash>`, `n-subscription-<i>`, `n-<alarm label>` per alarm,
 * `n-dashboard`.
 */
export class Monitoring extends pulumi.ComponentResource {
  /** ARN of the alarm topic. */
  public readonly topicArn: pulumi.Output<string>;
  /** Name of the alarm topic. */
  public readonly topicName: pulumi.Output<string>;
  /** ARN of the KMS key encrypting the topic (created here unless given). */
  public readonly topicKeyArn: pulumi.Output<string>;
  /** Alarm ARNs by label, e.g. `ingest-freshness`, `ingest-dlq-not-empty`; empty when alarms are disabled. */
  public readonly alarmArns: pulumi.Output<Record<string, string>>;
  /** Alarm names by label. */
  public readonly alarmNames: pulumi.Output<Record<string, string>>;
  /** Name of the CloudWatch dashboard. */
  public readonly dashboardName: pulumi.Output<string>;
  /** Console URL of the dashboard. */
  public readonly dashboardUrl: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("crypto-analytics:pipeline:Monitoring", name, {}, opts);
    const what = `Monitoring "${name}"`;
    const pipelineName = checked(args.pipelineName, pipelineNameFormat(`${what}: pipelineName`));
    const namespace = checked(args.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE, metricsNamespaceFormat(`${what}: metricsNamespace`));
    const functions = args.functions ?? [];
    const queues = args.queues ?? [];
    checkLabels(
      `${what}: functions`,
      functions.map((f) => f.label),
    );
    checkLabels(
      `${what}: queues`,
      queues.map((q) => q.label),
    );
    const emails = checkEmails(what, args.alertEmails ?? []);
    const subscriptions = (args.subscriptions ?? []).map((s, i) => checkSubscription(`${what}: subscriptions[${i}]`, s));
    const ingestMetrics = args.ingestMetrics ?? true;
    const transformMetrics = args.transformMetrics ?? true;
    const alarmsEnabled = args.alarmsEnabled ?? true;

    const freshnessMinutes = checked(args.freshnessMinutes ?? DEFAULT_FRESHNESS_MINUTES, (m) => checkFreshness(what, m));
    const topN = checked(args.topN ?? DEFAULT_TOP_N, integerIn(`${what}: topN`, 1, MAX_TOP_N));
    const minCoins = checked(
      args.minCoinsPerSnapshot ?? derive(topN, (n) => Math.floor(DEFAULT_MIN_COINS_FRACTION * n)),
      integerIn(`${what}: minCoinsPerSnapshot`, 1, MAX_TOP_N),
    );
    checkMinCoins(what, plainValue(minCoins), plainValue(topN));
    const stalledHours = checked(
      args.transformStalledHours ?? DEFAULT_TRANSFORM_STALLED_HOURS,
      integerIn(`${what}: transformStalledHours`, 1, 24),
    );
    const maxLag = checked(
      args.maxTransformLagHours ?? DEFAULT_MAX_TRANSFORM_LAG_HOURS,
      integerIn(`${what}: maxTransformLagHours`, 0, 167),
    );
    const errorThreshold = checked(
      args.functionErrorThreshold ?? DEFAULT_FUNCTION_ERROR_THRESHOLD,
      integerIn(`${what}: functionErrorThreshold`, 0, 100_000),
    );
    const queueThreshold = checked(
      args.queueDepthThreshold ?? DEFAULT_QUEUE_DEPTH_THRESHOLD,
      integerIn(`${what}: queueDepthThreshold`, 0, 100_000),
    );
    const athenaThreshold = checked(
      args.athenaFailedQueryThreshold ?? DEFAULT_ATHENA_FAILED_QUERY_THRESHOLD,
      integerIn(`${what}: athenaFailedQueryThreshold`, 0, 100_000),
    );

    const context: AlarmContext = {
      pipelineName,
      namespace,
      freshnessMinutes,
      minCoins,
      stalledHours,
      maxLag,
      errorThreshold,
      queueThreshold,
      athenaThreshold,
    };
    const targets: Record<AlarmScope, AlarmTarget[]> = {
      ingest: ingestMetrics ? [{ label: "ingest", name: pipelineName }] : [],
      transform: transformMetrics ? [{ label: "transform", name: pipelineName }] : [],
      function: functions.map((f) => ({ label: f.label, name: f.functionName })),
      queue: queues.map((q) => ({ label: q.label, name: q.queueName })),
      athena: args.athenaWorkGroup === undefined ? [] : [{ label: "athena", name: args.athenaWorkGroup }],
    };
    const watched = ALARMS.flatMap((entry) => targets[entry.scope].map((target) => ({ entry, target })));

    const child = { parent: this };
    const account = aws.getCallerIdentityOutput({}, child).accountId;
    const region = aws.getRegionOutput({}, child).region;
    const partition = aws.getPartitionOutput({}, child).partition;

    const topicKeyArn =
      args.kmsKeyArn ??
      new aws.kms.Key(
        `${name}-topic-key`,
        {
          description: pulumi.interpolate`Encrypts the alarm topic of pipeline ${pipelineName}`,
          enableKeyRotation: true,
          deletionWindowInDays: KMS_KEY_DELETION_WINDOW_DAYS,
          policy: alarmTopicKeyPolicy(partition, region, account),
          tags: args.tags,
        },
        child,
      ).arn;
    const topic = new aws.sns.Topic(`${name}-topic`, { kmsMasterKeyId: topicKeyArn, tags: args.tags }, child);
    for (const email of emails) {
      const hash = createHash("sha256").update(email.toLowerCase()).digest("hex").slice(0, 8);
      new aws.sns.TopicSubscription(`${name}-email-${hash}`, { topic: topic.arn, protocol: "email", endpoint: email }, child);
    }
    subscriptions.forEach((s, i) => {
      new aws.sns.TopicSubscription(`${name}-subscription-${i}`, { topic: topic.arn, protocol: s.protocol, endpoint: s.endpoint }, child);
    });

    const alarms = alarmsEnabled
      ? watched.map(({ entry, target }) => {
          const label = `${target.label}-${entry.id}`;
          const metric = entry.metric(context, target);
          const alarm = new aws.cloudwatch.MetricAlarm(
            `${name}-${label}`,
            {
              alarmDescription: alarmDescription(entry, context, target),
              namespace: metric.namespace,
              metricName: metric.metricName,
              dimensions: metric.dimensions,
              statistic: entry.statistic,
              period: entry.period,
              evaluationPeriods: entry.evaluationPeriods(context),
              threshold: entry.threshold(context),
              comparisonOperator: entry.comparisonOperator,
              treatMissingData: entry.treatMissingData,
              actionsEnabled: true,
              alarmActions: [topic.arn],
              okActions: [topic.arn],
              tags: args.tags,
            },
            child,
          );
          return [label, alarm] as const;
        })
      : [];

    const dashboardName = derive(pipelineName, (p) => `${p.replace(/[^A-Za-z0-9_-]/g, "-")}-ops`);
    const dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName,
        dashboardBody: pulumi.jsonStringify({
          widgets: dashboardWidgets(
            region,
            context,
            watched,
            CHARTS.flatMap((chart) => targets[chart.scope].map((target) => ({ chart, target }))),
            alarms.map(([, alarm]) => alarm.arn),
          ),
        }),
      },
      child,
    );

    this.topicArn = topic.arn;
    this.topicName = topic.name;
    this.topicKeyArn = pulumi.output(topicKeyArn);
    this.alarmArns = pulumi.output(Object.fromEntries(alarms.map(([label, alarm]) => [label, alarm.arn])));
    this.alarmNames = pulumi.output(Object.fromEntries(alarms.map(([label, alarm]) => [label, alarm.name])));
    this.dashboardName = dashboard.dashboardName;
    this.dashboardUrl = pulumi.interpolate`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${dashboard.dashboardName}`;
    this.registerOutputs({
      topicArn: this.topicArn,
      topicKeyArn: this.topicKeyArn,
      alarmArns: this.alarmArns,
      dashboardName: this.dashboardName,
      dashboardUrl: this.dashboardUrl,
    });
  }
}

/**
 * Key policy of the topic key. Key policies name their own key as `*`, which is why the IAM helpers
 * (which refuse `*`) are not used. The account statement is AWS's default: without it the key could not
 * be managed or granted through IAM. CloudWatch may use the key only on behalf of alarms of this account
 * and region, as the SNS guide recommends (aws:SourceAccount / aws:SourceArn).
 */
function alarmTopicKeyPolicy(
  partition: pulumi.Input<string>,
  region: pulumi.Input<string>,
  account: pulumi.Input<string>,
): pulumi.Output<string> {
  const statements: PolicyStatement[] = [
    {
      Sid: "AccountAdministersKey",
      Effect: "Allow",
      Principal: { AWS: pulumi.interpolate`arn:${partition}:iam::${account}:root` },
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
        StringEquals: { "aws:SourceAccount": account },
        ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
      },
    },
  ];
  return pulumi.jsonStringify({ Version: IAM_POLICY_VERSION, Statement: statements });
}

/** One metric line of a graph: `[namespace, name, dim1, value1, ..., {options}]`. */
function metricLine(m: MetricRef, options: Record<string, unknown>): unknown[] {
  return [m.namespace, m.metricName, ...Object.entries(m.dimensions).flat(), options];
}

function companionLine(line: CompanionLine, label: string): unknown[] {
  return metricLine(line, { stat: line.stat, label: `${label} ${line.metricName}`, ...(line.rightAxis ? { yAxis: "right" } : {}) });
}

/**
 * Dashboard widgets (CloudWatch dashboard body structure; widgets without x/y are laid out in order): the
 * alarm widget, then one graph per catalog graph title (the alarms' metrics for every target, their
 * companions, and their thresholds), then the charts of metrics no alarm watches.
 */
function dashboardWidgets(
  region: pulumi.Input<string>,
  c: AlarmContext,
  watched: { entry: AlarmEntry; target: AlarmTarget }[],
  charts: { chart: (typeof CHARTS)[number]; target: AlarmTarget }[],
  alarmArns: pulumi.Input<string>[],
): unknown[] {
  const graphs = new Map<string, { period: number; metrics: unknown[][]; thresholds: { label: string; value: pulumi.Input<number> }[] }>();
  const graph = (title: string, period: number) => {
    const existing = graphs.get(title) ?? { period, metrics: [], thresholds: [] };
    graphs.set(title, existing);
    return existing;
  };
  for (const { entry, target } of watched) {
    const g = graph(entry.graph.title, entry.period);
    const metric = entry.metric(c, target);
    g.metrics.push(metricLine(metric, { stat: entry.statistic, label: `${target.label} ${metric.metricName}` }));
    for (const line of entry.graph.companions?.(c, target) ?? []) g.metrics.push(companionLine(line, target.label));
    if (entry.graph.showThreshold) {
      const direction = entry.comparisonOperator === "LessThanThreshold" ? "below" : "above";
      g.thresholds.push({ label: `alarm ${direction}`, value: entry.threshold(c) });
    }
  }
  for (const { chart, target } of charts) {
    graph(chart.title, chart.period).metrics.push(...chart.lines(c, target).map((line) => companionLine(line, target.label)));
  }
  const widgets: unknown[] = [];
  if (alarmArns.length > 0) widgets.push({ type: "alarm", width: 24, height: 4, properties: { title: "Alarms", alarms: alarmArns } });
  for (const [title, g] of graphs) {
    widgets.push({
      type: "metric",
      width: 12,
      height: 6,
      properties: {
        title,
        region,
        view: "timeSeries",
        stacked: false,
        period: g.period,
        metrics: g.metrics,
        ...(g.thresholds.length === 0 ? {} : { annotations: { horizontal: g.thresholds } }),
      },
    });
  }
  return widgets;
}

/** Labels are lower-case names and unique within their list. */
function checkLabels(what: string, labels: string[]): void {
  const seen = new Set<string>();
  for (const label of labels) {
    matching(`${what}: label`, LABEL, "1-40 lower-case letters, digits and '-', starting with a letter")(label);
    if (seen.has(label)) throw new Error(`${what}: label "${label}" is used twice; give each one its own label.`);
    seen.add(label);
  }
}

function checkEmails(what: string, emails: string[]): string[] {
  const seen = new Set<string>();
  for (const email of emails) {
    matching(`${what}: alertEmails entry`, EMAIL, "an e-mail address such as ops@example.com")(email);
    if (seen.has(email.toLowerCase())) throw new Error(`${what}: alertEmails lists ${JSON.stringify(email)} twice.`);
    seen.add(email.toLowerCase());
  }
  return emails;
}

function checkSubscription(what: string, s: AlertSubscription): AlertSubscription {
  oneOf(`${what}.protocol`, SUBSCRIPTION_PROTOCOLS)(s.protocol);
  const { pattern, expected } = ENDPOINTS[s.protocol];
  return { protocol: s.protocol, endpoint: checked(s.endpoint, matching(`${what}.endpoint (${s.protocol})`, pattern, expected)) };
}

function checkFreshness(what: string, minutes: number): void {
  integerIn(`${what}: freshnessMinutes`, 10, 1440)(minutes);
  const step = INGEST_ALARM_PERIOD_SECONDS / 60;
  if (minutes % step !== 0) {
    throw new Error(`${what}: freshnessMinutes must be a multiple of ${step} (the ingest slot), got ${minutes}.`);
  }
}

// Checked only when both are plain values: an Output topN is IngestLake's, already checked there.
function checkMinCoins(what: string, minCoins: number | undefined, topN: number | undefined): void {
  if (minCoins !== undefined && topN !== undefined && minCoins > topN) {
    throw new Error(
      `${what}: minCoinsPerSnapshot (${minCoins}) is above topN (${topN}), so the coins alarm could never be OK; ` +
        `lower it or raise topN.`,
    );
  }
}
