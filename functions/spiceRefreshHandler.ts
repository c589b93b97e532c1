/**
 * The SPICE refresh Lambda: starts a full refresh of the dashboard's datasets once the hourly transform
 * has finished an invocation that materialised something, so a refresh never reads a half-written hour.
 * It is triggered by the transform function's on-success invocation record, which Lambda puts on the
 * default EventBridge bus (see components/dashboards.ts); a failed transform sends no success record and
 * so causes no refresh. Exported as a zero-argument factory that Pulumi serializes into the archive
 * (components/functionCode.ts); the QuickSight client is built once per container.
 */
import { CreateIngestionCommand, QuickSightClient } from "@aws-sdk/client-quicksight";
import { createLogger, errorFields } from "./telemetry";

/** Names of the environment variables the refresh function reads (the component sets them). */
export const SPICE_REFRESH_ENV = {
  /** AWS account id of the QuickSight datasets (12 digits). Required. */
  accountId: "QUICKSIGHT_ACCOUNT_ID",
  /** Comma-separated ids of the datasets to refresh. Required, at least one. */
  dataSetIds: "DATA_SET_IDS",
  /** Pipeline name: a field of every log line. Required. */
  pipeline: "PIPELINE_NAME",
} as const;

/** Refresh kind: the views are re-read whole (incremental refresh needs a time column window per dataset). */
export const SPICE_INGESTION_TYPE = "FULL_REFRESH";

/** Prefix of every ingestion id this function starts, so they can be told apart in the ingestion history. */
export const INGESTION_ID_PREFIX = "transform-";

/** QuickSight ingestion ids: 1..128 of `[A-Za-z0-9_-]` (CreateIngestion's IngestionId). */
const INGESTION_ID = /^[A-Za-z0-9_-]{1,128}$/;
const ACCOUNT_ID = /^\d{12}$/;
const DATA_SET_ID = /^[A-Za-z0-9_-]+$/;

/** The refresh settings read from {@link SPICE_REFRESH_ENV}. */
export interface SpiceRefreshSettings {
  accountId: string;
  dataSetIds: string[];
  pipeline: string;
}

