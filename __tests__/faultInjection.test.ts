/**
 * Fault injection below the scheduler, each scenario checked with the lake invariant (helpers/lakeInvariants):
 * every snapshot CoinGecko served is in the lake exactly once, no analytics row is duplicated, no partial
 * file is visible.
 * - the invariant checker itself finds each kind of breakage (so a clean report means something);
 * - a write failing mid-snapshot (disk full, permission denied, the process killed) at each write position,
 *   then a restart's repair and the next delivery of the same slot; a two-page snapshot killed between its
 *   pages; a write failing while `local` runs, finished by its next transform job;
 * - a disk that fills up in the middle of writing a file;
 * - `local`'s start-up removing the temporary files and staging folders killed processes left;
 * - the same slot delivered 20 times, one after the other and all at once, and through the local job;
 * - the transform dying after an hour's Parquet is published but before its manifest, and during the COPY,
 *   then restarting and re-running; the same hour transformed 10 times, with and without its manifest.
 * Snapshots come from the real CoinGecko client and a loopback stand-in serving a distinct page per request.
 */
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { runIngest, SnapshotSource } from "../functions/ingest";
import { LocalObjectStore } from "../functions/localObjectStore";
import { ObjectStore } from "../functions/objectStore";
import { HourPartition, partitionOf, processedKey, rawKey } from "../functions/partitions";
import { manifestKey, runTransform, TransformDeps } from "../functions/transform";
import { DuckDbEngine } from "../local/duckdbEngine";
import { createLocalJobs, removeAbandonedWrites, repairInterruptedSnapshots } from "../local/localPipeline";
import { deadPid, faultAtWrite, FaultyStore, InjectedFault, KeyKind, ProcessDied, runLocal } from "./helpers/faultyStore";
import { inspectLake, ServedPage, StandInMarket, startStandInMarket } from "./helpers/lakeInvariants";
import { coin, htmlPage, recorder, tempDirsRemovedAfterAll } from "./helpers/factories";
import { VirtualClock } from "./helpers/virtualClock";

/** 2024-09-03T07:00:00Z: the slot of the single-snapshot scenarios and the first hour of the transform ones. */
const SLOT = Date.UTC(2024, 8, 3, 7) / 1000;
const HOUR = 3600;
const FIVE_MINUTES = 300;
const H7: HourPartition = partitionOf(SLOT);
const H8: HourPartition = partitionOf(SLOT + HOUR);

/** A fresh lake folder, removed after the file's tests. */
const tempLake = tempDirsRemovedAfterAll();

let market: StandInMarket | undefined;
afterEach(async () => {
  await market?.standIn.close();
  market = undefined;
  jest.restoreAllMocks();
});

async function openMarket(answer?: Parameters<typeof startStandInMarket>[0]): Promise<StandInMarket> {
  market = await startStandInMarket(answer);
  return market;
}

/** One delivery of a slot's scheduled event, as the Lambda handler and the local job run it. */
function deliver(store: ObjectStore, source: SnapshotSource, slot = SLOT) {
  const rec = recorder();
  return runIngest({ store, source, scheduledTime: slot * 1000, vsCurrency: "usd", logger: rec.logger, metrics: rec.metrics });
}

/** What a restarted local process does first: finish half-written snapshots (the clock is 10 minutes after `slot`), from `regenerate` if given. */
async function restartRepair(lake: string, regenerate?: SnapshotSource, slot = SLOT) {
  const rec = recorder();
  const result = await repairInterruptedSnapshots(
    {
      lake,
      store: new LocalObjectStore(lake),
      vsCurrency: "usd",
      clock: new VirtualClock((slot + 600) * 1000),
      logger: rec.logger,
      metrics: rec.metrics,
      regenerate,
    },
    "lake",
  );
  return { ...result, logs: rec.logs() };
}

function rawBytes(lake: string, slot = SLOT): Buffer {
  return fs.readFileSync(path.join(lake, rawKey(slot)));
}

function bodiesOf(served: readonly ServedPage[]): Buffer[] {
  return served.map((s) => Buffer.from(s.body));
}

