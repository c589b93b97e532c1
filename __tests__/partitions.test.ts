/**
 * The lake's slot and partition arithmetic: flooring (negative-safe), hour partitions and keys across month
 * and year boundaries, and the ISO-8601 hour parser shared by the CLI's `--hour` and the transform's
 * manual re-run event.
 */
import {
  floorToHour,
  floorToSlot,
  HourPartition,
  parseHour,
  partitionOf,
  partitionPath,
  partitionStart,
  processedKey,
  rawKey,
  timestampOfKey,
} from "../functions/partitions";

const epoch = (iso: string): number => Date.parse(iso) / 1000;

describe("flooring", () => {
  it.each([
    [epoch("2024-09-03T07:04:59Z"), epoch("2024-09-03T07:00:00Z"), epoch("2024-09-03T07:00:00Z")],
    [epoch("2024-09-03T07:05:00Z"), epoch("2024-09-03T07:05:00Z"), epoch("2024-09-03T07:00:00Z")],
    [epoch("2024-12-31T23:59:59Z"), epoch("2024-12-31T23:55:00Z"), epoch("2024-12-31T23:00:00Z")],
    // Before 1970: JS `%` keeps the sign, so a plain `t - t % n` would round up.
    [-1, -300, -3600],
    [-301, -600, -3600],
    [-3601, -3900, -7200],
  ])("%d floors to slot %d and hour %d", (t, slot, hour) => {
    expect(floorToSlot(t)).toBe(slot);
    expect(floorToHour(t)).toBe(hour);
  });
});

describe("partitions and keys", () => {
  it.each([
    ["2024-01-31T23:59:59Z", { year: 2024, month: 1, day: 31, hour: 23 }],
    ["2024-02-01T00:00:00Z", { year: 2024, month: 2, day: 1, hour: 0 }],
    ["2024-02-29T12:00:00Z", { year: 2024, month: 2, day: 29, hour: 12 }],
    ["2024-12-31T23:59:59Z", { year: 2024, month: 12, day: 31, hour: 23 }],
    ["2025-01-01T00:00:00Z", { year: 2025, month: 1, day: 1, hour: 0 }],
  ])("%s lies in %p, whose start round-trips", (iso, partition) => {
    expect(partitionOf(epoch(iso))).toEqual(partition);
    expect(partitionStart(partition)).toBe(floorToHour(epoch(iso)));
    expect(partitionOf(partitionStart(partition))).toEqual(partition);
  });

  it("keys across a year boundary are unpadded and carry their timestamp", () => {
    const lastSlot = epoch("2024-12-31T23:55:00Z");
    const firstSlot = epoch("2025-01-01T00:00:00Z");

    expect(rawKey(lastSlot)).toBe(`raw/year=2024/month=12/day=31/hour=23/${lastSlot}.json`);
    expect(rawKey(firstSlot, 2)).toBe(`raw/year=2025/month=1/day=1/hour=0/${firstSlot}.p2.json`);
    expect(processedKey(firstSlot)).toBe(`processed/year=2025/month=1/day=1/hour=0/${firstSlot}.ndjson.gz`);
    expect([rawKey(lastSlot), rawKey(firstSlot, 2), processedKey(firstSlot)].map(timestampOfKey)).toEqual([lastSlot, firstSlot, firstSlot]);
    expect(partitionPath(partitionOf(epoch("2024-09-03T07:00:00Z")))).toBe("year=2024/month=9/day=3/hour=7");
  });
});

describe("parseHour", () => {
  it.each<[string, HourPartition]>([
    ["2024-09-03T07", { year: 2024, month: 9, day: 3, hour: 7 }],
    ["2024-09-03T07:59", { year: 2024, month: 9, day: 3, hour: 7 }],
    ["2024-09-03T07:30:00.5Z", { year: 2024, month: 9, day: 3, hour: 7 }],
    [" 2024-09-03T07:00Z ", { year: 2024, month: 9, day: 3, hour: 7 }],
    ["2024-09-03T01:30+02:00", { year: 2024, month: 9, day: 2, hour: 23 }],
    ["2024-12-31T22:30-01:45", { year: 2025, month: 1, day: 1, hour: 0 }],
    ["2024-02-29T00:00Z", { year: 2024, month: 2, day: 29, hour: 0 }],
  ])("reads %p as %p", (iso, expected) => {
    expect(parseHour(iso, "--hour")).toEqual(expected);
  });

  it.each([
    "yesterday",
    "",
    "2024-09-03",
    "2024-09-03 07:00",
    "2023-02-29T00:00Z",
    "2024-02-30T00",
    "2024-04-31T00",
    "2024-13-01T00:00Z",
    "2024-00-10T00",
    "2024-09-00T00",
    "2024-09-03T24:00Z",
    "2024-09-03T07:60",
    "2024-09-03T07:00:60Z",
    "2024-09-03T07:00+24:00",
    "0050-01-01T00",
    "2024-09-03T07:00z",
  ])("rejects %p naming the field that held it", (iso) => {
    expect(() => parseHour(iso, "hours[3]")).toThrow(
      `hours[3] must be an ISO-8601 time such as 2024-09-03T07:00Z, got ${JSON.stringify(iso)}`,
    );
  });
});
