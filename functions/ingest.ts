/**
 * One ingest run: fetch a snapshot, validate every page, keep the exact bytes in `raw/`, then write the
 * typed rows to `processed/`, all under the scheduled slot's keys and with conditional writes, so a
 * retried or re-delivered event changes nothing. The same code runs in Lambda (S3) and locally (a folder).
 */
import { createHash } from "node:crypto";
import { coinGeckoError, isCoinGeckoError } from "./coingeckoErrors";
import { gzipNdjson } from "./ndjson";
import { NormalizedSnapshot, normalizeSnapshot, parseMarketsPage } from "./normalize";
import { ObjectStore } from "./objectStore";
import { floorToSlot, processedKey, rawKey, rawRequestKey } from "./partitions";
import { errorFields, Logger, MetricsEmitter } from "./telemetry";

/** One page of a snapshot as the API sent it. */
export interface FetchedPage {
  /** 1-based page number. */
  page: number;
  /** The exact response body bytes. */
  body: Uint8Array;
}

/** What a {@link SnapshotSource} returns. */
export interface FetchedSnapshot {
  /** Pages in order, page 1 first. */
  pages: FetchedPage[];
  /** The request as kept beside the raw pages: URL without key, query parameters, plan. Never the key. */
  request: Record<string, unknown>;
  /** ISO-8601 time the fetch started; `unknown` when local mode rebuilds a snapshot from raw pages whose request record was never written. */
  fetchedAt: string;
  /** HTTP retries spent over all pages. */
  retries: number;
  /** Wall time of the whole fetch, retries and pacing included, in ms. */
  latencyMs: number;
}

/** Fetches the snapshot of one slot (epoch seconds); CoinGecko in production, synthetic data in tests and benchmarks. */
export type SnapshotSource = (slotEpochSeconds: number) => Promise<FetchedSnapshot>;

/** Outcome of {@link runIngest}. */
export interface IngestResult {
  /** Snapshot slot, epoch seconds floored to 5 minutes. */
  timestamp: number;
  /** `written` when this run wrote the processed object, `already-written` when an earlier delivery had. */
  status: "written" | "already-written";
  /** Rows in the processed object. */
  coins: number;
  /** Input elements the normaliser dropped (no id, duplicates). */
  dropped: number;
  /** Keys of the raw pages, page 1 first. */
  rawKeys: string[];
  /** Key of the processed NDJSON.gz object. */
  processedKey: string;
}

/** Arguments of {@link runIngest}. */
export interface RunIngestArgs {
  /** Where raw and processed objects go. */
  store: ObjectStore;
  /** Where the snapshot comes from. */
  source: SnapshotSource;
  /** The schedule's time for this run (a Date or epoch milliseconds); floored to its 5-minute slot. */
  scheduledTime: Date | number;
  /** Quote currency the source was configured with; stored on every row. */
  vsCurrency: string;
  /** Structured log sink (carries the redaction of secrets). */
  logger: Logger;
  /** EMF metrics sink. */
  metrics: MetricsEmitter;
}

/** Content type of raw pages and the request record. */
export const RAW_CONTENT_TYPE = "application/json";

/**
 * Content type of processed objects. They are gzip files named `.ndjson.gz`, not gzip-encoded JSON: no
 * `Content-Encoding`, so HTTP clients hand the bytes over unchanged and readers go by the extension.
 */
export const PROCESSED_CONTENT_TYPE = "application/gzip";

/**
 * Runs one ingest: fetch, validate every page (nothing is written if any page is invalid), write each raw
 * page with put-if-absent, page 1 last (when a page already exists its stored bytes are read back and used,
 * so the processed rows always derive from the stored raw), write the request record, and write the
 * processed NDJSON.gz last. A second delivery of the same slot finds every object present, changes none
 * of them and returns `already-written`. Errors are logged and thrown (Lambda's retries and the DLQ take
 * over).
 */