/** The transform's dependencies on a lake, with `state` (the manifest store) and the engine replaceable. */
function transformDeps(
  lake: string,
  engine: DuckDbEngine,
  options: { state?: ObjectStore; execute?: TransformDeps["engine"]["execute"]; nowMs?: number } = {},
): TransformDeps {
  const store = new LocalObjectStore(lake);
  const rec = recorder();
  return {
    processed: store,
    state: options.state ?? store,
    engine: { execute: options.execute ?? ((sql, o) => engine.execute(sql, o)) },
    renderInsert: (p) => engine.renderInsert(p),
    logger: rec.logger,
    metrics: rec.metrics,
    // Two hours after the first slot: hours 7 and 8 are complete.
    nowMs: () => options.nowMs ?? (SLOT + 2 * HOUR + 10 * 60) * 1000,
  };
}

/** Files under analytics/, relative to the lake. */
function analyticsFiles(lake: string): string[] {
  const root = path.join(lake, "analytics");
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(lake, path.join(e.parentPath, e.name)))
    .sort();
}

describe("the invariant checker finds each kind of breakage", () => {
  let good: string;
  let served: ServedPage[];
  const slots = [SLOT, SLOT + FIVE_MINUTES, SLOT + 2 * FIVE_MINUTES];

  beforeAll(async () => {
    good = tempLake("fault-good");
    const m = await startStandInMarket();
    try {
      for (const slot of slots) await deliver(new LocalObjectStore(good), m.source, slot);
      served = m.served;
    } finally {
      await m.standIn.close();
    }
    const engine = await DuckDbEngine.open(good);
    try {
      await runTransform(transformDeps(good, engine), { hours: [H7] });
    } finally {
      engine.close();
    }
  });

  it("reports a consistent lake as clean: 3 snapshots of 6 coins, 18 analytics rows, hour 7 materialised", async () => {
    const report = await inspectLake(good, { served, materialisedBefore: SLOT + HOUR });

    expect(report).toEqual({
      violations: [],
      complete: slots,
      rawOnly: [],
      lost: [],
      processedRows: 18,
      analyticsRows: 18,
      materialisedHours: [SLOT],
      hiddenLeftovers: [],
    });
  });

  const hourDir = (area: string) => path.join(area, "year=2024", "month=9", "day=3", "hour=7");
  const firstParquet = (lake: string) => path.join(lake, analyticsFiles(lake)[0]);
  it.each<[string, (lake: string) => void, RegExp]>([
    [
      "a temporary file visible in processed/",
      (lake) => fs.writeFileSync(path.join(lake, hourDir("processed"), `${SLOT}.ndjson.gz.tmp`), "x"),
      /not a name the ingest writes/,
    ],
    [
      "a hidden file in analytics/",
      (lake) => fs.copyFileSync(firstParquet(lake), path.join(lake, hourDir("analytics"), ".part_x.parquet")),
      /hidden or temporary name visible/,
    ],
    [
      "a zero-byte Parquet file",
      (lake) => fs.writeFileSync(path.join(lake, hourDir("analytics"), "part_empty.parquet"), ""),
      /empty \(zero-byte\) file visible/,
    ],
    [
      "an unreadable Parquet file",
      (lake) =>
        fs.writeFileSync(path.join(lake, hourDir("analytics"), "part_bad.parquet"), fs.readFileSync(firstParquet(lake)).subarray(0, 100)),
      /unreadable Parquet/,
    ],
    ["a truncated processed file", (lake) => fs.truncateSync(path.join(lake, processedKey(SLOT)), 40), /not a whole gzip file|truncated/],
    [
      "an analytics file written twice",
      (lake) => fs.copyFileSync(firstParquet(lake), path.join(lake, hourDir("analytics"), "part_copy.parquet")),
      /appear more than once/,
    ],
    [
      "raw bytes CoinGecko did not serve",
      (lake) =>
        fs.writeFileSync(
          path.join(lake, rawKey(SLOT)),
          fs
            .readFileSync(path.join(lake, rawKey(SLOT)))
            .toString()
            .replace("100", "101"),
        ),
      /equals none of the 1 bodies served/,
    ],
    ["a processed snapshot gone", (lake) => fs.rmSync(path.join(lake, processedKey(SLOT))), /raw pages without a processed snapshot/],
    ["a manifest gone", (lake) => fs.rmSync(path.join(lake, manifestKey(H7))), /18 row\(s\) but no manifest/],
  ])("%s", async (_what, breakIt, violation) => {
    const lake = tempLake("fault-broken");
    fs.cpSync(good, lake, { recursive: true });

    breakIt(lake);

    expect((await inspectLake(lake, { served })).violations).toEqual(expect.arrayContaining([expect.stringMatching(violation)]));
  });

  it("a served snapshot that is not in the lake, and an hour left unmaterialised", async () => {
    const lake = tempLake("fault-missing");
    fs.cpSync(good, lake, { recursive: true });
    const extra = { slot: SLOT + 3 * FIVE_MINUTES, page: 1, body: served[0].body };
    const late = { slot: SLOT + 4 * FIVE_MINUTES, page: 1, body: served[0].body };
    await deliver(
      new LocalObjectStore(lake),
      async () => ({ pages: [{ page: 1, body: late.body }], request: {}, fetchedAt: "", retries: 0, latencyMs: 0 }),
      late.slot,
    );

    const report = await inspectLake(lake, { served: [...served, extra, late], materialisedBefore: SLOT + HOUR });

    expect(report.violations).toEqual([
      `served slot ${extra.slot}: a valid page was served but the lake has no trace of it`,
      "hour 2024-09-03T07:00:00.000Z: 1 of 4 processed snapshot(s) not materialised",
    ]);
    expect(report.lost).toEqual([extra.slot]);
  });
});

