/**
 * The alarm catalog: every alarm the Monitoring component can create, one entry each, with what it watches,
 * when it fires, what it means and where its runbook section is. The alarms and the ops dashboard are both
 * built from these entries, so adding an alarm is one entry here plus its section in docs/operations.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { METRICS, MetricKey, PIPELINE_DIMENSION } from "../functions/metricsCatalog";
import { derive } from "./args";

/** Where every alarm description points; each entry's `runbook` is an anchor in it. */
export const RUNBOOK_LOCATION = "docs/operations.md";
/** Period of the ingest alarms: the ingest schedule's slot. */
export const INGEST_ALARM_PERIOD_SECONDS = 300;
/** Consecutive thin snapshots before the coins alarm fires: one short page is noise, two are a trend. */
export const COINS_EVALUATION_PERIODS = 2;
/** Period of the transform alarms: the transform runs hourly. */
export const TRANSFORM_ALARM_PERIOD_SECONDS = 3600;
/** Period of the Lambda, SQS and Athena alarms. */
export const SERVICE_ALARM_PERIOD_SECONDS = 300;

/**
 * Athena's failed-query count: each finished query publishes one `TotalExecutionTime` data point with
 * dimensions `QueryState`, `QueryType` and `WorkGroup` (when the workgroup publishes CloudWatch
 * metrics), so `SampleCount` over `QueryState=FAILED` counts failures. `DML` covers the transform's
 * `INSERT INTO` and every `SELECT` (views, dashboards).
 * Source: https://docs.aws.amazon.com/athena/latest/ug/query-metrics-viewing.html
 */
export const ATHENA_FAILED_QUERIES_METRIC = {
  namespace: "AWS/Athena",
  metricName: "TotalExecutionTime",
  statistic: "SampleCount",
  queryState: "FAILED",
  queryType: "DML",
} as const;

/** The resolved settings of one Monitoring component, which thresholds and descriptions read. */
export interface AlarmContext {
  /** The `Pipeline` dimension value. */
  pipelineName: pulumi.Input<string>;
  /** Namespace of the custom metrics. */
  namespace: pulumi.Input<string>;
  /** Freshness window in minutes. */
  freshnessMinutes: pulumi.Input<number>;
  /** Fewest coins a snapshot may hold. */
  minCoins: pulumi.Input<number>;
  /** Hours without a materialised hour before alarming. */
  stalledHours: pulumi.Input<number>;
  /** Largest tolerated transform lag in hours. */
  maxLag: pulumi.Input<number>;
  /** Function errors (throttles, ...) tolerated per period. */
  errorThreshold: pulumi.Input<number>;
  /** Messages tolerated in a queue. */
  queueThreshold: pulumi.Input<number>;
  /** Failed Athena queries tolerated per period. */
  athenaThreshold: pulumi.Input<number>;
}

/**
 * What an entry watches one of. `ingest` and `transform` watch the pipeline's custom metrics; `function`,
 * `queue` and `athena` watch each monitored function, queue or the workgroup.
 */
export type AlarmScope = "ingest" | "transform" | "function" | "queue" | "athena";

/** One watched thing: its label prefixes the alarm's label (`ingest-dlq` → `ingest-dlq-not-empty`). */
export interface AlarmTarget {
  /** Lower-case label. */
  label: string;
  /** Its name in the metric's dimension (function, queue or workgroup name; the pipeline name for custom metrics). */
  name: pulumi.Input<string>;
}

/** A CloudWatch metric: namespace, name and dimensions. */
export interface MetricRef {
  /** Namespace, e.g. `AWS/Lambda`. */
  namespace: pulumi.Input<string>;
  /** Metric name. */
  metricName: string;
  /** Dimensions in the order the dashboard lists them. */
  dimensions: Record<string, pulumi.Input<string>>;
}