export async function runIngest(args: RunIngestArgs): Promise<IngestResult> {
  const { store, source, logger, metrics, vsCurrency } = args;
  const scheduledMs = args.scheduledTime instanceof Date ? args.scheduledTime.getTime() : args.scheduledTime;
  if (!Number.isFinite(scheduledMs)) throw new Error(`scheduled time is not a valid time: ${String(args.scheduledTime)}`);
  const timestamp = floorToSlot(Math.floor(scheduledMs / 1000));
  const context = { vsCurrency, timestamp };
  try {
    const snapshot = await source(timestamp);
    if (snapshot.pages.length === 0) throw new Error(`snapshot source returned no pages for slot ${timestamp}`);
    // Validate everything before the first write, so a bad page leaves no trace in the lake.
    const fresh = normalizePages(snapshot.pages, context);

    const rawKeys = snapshot.pages.map((page) => rawKey(timestamp, page.page));
    const stored: FetchedPage[] = [...snapshot.pages];
    let reusedRaw = false;
    // Last page first, page 1 last: a stored page 1 proves every page of its snapshot is stored, so local
    // mode can finish a snapshot whose process stopped before the request record.
    for (let i = snapshot.pages.length - 1; i >= 0; i -= 1) {
      const page = snapshot.pages[i];
      if ((await store.putIfAbsent(rawKeys[i], page.body, { contentType: RAW_CONTENT_TYPE })) === "written") continue;
      const body = await store.get(rawKeys[i]);
      if (body === undefined) throw new Error(`raw page ${rawKeys[i]} exists but could not be read back`);
      stored[i] = { page: page.page, body };
      reusedRaw = true;
    }
    const normalized = reusedRaw ? normalizePages(stored, context) : fresh;

    const record = requestRecord(snapshot, stored, rawKeys, timestamp, scheduledMs, normalized);
    await store.putIfAbsent(rawRequestKey(timestamp), JSON.stringify(record, null, 2) + "\n", { contentType: RAW_CONTENT_TYPE });

    const key = processedKey(timestamp);
    const outcome = await store.putIfAbsent(key, gzipNdjson(normalized.rows), { contentType: PROCESSED_CONTENT_TYPE });
    const { counts } = normalized;
    const result: IngestResult = {
      timestamp,
      status: outcome === "written" ? "written" : "already-written",
      coins: counts.kept,
      dropped: counts.droppedNoId + counts.droppedDuplicate,
      rawKeys,
      processedKey: key,
    };
    logger.info(result.status === "written" ? "snapshot written" : "snapshot already written", {
      ...result,
      droppedNoId: counts.droppedNoId,
      droppedDuplicate: counts.droppedDuplicate,
      reusedRaw,
      retries: snapshot.retries,
      latencyMs: snapshot.latencyMs,
    });
    metrics.emit({
      snapshotsWritten: result.status === "written" ? 1 : 0,
      duplicateDeliveries: result.status === "written" ? 0 : 1,
      coinsPerSnapshot: result.coins,
      rowsDropped: result.dropped,
      fetchRetries: snapshot.retries,
      fetchLatency: snapshot.latencyMs,
    });
    return result;
  } catch (err) {
    const fetch = isCoinGeckoError(err)
      ? { kind: err.kind, status: err.status, errorCode: err.errorCode, page: err.page, attempts: err.attempts, elapsedMs: err.elapsedMs }
      : {};
    logger.error("ingest failed", { timestamp, ...fetch, ...errorFields(err) });
    metrics.emit(isCoinGeckoError(err) ? { snapshotsWritten: 0, fetchRetries: Math.max(0, err.attempts - 1) } : { snapshotsWritten: 0 });
    throw err;
  }
}

/**
 * The time an event was scheduled for: EventBridge Scheduler input `{"scheduledTime": "<ISO-8601>"}`, an
 * EventBridge rule event's `time`, or `nowMs` when the event carries neither (a manual test invoke).
 * A field that is present but not an ISO-8601 time throws, because silently using "now" would hide a
 * misconfigured schedule input.
 */
export function scheduledTimeOf(event: unknown, nowMs: number): Date {
  if (typeof event === "object" && event !== null) {
    const fields = event as Record<string, unknown>;
    if (fields.scheduledTime !== undefined) return parseIsoTime(fields.scheduledTime, "event field scheduledTime");
    if (fields.time !== undefined) return parseIsoTime(fields.time, "event field time");
  }
  return new Date(nowMs);
}

/**
 * Parses an ISO-8601 date-time with an explicit zone (`2024-09-03T07:05:00Z`, `...+02:00`); a time
 * without a zone would silently mean the machine's local time. `what` names the input in the error.
 */
export function parseIsoTime(value: unknown, what: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
  const ms = typeof value === "string" && iso.test(value.trim()) ? Date.parse(value.trim()) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new Error(`${what} must be an ISO-8601 time with a zone, e.g. 2024-09-03T07:05:00Z; got ${JSON.stringify(value)}`);
  }
  return new Date(ms);
}

/** Parses and normalises pages; throws on the first invalid page or when no row has an id. */
function normalizePages(pages: readonly FetchedPage[], context: { vsCurrency: string; timestamp: number }): NormalizedSnapshot {
  const normalized = normalizeSnapshot(
    pages.map((p) => parseMarketsPage(p.body, p.page)),
    context,
  );
  if (normalized.rows.length === 0) {
    throw coinGeckoError(
      "invalid-response",
      `CoinGecko snapshot has no coin with an id (${normalized.counts.input} elements, all dropped)`,
      { status: 200 },
    );
  }
  return normalized;
}

/** The request record kept beside the raw pages: what was asked, when, and a digest of each stored page. */
function requestRecord(
  snapshot: FetchedSnapshot,
  stored: readonly FetchedPage[],
  rawKeys: readonly string[],
  timestamp: number,
  scheduledMs: number,
  normalized: NormalizedSnapshot,
): Record<string, unknown> {
  return {
    timestamp,
    scheduledTime: new Date(scheduledMs).toISOString(),
    fetchedAt: snapshot.fetchedAt,
    latencyMs: snapshot.latencyMs,
    retries: snapshot.retries,
    request: snapshot.request,
    pages: stored.map((p, i) => ({
      page: p.page,
      key: rawKeys[i],
      bytes: p.body.byteLength,
      sha256: createHash("sha256").update(p.body).digest("hex"),
    })),
    counts: normalized.counts,
  };
}