describe("a write failing mid-snapshot, at each write position", () => {
  /** What each fault throws. */
  const thrown: Record<InjectedFault, RegExp> = {
    ENOSPC: /^ENOSPC: no space left on device, write '(raw|processed)\//,
    EACCES: /^EACCES: permission denied, write '(raw|processed)\//,
    die: /^process killed \(fault injection\) before putIfAbsent (raw|processed)\//,
  };
  /** Per position: what the lake holds after the fault, whether a restart's repair finishes the slot, which served body the slot ends with. */
  const positions: [KeyKind, string, { rawOnly: boolean; repaired: boolean; keeps: "first" | "second" }][] = [
    ["raw", "the raw page: no trace; the next delivery writes the slot", { rawOnly: false, repaired: false, keeps: "second" }],
    [
      "request",
      "the request record: raw page only; page 1 is stored last, so a restart rebuilds the slot from it without a request",
      { rawOnly: true, repaired: true, keeps: "first" },
    ],
    [
      "processed",
      "the processed object: raw page and record; a restart rebuilds it from the stored page without a request",
      { rawOnly: true, repaired: true, keeps: "first" },
    ],
  ];

  describe.each<InjectedFault>(["ENOSPC", "EACCES", "die"])("%s", (fault) => {
    it.each(positions)("on %s write: %s", async (kind, _outcome, expected) => {
      // Arrange
      const lake = tempLake(`fault-${fault}-${kind}`);
      const { served, source, standIn } = await openMarket();
      const faulty = new FaultyStore(new LocalObjectStore(lake), { plan: faultAtWrite(kind, fault) });

      // Act 1: the delivery hits the fault.
      const error = await deliver(faulty, source).then(
        () => undefined,
        (err: Error) => err,
      );

      // Assert: the error says what happened; nothing partial or wrong is visible.
      expect(error?.message).toMatch(thrown[fault]);
      if (fault === "die") expect(error).toBeInstanceOf(ProcessDied);
      expect(faulty.faults.map((f) => f.op)).toEqual([faulty.operations[faulty.operations.length - 1]]);
      const afterFault = await inspectLake(lake, { served, mayBeLost: [SLOT], mayBeRawOnly: [SLOT] });
      expect(afterFault).toMatchObject({
        violations: [],
        complete: [],
        rawOnly: expected.rawOnly ? [SLOT] : [],
        lost: expected.rawOnly ? [] : [SLOT],
      });

      // Act 2: a restart's repair, then the next delivery of the same slot.
      const requestsBefore = standIn.requests.length;
      const repair = await restartRepair(lake);
      const requestsByRepair = standIn.requests.length - requestsBefore;
      const redelivered = await deliver(new LocalObjectStore(lake), source);

      // Assert: the slot is in the lake exactly once, with the bytes first stored.
      expect(repair).toMatchObject({ repaired: expected.repaired ? [SLOT] : [], unrecoverable: [] });
      expect(requestsByRepair).toBe(0);
      expect(redelivered.status).toBe(expected.repaired ? "already-written" : "written");
      expect(served).toHaveLength(2);
      expect(rawBytes(lake).equals(bodiesOf(served)[expected.keeps === "first" ? 0 : 1])).toBe(true);
      expect(await inspectLake(lake, { served })).toMatchObject({ violations: [], complete: [SLOT], rawOnly: [], processedRows: 6 });
    });
  });

  it("a disk filling up in the middle of writing the processed file: the partial temporary file is deleted with the failed write, nothing reaches a key", async () => {
    // Arrange: the third temporary file (raw page, request record, processed) gets half its bytes, then ENOSPC.
    const lake = tempLake("fault-partial-write");
    const { served, source } = await openMarket();
    const open = fs.promises.open;
    let opened = 0;
    jest.spyOn(fs.promises, "open").mockImplementation(async (file, flags, mode) => {
      const handle = await open(file, flags, mode);
      if (String(file).includes(`${path.sep}.tmp${path.sep}`) && ++opened === 3) {
        handle.writeFile = async (data) => {
          const bytes = Buffer.from(data as Uint8Array);
          await handle.write(bytes.subarray(0, Math.floor(bytes.byteLength / 2)));
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        };
      }
      return handle;
    });

    // Act
    await expect(deliver(new LocalObjectStore(lake), source)).rejects.toThrow("ENOSPC: no space left on device");
    jest.restoreAllMocks();
    const afterFault = await inspectLake(lake, { served, mayBeRawOnly: [SLOT] });
    await deliver(new LocalObjectStore(lake), source);

    // Assert: the half-written file is gone with its write; the next delivery completes the slot.
    expect(opened).toBe(3);
    expect(afterFault).toMatchObject({ violations: [], rawOnly: [SLOT], complete: [], hiddenLeftovers: [] });
    expect(await inspectLake(lake, { served })).toMatchObject({ violations: [], complete: [SLOT], rawOnly: [] });
  });

  describe("a two-page snapshot killed between its pages: page 2 stored, page 1 (written last) not", () => {
    /** A deterministic two-page market, as the simulator is: the same bytes for a slot every time. */
    const twoPages: SnapshotSource = async (slot) => ({
      pages: [1, 2].map((page) => ({
        page,
        body: Buffer.from(
          JSON.stringify(
            [0, 1, 2].map((i) => coin({ id: `coin-${page}-${i}`, market_cap_rank: 3 * (page - 1) + i + 1, current_price: slot / 1e6 + i })),
          ),
        ),
      })),
      request: { pages: 2 },
      fetchedAt: new Date(slot * 1000).toISOString(),
      retries: 0,
      latencyMs: 0,
    });

    it.each([
      ["CoinGecko (no deterministic source): the restart cannot prove the pages complete and leaves them, with a warning", false],
      ["the simulator (deterministic): the restart re-creates page 1's identical bytes and finishes the slot", true],
    ])("%s", async (_what, deterministic) => {
      // Arrange
      const lake = tempLake("fault-two-pages");
      const served = (await twoPages(SLOT)).pages.map((p) => ({ slot: SLOT, page: p.page, body: p.body }));
      const faulty = new FaultyStore(new LocalObjectStore(lake), { plan: faultAtWrite("raw", "die", (key) => key === rawKey(SLOT, 1)) });

      // Act
      await expect(deliver(faulty, twoPages)).rejects.toThrow(ProcessDied);
      const afterKill = await inspectLake(lake, { served, mayBeRawOnly: [SLOT] });
      const repair = await restartRepair(lake, deterministic ? twoPages : undefined);

      // Assert
      expect(faulty.operations.filter((op) => op.writeIndex !== undefined).map((op) => op.key)).toEqual([rawKey(SLOT, 2), rawKey(SLOT, 1)]);
      expect(afterKill).toMatchObject({ violations: [], rawOnly: [SLOT] });
      expect(repair).toMatchObject(deterministic ? { repaired: [SLOT], unrecoverable: [] } : { repaired: [], unrecoverable: [SLOT] });
      expect(repair.logs.some((l) => l.level === "warn" && String(l.message).startsWith("raw pages left as is"))).toBe(!deterministic);
      expect(await inspectLake(lake, { served, mayBeRawOnly: deterministic ? [] : [SLOT] })).toMatchObject({
        violations: [],
        complete: deterministic ? [SLOT] : [],
        processedRows: deterministic ? 6 : 0,
      });
    });
  });
});

