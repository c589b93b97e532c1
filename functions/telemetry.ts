/**
 * Structured JSON logs and CloudWatch Embedded Metric Format (EMF) records, written to stdout.
 * Lambda ships stdout to CloudWatch Logs, which extracts EMF records into metrics: no SDK call, no
 * extra permission. Hand-written because both formats are a few lines of JSON; a library would add
 * archive size and serialization risk for no gain.
 */
import { DEFAULT_METRICS_NAMESPACE, METRICS, MetricKey, PIPELINE_DIMENSION } from "./metricsCatalog";

/** Where log lines go; stdout by default, an array in tests. */
export type LineSink = (line: string) => void;

/** Log severities. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** A structured logger bound to a component and a set of secrets it must never print. */
export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const REDACTED = "[REDACTED]";

/**
 * Replaces every occurrence of each secret in a string. Secrets shorter than 4 characters are ignored
 * (they would redact ordinary words).
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join(REDACTED);
  }
  return out;
}

/** Serialises an Error (or anything thrown) to loggable fields without its stack's absolute paths. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { errorName: err.name, errorMessage: err.message };
  return { errorMessage: String(err) };
}

/** Creates a logger writing one JSON object per line; `secrets` are redacted from every line. */
export function createLogger(
  service: string,
  options: { secrets?: readonly string[]; sink?: LineSink; base?: Record<string, unknown> } = {},
): Logger {
  const sink = options.sink ?? ((line: string) => process.stdout.write(line + "\n"));
  const secrets = options.secrets ?? [];
  const log = (level: LogLevel, message: string, fields: Record<string, unknown> = {}): void => {
    const record = { level, time: new Date().toISOString(), service, message, ...options.base, ...fields };
    sink(redact(JSON.stringify(record, jsonSafe), secrets));
  };
  return {
    log,
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
  };
}

function jsonSafe(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** Values for some of the catalog's metrics. */
export type MetricValues = Partial<Record<MetricKey, number>>;

/**
 * Builds one EMF record for the given metric values under `namespace`, dimensioned by pipeline name.
 * Exported for tests and for the Monitoring component's consistency checks.
 */
export function emfRecord(namespace: string, pipeline: string, values: MetricValues, timestampMs: number): Record<string, unknown> {
  const keys = (Object.keys(values) as MetricKey[]).filter((k) => Number.isFinite(values[k]));
  const record: Record<string, unknown> = {
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [[PIPELINE_DIMENSION]],
          Metrics: keys.map((k) => ({ Name: METRICS[k].name, Unit: METRICS[k].unit })),
        },
      ],
    },
    [PIPELINE_DIMENSION]: pipeline,
  };
  for (const k of keys) record[METRICS[k].name] = values[k];
  return record;
}

/** Writes EMF records; one `emit` call is one CloudWatch data point per metric. */
export interface MetricsEmitter {
  emit(values: MetricValues): void;
}

/** Creates an EMF emitter for a pipeline; namespace defaults to {@link DEFAULT_METRICS_NAMESPACE}. */
export function createMetrics(pipeline: string, options: { namespace?: string; sink?: LineSink; now?: () => number } = {}): MetricsEmitter {
  const sink = options.sink ?? ((line: string) => process.stdout.write(line + "\n"));
  const namespace = options.namespace ?? DEFAULT_METRICS_NAMESPACE;
  const now = options.now ?? Date.now;
  return {
    emit: (values) => sink(JSON.stringify(emfRecord(namespace, pipeline, values, now()))),
  };
}
