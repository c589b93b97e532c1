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