describe("a write failing while local runs", () => {
  it("disk full on one slot's processed file: the slot stays in raw/ only until the next transform job finishes it from the stored page, before materialising its hour", async () => {
    // Arrange: local from 07:02 to 08:10; the 07:10 slot's processed write fails once.
    const lake = tempLake("fault-running-enospc");
    const { served, source, standIn } = await openMarket();
    const failing = SLOT + 2 * FIVE_MINUTES;
    const store = new FaultyStore(new LocalObjectStore(lake), {
      plan: faultAtWrite("processed", "ENOSPC", (key) => key === processedKey(failing)),
    });
    const controller = new AbortController();
    const clock = new VirtualClock((SLOT + 120) * 1000, { stopAt: (SLOT + HOUR + 2 * FIVE_MINUTES) * 1000, controller });

    // Act
    const run = await runLocal({ lake, source: "live", snapshotSource: source, store, clock, signal: controller.signal });

    // Assert: one failed ingest, finished by the 08:05 transform without a request; hour 7 holds it.
    expect(run.error).toBeUndefined();
    expect(run.result).toMatchObject({
      stats: { ingests: 15, ingestFailures: 1, transformFailures: 0 },
      repair: { repaired: [], unrecoverable: [] },
    });
    expect(run.status.filter((l) => l.includes(" FAILED "))).toEqual([
      expect.stringMatching(/ ingest 2024-09-03T07:10:00\.000Z FAILED .*ENOSPC: no space left on device/),
    ]);
    expect(run.status.filter((l) => l.includes("half-written snapshot(s) finished"))).toEqual([
      expect.stringMatching(/ transform hourly: 1 half-written snapshot\(s\) finished, 1 hour\(s\) materialised, 66 rows, /),
    ]);
    expect(standIn.requests).toHaveLength(15);
    const slots = Array.from({ length: 15 }, (_, i) => SLOT + i * FIVE_MINUTES);
    expect(await inspectLake(lake, { served, materialisedBefore: SLOT + HOUR })).toMatchObject({
      violations: [],
      complete: slots,
      rawOnly: [],
      materialisedHours: [SLOT],
    });
  });
});