/** Reads and checks the settings; throws one error naming every missing or malformed variable. */
export function readSpiceRefreshSettings(env: NodeJS.ProcessEnv): SpiceRefreshSettings {
  const problems: string[] = [];
  const accountId = env[SPICE_REFRESH_ENV.accountId] ?? "";
  if (!ACCOUNT_ID.test(accountId)) problems.push(`${SPICE_REFRESH_ENV.accountId} must be a 12-digit account id, got "${accountId}"`);
  const dataSetIds = (env[SPICE_REFRESH_ENV.dataSetIds] ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
  if (dataSetIds.length === 0) problems.push(`${SPICE_REFRESH_ENV.dataSetIds} names no dataset`);
  const bad = dataSetIds.filter((id) => !DATA_SET_ID.test(id));
  if (bad.length > 0) problems.push(`${SPICE_REFRESH_ENV.dataSetIds} holds malformed ids: ${bad.join(", ")}`);
  const pipeline = env[SPICE_REFRESH_ENV.pipeline] ?? "";
  if (pipeline.trim() === "") problems.push(`${SPICE_REFRESH_ENV.pipeline} is not set`);
  if (problems.length > 0) throw new Error(`SPICE refresh function misconfigured: ${problems.join("; ")}`);
  return { accountId, dataSetIds, pipeline };
}

/**
 * The EventBridge event Lambda sends for a destination record: `id` is the event's id (the same on every
 * redelivery of it), `detail` the invocation record, whose `responsePayload` is the transform's summary.
 */
export interface InvocationResultEvent {
  id?: string;
  "detail-type"?: string;
  detail?: {
    requestContext?: { condition?: string; functionArn?: string };
    responsePayload?: { hours?: unknown } & Record<string, unknown>;
  };
}

/** What one invocation did, per dataset id. */
export interface SpiceRefreshOutcome {
  /** Why nothing was started, when nothing was. */
  skipped?: string;
  /** Ingestion id used for every dataset (one per event). */
  ingestionId?: string;
  /** Datasets whose refresh this invocation started. */
  started: string[];
  /** Datasets whose refresh for this event an earlier delivery already started (ResourceExistsException). */
  alreadyStarted: string[];
  /** Datasets QuickSight turned away with LimitExceededException (an ingestion already queued, or the 24 h quota used). */
  busy: string[];
}

/**
 * The ingestion id of an event: {@link INGESTION_ID_PREFIX} and the EventBridge event id, so a redelivered
 * or retried event names the ingestion it already started. Throws for an event without a usable id.
 */
export function ingestionIdOf(event: InvocationResultEvent): string {
  const id = `${INGESTION_ID_PREFIX}${event.id ?? ""}`;
  if (event.id === undefined || !INGESTION_ID.test(id)) {
    throw new Error(`SPICE refresh: the event has no usable id (got ${JSON.stringify(event.id)}); expected an EventBridge event`);
  }
  return id;
}

/**
 * Builds the refresh handler. Runs once per container: reads the settings (throwing at cold start if any is
 * missing) and creates the QuickSight client. An invocation does nothing for a record whose condition is
 * not `Success` or whose transform materialised no hour (the datasets would read what they already hold);
 * otherwise it calls CreateIngestion (FULL_REFRESH) for every dataset with the event's ingestion id. A
 * dataset answered ResourceExistsException (this event's refresh is already running) or
 * LimitExceededException (another ingestion is already queued, or the 24 h refresh quota is used up: a
 * retry could not help) is logged and not retried, so a busy dataset causes no storm of retries; any other
 * error fails the invocation after every dataset was tried, naming the failed ones, so Lambda retries it
 * and finally sends it to the on-failure destination.
 */
export function createSpiceRefreshHandler(): (event: InvocationResultEvent) => Promise<SpiceRefreshOutcome> {
  const settings = readSpiceRefreshSettings(process.env);
  const quicksight = new QuickSightClient({});
  const logger = createLogger("spice-refresh", { base: { pipeline: settings.pipeline } });

  return async (event: InvocationResultEvent): Promise<SpiceRefreshOutcome> => {
    const outcome: SpiceRefreshOutcome = { started: [], alreadyStarted: [], busy: [] };
    const condition = event.detail?.requestContext?.condition;
    const hours = event.detail?.responsePayload?.hours;
    const skipped =
      condition !== "Success"
        ? `the transform invocation ended ${condition ?? "without a condition"}, not Success`
        : !Array.isArray(hours) || hours.length === 0
          ? "the transform materialised no hour"
          : undefined;
    if (skipped !== undefined || !Array.isArray(hours)) {
      logger.info("no refresh", { reason: skipped, eventId: event.id });
      return { ...outcome, skipped };
    }
    const ingestionId = ingestionIdOf(event);
    outcome.ingestionId = ingestionId;
    const failures: string[] = [];
    for (const dataSetId of settings.dataSetIds) {
      try {
        await quicksight.send(
          new CreateIngestionCommand({
            AwsAccountId: settings.accountId,
            DataSetId: dataSetId,
            IngestionId: ingestionId,
            IngestionType: SPICE_INGESTION_TYPE,
          }),
        );
        outcome.started.push(dataSetId);
      } catch (err) {
        const name = (err as { name?: unknown } | null)?.name;
        if (name === "ResourceExistsException") outcome.alreadyStarted.push(dataSetId);
        else if (name === "LimitExceededException") {
          outcome.busy.push(dataSetId);
          logger.warn("refresh not started: QuickSight limit", { dataSetId, ingestionId, ...errorFields(err) });
        } else {
          failures.push(`${dataSetId}: ${err instanceof Error ? err.message : String(err)}`);
          logger.error("refresh failed", { dataSetId, ingestionId, ...errorFields(err) });
        }
      }
    }
    logger.info("refresh requested", { ingestionId, hours: hours.length, ...outcome });
    if (failures.length > 0) throw new Error(`SPICE refresh failed for ${failures.length} dataset(s): ${failures.join("; ")}`);
    return outcome;
  };
}