/** A line drawn next to an alarm's metric on its graph. */
export interface CompanionLine extends MetricRef {
  /** Statistic of the line. */
  stat: string;
  /** Draw on the right axis. */
  rightAxis?: boolean;
}

/** One alarm of the catalog. */
export interface AlarmEntry {
  /** Label suffix: the alarm's label is `<target label>-<id>`. */
  id: string;
  /** What it watches one of. */
  scope: AlarmScope;
  /** The metric watched for a target. */
  metric: (c: AlarmContext, t: AlarmTarget) => MetricRef;
  /** Statistic compared with the threshold. */
  statistic: "Sum" | "Minimum" | "Maximum" | "SampleCount";
  /** Fires above or below the threshold. */
  comparisonOperator: "GreaterThanThreshold" | "LessThanThreshold";
  /** Threshold from the component's settings. */
  threshold: (c: AlarmContext) => pulumi.Input<number>;
  /** Period in seconds. */
  period: number;
  /** Periods in a row before it fires. */
  evaluationPeriods: (c: AlarmContext) => pulumi.Input<number>;
  /** Missing data: `breaching` where silence is the failure (no snapshots), else `notBreaching`. */
  treatMissingData: "breaching" | "notBreaching";
  /** What it means for the operator and what to check first; the runbook link is appended. */
  description: (c: AlarmContext, t: AlarmTarget) => pulumi.Output<string>;
  /** Anchor of its section in {@link RUNBOOK_LOCATION}. */
  runbook: string;
  /** Ops dashboard graph: entries with the same title share one graph. */
  graph: {
    /** Graph title. */
    title: string;
    /** Lines drawn beside the alarm's metric. */
    companions?: (c: AlarmContext, t: AlarmTarget) => CompanionLine[];
    /** Draw the threshold as a horizontal line. */
    showThreshold?: boolean;
  };
}

/** A dashboard graph of metrics no alarm watches. */
export interface ChartEntry {
  /** Shown when this scope is monitored. */
  scope: AlarmScope;
  /** Graph title. */
  title: string;
  /** Period of the graph in seconds. */
  period: number;
  /** Lines per target. */
  lines: (c: AlarmContext, t: AlarmTarget) => CompanionLine[];
}

const custom = (c: AlarmContext, key: MetricKey): MetricRef => ({
  namespace: c.namespace,
  metricName: METRICS[key].name,
  dimensions: { [PIPELINE_DIMENSION]: c.pipelineName },
});
const companion = (c: AlarmContext, key: MetricKey, stat: string, rightAxis = false): CompanionLine => ({
  ...custom(c, key),
  stat,
  ...(rightAxis ? { rightAxis } : {}),
});
const lambda =
  (metricName: string) =>
  (_c: AlarmContext, t: AlarmTarget): MetricRef => ({
    namespace: "AWS/Lambda",
    metricName,
    dimensions: { FunctionName: t.name },
  });
const athenaQueries = (t: AlarmTarget, queryState: string): MetricRef => ({
  namespace: ATHENA_FAILED_QUERIES_METRIC.namespace,
  metricName: ATHENA_FAILED_QUERIES_METRIC.metricName,
  dimensions: { QueryState: queryState, QueryType: ATHENA_FAILED_QUERIES_METRIC.queryType, WorkGroup: t.name },
});

/** A Lambda metric alarmed per function: any count above the threshold in 5 minutes. */
function lambdaAlarm(id: string, metricName: string, meaning: string, runbook: string, graphTitle: string): AlarmEntry {
  return {
    id,
    scope: "function",
    metric: lambda(metricName),
    statistic: "Sum",
    comparisonOperator: "GreaterThanThreshold",
    threshold: (c) => c.errorThreshold,
    period: SERVICE_ALARM_PERIOD_SECONDS,
    evaluationPeriods: () => 1,
    treatMissingData: "notBreaching",
    description: (c, t) =>
      pulumi.interpolate`${t.label} function ${t.name} of pipeline ${c.pipelineName}: ${meaning} (AWS/Lambda ${metricName} > ${c.errorThreshold} in 5 minutes). Read its log group for the error.`,
    runbook,
    graph: { title: graphTitle },
  };
}