describe("local's start-up removes what killed processes left in .tmp/ and .staging/", () => {
  it("a dead process's temporary file and staging folder go; a running process's, and names local did not give, stay", async () => {
    // Arrange
    const lake = tempLake("fault-leftovers");
    const dead = deadPid();
    const entry = (area: string, pid: number) => `${area}/${pid}-${randomUUID()}`;
    const deadTemp = entry(".tmp", dead);
    const deadStaging = entry(".staging", dead);
    const liveTemp = entry(".tmp", process.pid);
    const liveStaging = entry(".staging", process.pid);
    const part = "analytics/year=2024/month=9/day=3/hour=7/part_0.parquet";
    for (const file of [deadTemp, `${deadStaging}/${part}`, liveTemp, `${liveStaging}/${part}`, ".tmp/partial"]) {
      fs.mkdirSync(path.dirname(path.join(lake, file)), { recursive: true });
      fs.writeFileSync(path.join(lake, file), "half a file");
    }
    const { served, source } = await openMarket();

    // Act
    const run = await runLocal({ lake, source: "live", snapshotSource: source, once: true, clock: new VirtualClock((SLOT + 60) * 1000) });

    // Assert
    expect(run.error).toBeUndefined();
    expect(run.result?.removedLeftovers).toEqual([deadTemp, deadStaging]);
    expect(run.status).toContainEqual(
      expect.stringMatching(/ removed 2 temporary file\(s\) and staging folder\(s\) that killed processes left$/),
    );
    const report = await inspectLake(lake, { served, mayLeaveHidden: true });
    expect(report).toMatchObject({ violations: [], complete: [SLOT] });
    expect(report.hiddenLeftovers).toEqual([liveTemp, ".tmp/partial", `${liveStaging}/${part}`]);
  });
});

