/**
 * Snapshot time slots and the lake's Hive partition layout.
 *
 * One convention everywhere (S3, the local lake, Glue projection, Athena `INSERT INTO`): unpadded
 * integers (`month=9`, `hour=7`), because Athena's `INSERT INTO` writes Hive-default unpadded paths and
 * ignores projection `digits`, and a projected partition whose path does not match returns no rows.
 */

/** Length of one ingest slot in seconds (the 5-minute schedule). */
export const SNAPSHOT_SLOT_SECONDS = 300;

/** Seconds in one hourly analytics partition. */
export const HOUR_SECONDS = 3600;

/** The lake's top-level prefixes, identical in S3 and in a local lake folder. */
export const LAKE_PREFIXES = {
  raw: "raw",
  processed: "processed",
  analytics: "analytics",
  /** Small per-hour objects recording which processed snapshots the transform has materialised. */
  manifests: "manifests/transform",
} as const;

/** One hourly Hive partition, UTC, unpadded. */
export interface HourPartition {
  year: number;
  month: number;
  day: number;
  hour: number;
}

/** Floors an epoch-seconds time to the start of its 5-minute slot. */
export function floorToSlot(epochSeconds: number): number {
  return epochSeconds - (((epochSeconds % SNAPSHOT_SLOT_SECONDS) + SNAPSHOT_SLOT_SECONDS) % SNAPSHOT_SLOT_SECONDS);
}

/** Floors an epoch-seconds time to the start of its hour. */
export function floorToHour(epochSeconds: number): number {
  return epochSeconds - (((epochSeconds % HOUR_SECONDS) + HOUR_SECONDS) % HOUR_SECONDS);
}

/** The UTC hour partition holding an epoch-seconds time. */
export function partitionOf(epochSeconds: number): HourPartition {
  const d = new Date(epochSeconds * 1000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() };
}

/** Epoch seconds of the first second of a partition's hour. */
export function partitionStart(p: HourPartition): number {
  return Date.UTC(p.year, p.month - 1, p.day, p.hour) / 1000;
}

/** `year=2024/month=9/day=3/hour=7`: the Hive path segment of a partition. */
export function partitionPath(p: HourPartition): string {
  return `year=${p.year}/month=${p.month}/day=${p.day}/hour=${p.hour}`;
}

/**
 * Key of one page of a snapshot's exact API response: `raw/year=.../<timestamp>.json` for page 1 and
 * `<timestamp>.p<N>.json` for page N > 1 (when topN exceeds one 250-coin page).
 */
export function rawKey(timestamp: number, page = 1): string {
  const suffix = page === 1 ? "" : `.p${page}`;
  return `${LAKE_PREFIXES.raw}/${partitionPath(partitionOf(timestamp))}/${timestamp}${suffix}.json`;
}

/** Key of the request record kept beside a snapshot's raw pages: parameters (never the key), fetch time, sizes. */
export function rawRequestKey(timestamp: number): string {
  return `${LAKE_PREFIXES.raw}/${partitionPath(partitionOf(timestamp))}/${timestamp}.request.json`;
}

/**
 * Key of one coin's exact `/coins/{id}/market_chart` response of a backfill run:
 * `raw/year=.../<runHour>.market_chart.<days>d.<coin id>.json`, filed under the hour the run started in,
 * so a re-run within that hour finds it and spends no request. {@link timestampOfKey} does not read it as
 * a snapshot page.
 */
export function marketChartRawKey(runHour: number, days: number, coinId: string): string {
  return `${LAKE_PREFIXES.raw}/${partitionPath(partitionOf(runHour))}/${runHour}.market_chart.${days}d.${encodeURIComponent(coinId)}.json`;
}

/** Key of the request record kept beside a {@link marketChartRawKey} response. */
export function marketChartRequestKey(runHour: number, days: number, coinId: string): string {
  return marketChartRawKey(runHour, days, coinId).replace(/\.json$/, ".request.json");
}

/** Key of a snapshot's typed rows: `processed/year=.../<timestamp>.ndjson.gz`. */
export function processedKey(timestamp: number): string {
  return `${LAKE_PREFIXES.processed}/${partitionPath(partitionOf(timestamp))}/${timestamp}.ndjson.gz`;
}

/** Prefix (with trailing slash) of one hour of a lake area, e.g. `processed/year=2024/month=9/day=3/hour=7/`. */
export function hourPrefix(area: keyof typeof LAKE_PREFIXES, p: HourPartition): string {
  return `${LAKE_PREFIXES[area]}/${partitionPath(p)}/`;
}

/** The snapshot timestamp encoded in a raw page or processed key, or undefined for any other key. */
export function timestampOfKey(key: string): number | undefined {
  const m = /\/(\d+)(?:\.p\d+)?\.(?:json|ndjson\.gz)$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

/**
 * An ISO-8601 date-time down to at least the hour: `YYYY-MM-DDTHH`, then optional `:MM`, `:SS` and fraction,
 * then `Z` or a `±HH:MM` offset (none means UTC). Groups: year, month, day, hour, minute, second, offset
 * sign, offset hours, offset minutes.
 */
const ISO_HOUR = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(?:Z|([+-])(\d{2}):(\d{2}))?$/;

/**
 * The UTC hour partition holding an ISO-8601 time such as `2024-09-03T07`, `2024-09-03T07:59:59.5Z` or
 * `2024-09-03T01:30+02:00` (the 23:00 hour of 2 September); surrounding blanks are ignored. Only real
 * times are accepted: 2023-02-29, hour 24, minute 60 or a date without a time throw an Error reading
 * `<what> must be an ISO-8601 time ...`, where `what` names the flag or field that held `iso` (`--hour`).
 */
export function parseHour(iso: string, what: string): HourPartition {
  const m = ISO_HOUR.exec(iso.trim());
  const epochSeconds = m === null ? undefined : epochSecondsOf(m);
  if (epochSeconds === undefined) throw new Error(`${what} must be an ISO-8601 time such as 2024-09-03T07:00Z, got ${JSON.stringify(iso)}`);
  return partitionOf(epochSeconds);
}

/** Epoch seconds of an {@link ISO_HOUR} match, or undefined when its fields name no real time. */
function epochSecondsOf(m: RegExpExecArray): number | undefined {
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((g) => Number(g ?? 0));
  const [offsetHours, offsetMinutes] = [Number(m[8] ?? 0), Number(m[9] ?? 0)];
  const hourStartMs = Date.UTC(year, month - 1, day, hour);
  const back = new Date(hourStartMs);
  // Date.UTC rolls 2023-02-30 over to March, hour 24 to the next day and years 0-99 to the 1900s: only a
  // round trip shows the fields name an hour that exists.
  const exists =
    back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day && back.getUTCHours() === hour;
  if (!exists || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const offsetSeconds = (m[7] === "-" ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
  return hourStartMs / 1000 + minute * 60 + second - offsetSeconds;
}
