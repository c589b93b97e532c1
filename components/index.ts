/**
 * Library entry of crypto-analytics-pipeline: the components, their args and output types, and the
 * documented defaults those args name. Everything else is internal to the package. Importing it creates no
 * resource; `index.ts` (the Pulumi program) composes these from stack config. The public surface is
 * recorded in `api/crypto-analytics-pipeline.api.md` (API Extractor); a test fails when it drifts.
 */
export { CryptoAnalyticsPipeline, CryptoAnalyticsPipelineArgs } from "./pipeline";
export { IngestLake, IngestLakeArgs, INGEST_JOB_DEFAULTS, DEFAULT_RAW_COLD_STORAGE_CLASS, MAX_TOP_N } from "./ingestLake";
export {
  AnalyticsLayer,
  AnalyticsLayerArgs,
  TRANSFORM_JOB_DEFAULTS,
  DEFAULT_DATABASE_NAME,
  MIN_TRANSFORM_TIMEOUT_SECONDS,
  MAX_LOOKBACK_HOURS,
  DEFAULT_BYTES_SCANNED_CUTOFF,
  DEFAULT_QUERY_RESULTS_EXPIRATION_DAYS,
} from "./analyticsLayer";
export {
  Monitoring,
  MonitoringArgs,
  MonitoredFunction,
  MonitoredQueue,
  MonitoredScheduledFunction,
  AlertSubscription,
  SubscriptionProtocol,
  SUBSCRIPTION_PROTOCOLS,
  scheduledFunctionTargets,
  DEFAULT_FRESHNESS_MINUTES,
  DEFAULT_MIN_COINS_FRACTION,
  DEFAULT_TRANSFORM_STALLED_HOURS,
  DEFAULT_MAX_TRANSFORM_LAG_HOURS,
  DEFAULT_FUNCTION_ERROR_THRESHOLD,
  DEFAULT_QUEUE_DEPTH_THRESHOLD,
  DEFAULT_ATHENA_FAILED_QUERY_THRESHOLD,
} from "./monitoring";
export { Dashboards, DashboardsArgs, DashboardMode, DASHBOARD_MODES, DEFAULT_DASHBOARD_MODE, VIEWER_ACTIONS } from "./dashboards";
export {
  ScheduledJobSettings,
  JobDefaults,
  DEFAULT_LOG_RETENTION_DAYS,
  LOG_RETENTION_DAYS_ALLOWED,
  DEFAULT_SCHEDULE_TIMEZONE,
  DEFAULT_MAX_RETRY_ATTEMPTS,
  DEFAULT_SCHEDULE_RETRY_ATTEMPTS,
} from "./scheduledFunction";
export { TransitionStorageClass, TRANSITION_STORAGE_CLASSES, DEFAULT_NONCURRENT_VERSION_EXPIRATION_DAYS } from "./hardenedBucket";
export { DEFAULT_PROJECTION_YEAR_FROM, DEFAULT_PROJECTION_YEAR_TO } from "./glueTables";
export { DEFAULT_LAKE_FORMATION_PERMISSIONS } from "./athenaAccess";
export { CoinGeckoPlan, COINGECKO_PLANS, DEFAULT_TOP_N, DEFAULT_VS_CURRENCY } from "../functions/coingeckoClient";