describe("the same events delivered many times", () => {
  it("the same slot delivered 20 times in a row: 20 fetches, one snapshot holding the first page served", async () => {
    const lake = tempLake("fault-20-sequential");
    const { served, source } = await openMarket();

    const statuses: string[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await deliver(new LocalObjectStore(lake), source)).status);

    expect(statuses).toEqual(["written", ...Array(19).fill("already-written")]);
    expect(served).toHaveLength(20);
    expect(rawBytes(lake).equals(bodiesOf(served)[0])).toBe(true);
    expect(await inspectLake(lake, { served })).toMatchObject({ violations: [], complete: [SLOT], processedRows: 6 });
  });

  it("the same slot delivered 20 times at once: exactly one delivery writes, every other one finds it written", async () => {
    const lake = tempLake("fault-20-concurrent");
    const { served, source } = await openMarket();

    const results = await Promise.all(Array.from({ length: 20 }, () => deliver(new LocalObjectStore(lake), source)));

    expect(results.filter((r) => r.status === "written")).toHaveLength(1);
    expect(new Set(results.map((r) => r.coins))).toEqual(new Set([6]));
    expect(served).toHaveLength(20);
    expect(await inspectLake(lake, { served })).toMatchObject({ violations: [], complete: [SLOT], processedRows: 6 });
  });

  it("the local job asked for the same slot 20 times: one request, 19 skips", async () => {
    const lake = tempLake("fault-20-job");
    const { served, source, standIn } = await openMarket();
    const rec = recorder();
    const jobs = createLocalJobs({
      lake,
      store: new LocalObjectStore(lake),
      source,
      vsCurrency: "usd",
      clock: new VirtualClock(SLOT * 1000),
      logger: rec.logger,
      metrics: rec.metrics,
    });

    const summaries: string[] = [];
    for (let i = 0; i < 20; i++) summaries.push(await jobs.ingest(SLOT));

    expect(summaries).toEqual(["written, 6 coins", ...Array(19).fill("already in the lake")]);
    expect(standIn.requests).toHaveLength(1);
    expect(await inspectLake(lake, { served })).toMatchObject({ violations: [], complete: [SLOT] });
  });

  it("malformed pages delivered for a slot never reach the lake; the next good delivery does", async () => {
    const lake = tempLake("fault-malformed-redelivery");
    const { served, source } = await openMarket((index) => (index < 3 ? htmlPage() : undefined));

    for (let i = 0; i < 3; i++)
      await expect(deliver(new LocalObjectStore(lake), source)).rejects.toThrow(/^CoinGecko page 1 is HTML or XML, not JSON/);
    await deliver(new LocalObjectStore(lake), source);

    expect(served).toHaveLength(4);
    expect(rawBytes(lake).equals(bodiesOf(served)[3])).toBe(true);
    expect(await inspectLake(lake, { served })).toMatchObject({ violations: [], complete: [SLOT] });
  });
});

