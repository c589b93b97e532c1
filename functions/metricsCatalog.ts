/**
 * Every custom CloudWatch metric the pipeline emits, in one place: the handlers emit these names through
 * the Embedded Metric Format and the Monitoring component's alarms and dashboard watch the same names.
 */

/** Default CloudWatch namespace of the pipeline's custom metrics. */
export const DEFAULT_METRICS_NAMESPACE = "CryptoAnalytics";

/** The one dimension every custom metric carries, so two stacks in one account never mix their data. */
export const PIPELINE_DIMENSION = "Pipeline";

/** Metric names and units. */
export const METRICS = {
  /** Ingest: 1 per snapshot newly written (0 when a re-delivery found it already written). */
  snapshotsWritten: { name: "SnapshotsWritten", unit: "Count" },
  /** Ingest: rows in the processed snapshot. */
  coinsPerSnapshot: { name: "CoinsPerSnapshot", unit: "Count" },
  /** Ingest: rows dropped by the normaliser (no id, duplicates). */
  rowsDropped: { name: "RowsDropped", unit: "Count" },
  /** Ingest: HTTP retries spent on CoinGecko. */
  fetchRetries: { name: "FetchRetries", unit: "Count" },
  /** Ingest: wall time of the CoinGecko fetch including retries. */
  fetchLatency: { name: "FetchLatency", unit: "Milliseconds" },
  /** Ingest: 1 when an event's snapshot had already been written (re-delivery). */
  duplicateDeliveries: { name: "DuplicateDeliveries", unit: "Count" },
  /** Transform: rows inserted into analytics_prices in one run. */
  rowsMaterialised: { name: "RowsMaterialised", unit: "Count" },
  /** Transform: hours materialised in one run (1 in steady state, more when catching up). */
  hoursMaterialised: { name: "HoursMaterialised", unit: "Count" },
  /** Transform: hours materialised in one run that were older than the last completed hour (late data, outages). */
  hoursCaughtUp: { name: "HoursCaughtUp", unit: "Count" },
  /** Transform: hours between now and the newest fully materialised hour. */
  transformLagHours: { name: "TransformLagHours", unit: "Count" },
} as const;

/** Key of a metric in {@link METRICS}. */
export type MetricKey = keyof typeof METRICS;