/** Every alarm, in the order the ops dashboard draws them. */
export const ALARMS: readonly AlarmEntry[] = [
  {
    id: "freshness",
    scope: "ingest",
    metric: (c) => custom(c, "snapshotsWritten"),
    statistic: "Sum",
    comparisonOperator: "LessThanThreshold",
    threshold: () => 1,
    period: INGEST_ALARM_PERIOD_SECONDS,
    evaluationPeriods: (c) => derive(c.freshnessMinutes, (m) => (m * 60) / INGEST_ALARM_PERIOD_SECONDS),
    treatMissingData: "breaching",
    description: (c) =>
      pulumi.interpolate`No CoinGecko snapshot written by pipeline ${c.pipelineName} for ${c.freshnessMinutes} minutes (${METRICS.snapshotsWritten.name} < 1 in every 5-minute period; no data counts as none). Check the ingest function's errors and logs, the CoinGecko plan/key and rate limits, and its DLQ.`,
    runbook: "snapshots-stopped",
    graph: {
      title: "Ingest: snapshots written / duplicate deliveries",
      companions: (c) => [companion(c, "duplicateDeliveries", "Sum")],
    },
  },
  {
    id: "coins-per-snapshot",
    scope: "ingest",
    metric: (c) => custom(c, "coinsPerSnapshot"),
    statistic: "Minimum",
    comparisonOperator: "LessThanThreshold",
    threshold: (c) => c.minCoins,
    period: INGEST_ALARM_PERIOD_SECONDS,
    evaluationPeriods: () => COINS_EVALUATION_PERIODS,
    treatMissingData: "notBreaching",
    description: (c) =>
      pulumi.interpolate`Snapshots of pipeline ${c.pipelineName} hold fewer than ${c.minCoins} coins (${METRICS.coinsPerSnapshot.name} minimum, ${COINS_EVALUATION_PERIODS} periods in a row): CoinGecko served thin or partial pages, or the normaliser dropped rows (see ${METRICS.rowsDropped.name}). Compare raw/ with processed/ for the slot.`,
    runbook: "thin-snapshots",
    graph: {
      title: "Ingest: coins per snapshot / rows dropped",
      companions: (c) => [companion(c, "rowsDropped", "Sum", true)],
      showThreshold: true,
    },
  },
  {
    id: "stalled",
    scope: "transform",
    metric: (c) => custom(c, "hoursMaterialised"),
    statistic: "Sum",
    comparisonOperator: "LessThanThreshold",
    threshold: () => 1,
    period: TRANSFORM_ALARM_PERIOD_SECONDS,
    evaluationPeriods: (c) => c.stalledHours,
    treatMissingData: "breaching",
    description: (c) =>
      pulumi.interpolate`The transform of pipeline ${c.pipelineName} materialised no hour into analytics_prices for ${c.stalledHours} hours (${METRICS.hoursMaterialised.name} < 1 per hour; no data counts as none). Expected for up to ${c.stalledHours} hours after the first deployment. Check the transform function, Athena and ingest freshness; re-run the missing hours.`,
    runbook: "transform-stalled-or-behind",
    graph: {
      title: "Transform: hours materialised / caught up / rows",
      companions: (c) => [companion(c, "hoursCaughtUp", "Sum"), companion(c, "rowsMaterialised", "Sum", true)],
    },
  },
  {
    id: "lag",
    scope: "transform",
    metric: (c) => custom(c, "transformLagHours"),
    statistic: "Maximum",
    comparisonOperator: "GreaterThanThreshold",
    threshold: (c) => c.maxLag,
    period: TRANSFORM_ALARM_PERIOD_SECONDS,
    evaluationPeriods: () => 1,
    // A transform that stops reporting is the stalled alarm's case.
    treatMissingData: "notBreaching",
    description: (c) =>
      pulumi.interpolate`The newest fully materialised hour of pipeline ${c.pipelineName} is more than ${c.maxLag} hours old (${METRICS.transformLagHours.name} maximum). Hours are failing or snapshots are missing; re-run or backfill them.`,
    runbook: "transform-stalled-or-behind",
    graph: { title: "Transform: lag (hours)", showThreshold: true },
  },
  lambdaAlarm("errors", "Errors", "invocations failed", "function-errors", "Functions: errors / throttles"),
  lambdaAlarm("throttles", "Throttles", "invocations were throttled", "function-throttles", "Functions: errors / throttles"),
  lambdaAlarm(
    "async-events-dropped",
    "AsyncEventsDropped",
    "scheduled events were dropped after their retries or maximum age",
    "events-dropped",
    "Functions: async events dropped / destination delivery failures",
  ),
  lambdaAlarm(
    "destination-delivery-failures",
    "DestinationDeliveryFailures",
    "failed events could not be sent to the on-failure queue",
    "failure-destination-unreachable",
    "Functions: async events dropped / destination delivery failures",
  ),
  {
    id: "not-empty",
    scope: "queue",
    metric: (_c, t) => ({ namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: t.name } }),
    statistic: "Maximum",
    comparisonOperator: "GreaterThanThreshold",
    threshold: (c) => c.queueThreshold,
    period: SERVICE_ALARM_PERIOD_SECONDS,
    evaluationPeriods: () => 1,
    // SQS stops publishing for a queue idle (and empty) for six hours.
    treatMissingData: "notBreaching",
    description: (c, t) =>
      pulumi.interpolate`Queue ${t.name} (${t.label}) of pipeline ${c.pipelineName} holds more than ${c.queueThreshold} messages: scheduled runs failed for good or were never delivered. Read the messages, fix the cause, then re-run those slots or hours and purge the queue.`,
    runbook: "messages-in-a-queue",
    graph: { title: "Queues: messages visible (DLQs and failure destinations)" },
  },
  {
    id: "failed-queries",
    scope: "athena",
    metric: (_c, t) => athenaQueries(t, ATHENA_FAILED_QUERIES_METRIC.queryState),
    statistic: ATHENA_FAILED_QUERIES_METRIC.statistic,
    comparisonOperator: "GreaterThanThreshold",
    threshold: (c) => c.athenaThreshold,
    period: SERVICE_ALARM_PERIOD_SECONDS,
    evaluationPeriods: () => 1,
    treatMissingData: "notBreaching",
    description: (c, t) =>
      pulumi.interpolate`More than ${c.athenaThreshold} DML queries failed in Athena workgroup ${t.name} of pipeline ${c.pipelineName} within 5 minutes. Find them in the workgroup's query history (state FAILED) and read the error.`,
    runbook: "athena-queries-failing",
    graph: {
      title: "Athena: DML queries failed / succeeded",
      companions: (_c, t) => [{ ...athenaQueries(t, "SUCCEEDED"), stat: ATHENA_FAILED_QUERIES_METRIC.statistic }],
    },
  },
];

/** Graphs of metrics no alarm watches, drawn after the alarms' graphs. */
export const CHARTS: readonly ChartEntry[] = [
  {
    scope: "ingest",
    title: "Ingest: CoinGecko fetch latency (ms) / retries",
    period: INGEST_ALARM_PERIOD_SECONDS,
    lines: (c) => [companion(c, "fetchLatency", "Maximum"), companion(c, "fetchRetries", "Sum", true)],
  },
];

/** An alarm's description with the pipeline's runbook link appended. */
export function alarmDescription(entry: AlarmEntry, c: AlarmContext, t: AlarmTarget): pulumi.Output<string> {
  return pulumi.interpolate`${entry.description(c, t)} Runbook: ${RUNBOOK_LOCATION}#${entry.runbook}`;
}