describe("the transform crashing mid-hour and re-running", () => {
  /** Two hours of 5-minute snapshots (7:00-8:55), 6 coins each: 24 snapshots, 144 rows. */
  const SLOTS = Array.from({ length: 24 }, (_, i) => SLOT + i * FIVE_MINUTES);
  let ingested: string;
  let served: ServedPage[];

  beforeAll(async () => {
    ingested = tempLake("fault-transform-source");
    const m = await startStandInMarket();
    try {
      for (const slot of SLOTS) await deliver(new LocalObjectStore(ingested), m.source, slot);
      served = m.served;
    } finally {
      await m.standIn.close();
    }
  });

  function copyOfLake(prefix: string): string {
    const lake = tempLake(prefix);
    fs.cpSync(ingested, lake, { recursive: true });
    return lake;
  }

  it("dies after hour 8's Parquet is published, before its manifest: the rows are visible once; the re-run adds none and records the hour", async () => {
    // Arrange: the process dies on hour 8's manifest write.
    const lake = copyOfLake("fault-transform-manifest");
    const state = new FaultyStore(new LocalObjectStore(lake), { plan: faultAtWrite("manifest", "die", (key) => key === manifestKey(H8)) });
    const engine = await DuckDbEngine.open(lake);
    let crashed: unknown;
    try {
      // Act 1
      crashed = await runTransform(transformDeps(lake, engine, { state })).catch((err: unknown) => err);
    } finally {
      engine.close();
    }
    const afterCrash = await inspectLake(lake, { served });
    const rerunEngine = await DuckDbEngine.open(lake);
    let rerun;
    try {
      // Act 2: the next run, in a new process.
      rerun = await runTransform(transformDeps(lake, rerunEngine));
    } finally {
      rerunEngine.close();
    }

    // Assert
    expect(String(crashed)).toMatch(
      /transform failed for 1 hour\(s\): year=2024\/month=9\/day=3\/hour=8: process killed \(fault injection\)/,
    );
    expect(afterCrash.violations).toEqual(["analytics hour 2024-09-03T08:00:00.000Z: 72 row(s) but no manifest"]);
    expect(afterCrash.analyticsRows).toBe(144);
    expect(rerun.hours.map((h) => [h.partition.hour, h.rowsWritten])).toEqual([[8, 0]]);
    expect(await inspectLake(lake, { served, materialisedBefore: SLOT + 2 * HOUR })).toMatchObject({
      violations: [],
      analyticsRows: 144,
      processedRows: 144,
      materialisedHours: [SLOT, SLOT + HOUR],
    });
  });

  it("dies during hour 8's COPY, leaving a partial Parquet file in its staging folder: nothing partial is visible; the restart removes the folder and the re-run materialises the hour once", async () => {
    // Arrange: the second statement writes half a Parquet file where a killed COPY leaves it (its engine's
    // staging folder, named after the process, whose pid is then dead), then the process dies.
    const lake = copyOfLake("fault-transform-copy");
    const engine = await DuckDbEngine.open(lake);
    const killedStaging = path.join(lake, ".staging", `${deadPid()}-${randomUUID()}`);
    let statements = 0;
    let crashed: unknown;
    try {
      const execute: TransformDeps["engine"]["execute"] = async (sql, options) => {
        statements += 1;
        if (statements === 1) return engine.execute(sql, options);
        const half = path.join(killedStaging, "analytics", "year=2024", "month=9", "day=3", "hour=8", "part_killed.parquet");
        fs.mkdirSync(path.dirname(half), { recursive: true });
        const whole = fs.readFileSync(path.join(lake, analyticsFiles(lake)[0]));
        fs.writeFileSync(half, whole.subarray(0, Math.floor(whole.byteLength / 2)));
        throw new ProcessDied("during the COPY of hour 8");
      };
      // Act 1
      crashed = await runTransform(transformDeps(lake, engine, { execute })).catch((err: unknown) => err);
    } finally {
      engine.close();
    }
    const afterCrash = await inspectLake(lake, { served, mayLeaveHidden: true });
    // Act 2: the restart (local's start-up clean-up), then the next run.
    const removed = await removeAbandonedWrites(lake);
    const rerunEngine = await DuckDbEngine.open(lake);
    try {
      await runTransform(transformDeps(lake, rerunEngine));
    } finally {
      rerunEngine.close();
    }

    // Assert
    expect(String(crashed)).toMatch(/hour=8: process killed \(fault injection\) during the COPY of hour 8/);
    expect(afterCrash).toMatchObject({ violations: [], analyticsRows: 72, materialisedHours: [SLOT] });
    expect(afterCrash.hiddenLeftovers).toEqual([
      `${path.relative(lake, killedStaging)}/analytics/year=2024/month=9/day=3/hour=8/part_killed.parquet`,
    ]);
    expect(removed).toEqual([path.relative(lake, killedStaging)]);
    expect(await inspectLake(lake, { served, materialisedBefore: SLOT + 2 * HOUR })).toMatchObject({
      violations: [],
      analyticsRows: 144,
      materialisedHours: [SLOT, SLOT + HOUR],
      hiddenLeftovers: [],
    });
  });

  it("the same hour transformed 10 times, then 10 more times with its manifest deleted before each: the SQL itself adds nothing and no file appears", async () => {
    const lake = copyOfLake("fault-transform-10x");
    const engine = await DuckDbEngine.open(lake);
    try {
      await runTransform(transformDeps(lake, engine), { hours: [H7] });
      const files = analyticsFiles(lake);

      const skipped: number[] = [];
      for (let i = 0; i < 10; i++) skipped.push((await runTransform(transformDeps(lake, engine), { hours: [H7] })).hours.length);
      const rewritten: number[] = [];
      for (let i = 0; i < 10; i++) {
        fs.rmSync(path.join(lake, manifestKey(H7)));
        // A later run hour each time, so the engine's idempotency memo cannot answer instead of the SQL.
        const run = await runTransform(transformDeps(lake, engine, { nowMs: (SLOT + (3 + i) * HOUR) * 1000 }), { hours: [H7] });
        rewritten.push(...run.hours.map((h) => h.rowsWritten));
      }

      expect(skipped).toEqual(Array(10).fill(0));
      expect(rewritten).toEqual(Array(10).fill(0));
      expect(analyticsFiles(lake)).toEqual(files);
      expect(await inspectLake(lake, { served, materialisedBefore: SLOT + HOUR })).toMatchObject({
        violations: [],
        analyticsRows: 72,
        materialisedHours: [SLOT],
      });
    } finally {
      engine.close();
    }
  });
});
