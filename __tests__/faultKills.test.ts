/**
 * The local process killed at random points and restarted, checked with the lake invariant against what
 * was served (helpers/lakeInvariants):
 * - in process: one simulated day of `crypto-analytics local` at the 5-minute cadence on a virtual clock
 *   against the CoinGecko stand-in, with 20 kills at points a seeded generator picks: before a raw page,
 *   request record or processed write of the slot being ingested, or at a clock read (between jobs, or in
 *   the transform after an hour's Parquet is published and before its manifest), each followed by a restart
 *   after 0-45 minutes of downtime. A killed "process" does nothing more: its store and clock refuse every
 *   call (the transform's DuckDB statements already running for later hours still publish, which a real
 *   kill could also leave, one hour per kill).
 * - real processes: `crypto-analytics simulate` and `crypto-analytics local` (whose start-up runs the
 *   catch-up `transform --all`) SIGKILLed at seeded random moments, then run to completion; nothing they
 *   left under .tmp/ or .staging/ survives the next local start.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { localCommand } from "../cli/localCommand";
import { simulateCommand } from "../cli/simulateCommand";
import { LocalObjectStore } from "../functions/localObjectStore";
import { floorToSlot, HOUR_SECONDS, SNAPSHOT_SLOT_SECONDS, timestampOfKey } from "../functions/partitions";
import { LAKE_LOCK_FILE } from "../local/localPipeline";
import { MarketSimulator } from "../local/simulator";
import { cliMain, removeCliBuild } from "./helpers/cliProcess";
import { makeTempDir, removeTempDir } from "./helpers/factories";
import { FaultyStore, isProcessDied, KeyKind, MortalClock, ProcessLife, runLocal, seededRandom } from "./helpers/faultyStore";
import { inspectLake, ServedPage, StandInMarket, startStandInMarket } from "./helpers/lakeInvariants";
import { VirtualClock } from "./helpers/virtualClock";

const HOUR = HOUR_SECONDS;
const MINUTE = 60;

const temps: string[] = [];

/** The slot a raw page, request record or processed key belongs to. */
function slotOfKey(key: string): number | undefined {
  const m = /\/(\d+)\.[^/]+$/.exec(key);
  return m === null ? undefined : Number(m[1]);
}
afterAll(() => temps.forEach(removeTempDir));

/** Hour partitions (lake-relative folders) that hold analytics files but no manifest. */
function hoursWithoutManifest(lake: string): string[] {
  const root = path.join(lake, "analytics");
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, e.parentPath))
    .filter((dir, i, all) => all.indexOf(dir) === i && !fs.existsSync(path.join(lake, "manifests", "transform", dir, "manifest.json")));
}

describe("one simulated day of local mode, killed 20 times", () => {
  /** 2024-09-04T00:00Z: the day. */
  const T0 = Date.UTC(2024, 8, 4) / 1000;
  const LAST_SLOT = T0 + 24 * HOUR - SNAPSHOT_SLOT_SECONDS;
  const KILLS = 20;
  const SEED = 20_240_904;
  /**
   * Where a kill lands, from its time on: before the first write of that kind for the slot being ingested;
   * at a clock read (`clock`: the scheduler between jobs, or a job starting); or at the first clock read
   * while an hour's Parquet is published without its manifest (`manifest`: the transform reads the clock
   * for the manifest's time right before writing it).
   */
  type KillMode = Extract<KeyKind, "raw" | "request" | "processed"> | "clock" | "manifest";
  const MODES: KillMode[] = ["raw", "request", "processed", "clock", "manifest"];

  /** A kill: its time, its point, which clock read after `at` (`clock` kills), and the downtime before the restart. */
  interface KillPlan {
    at: number;
    mode: KillMode;
    clockReads: number;
    downtimeMinutes: number;
  }

  /** Twenty kill points over the day, four of each mode in a seeded order. */
  function planKills(): KillPlan[] {
    const random = seededRandom(SEED);
    const times = new Set<number>();
    while (times.size < KILLS) times.add(T0 + 10 * MINUTE + Math.floor(random() * 22.5 * HOUR));
    const modes = MODES.flatMap((m) => Array<KillMode>(KILLS / MODES.length).fill(m));
    for (let i = modes.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [modes[i], modes[j]] = [modes[j], modes[i]];
    }
    return [...times]
      .sort((a, b) => a - b)
      .map((at, i) => ({
        at,
        mode: modes[i],
        clockReads: 1 + Math.floor(random() * 12),
        downtimeMinutes: [0, 0, 5, 20, 45][Math.floor(random() * 5)],
      }));
  }

  /** What one kill did. */
  interface Kill {
    plan: KillPlan;
    /** Virtual time of death. */
    diedAt: number;
    /** The slot whose write was refused (write kills). */
    slot?: number;
    /** Analytics hours published without their manifest when the process died. */
    orphanHours: number;
  }

  let market: StandInMarket;
  let lake: string;
  const kills: Kill[] = [];
  let finalRun: Awaited<ReturnType<typeof runLocal>>;

  beforeAll(async () => {
    market = await startStandInMarket();
    lake = makeTempDir("fault-day");
    temps.push(lake);
    let start = T0 + 2 * MINUTE;
    for (const plan of planKills()) {
      // One life per process: the store and the clock die together, and the run's signal is aborted.
      const controller = new AbortController();
      const time = new VirtualClock(start * 1000, { stopAt: LAST_SLOT * 1000, controller });
      const life = new ProcessLife(() => controller.abort());
      const currentSlot = (): number => floorToSlot(Math.floor(time.now() / 1000));
      const store = new FaultyStore(new LocalObjectStore(lake), {
        life,
        plan: (op) =>
          plan.mode === op.kind && op.writeIndex !== undefined && time.now() >= plan.at * 1000 && slotOfKey(op.key) === currentSlot()
            ? "die"
            : undefined,
      });
      let armedReads = 0;
      const clock = new MortalClock(time, life, (nowMs) => {
        if (nowMs < plan.at * 1000) return false;
        if (plan.mode === "clock") return ++armedReads >= plan.clockReads;
        return plan.mode === "manifest" && hoursWithoutManifest(lake).length > 0;
      });

      const run = await runLocal({ lake, source: "live", snapshotSource: market.source, store, clock, signal: controller.signal });

      if (!life.dead)
        throw new Error(`kill ${kills.length + 1} (${JSON.stringify(plan)}) never happened; the run ended: ${run.status.slice(-1)[0]}`);
      if (run.error !== undefined && !isProcessDied(run.error)) throw run.error;
      const diedAt = Math.floor(time.now() / 1000);
      const refused = store.faults[0]?.op.key;
      kills.push({
        plan,
        diedAt,
        slot: refused === undefined ? undefined : slotOfKey(refused),
        orphanHours: hoursWithoutManifest(lake).length,
      });
      start = diedAt + plan.downtimeMinutes * MINUTE + 30;
    }
    const controller = new AbortController();
    finalRun = await runLocal({
      lake,
      source: "live",
      snapshotSource: market.source,
      clock: new VirtualClock(start * 1000, { stopAt: LAST_SLOT * 1000, controller }),
      signal: controller.signal,
    });
  }, 60_000);

  afterAll(async () => {
    await market?.standIn.close();
  });

  it("killed the process 20 times across the day, at every kind of point, and the last run reached the end of the day", () => {
    expect(kills).toHaveLength(KILLS);
    expect(MODES.map((m) => kills.filter((k) => k.plan.mode === m).length)).toEqual([4, 4, 4, 4, 4]);
    expect(kills.every((k, i) => i === 0 || k.diedAt > kills[i - 1].diedAt)).toBe(true);
    expect(kills.filter((k) => ["raw", "request", "processed"].includes(k.plan.mode)).every((k) => k.slot !== undefined)).toBe(true);
    // Every manifest kill left an hour's Parquet without its manifest (as a kill between the two does).
    expect(kills.filter((k) => k.plan.mode === "manifest").every((k) => k.orphanHours > 0)).toBe(true);
    expect(finalRun.error).toBeUndefined();
    expect(finalRun.status[finalRun.status.length - 1]).toMatch(
      /^\d\d:\d\d:\d\d stopped: \d+ ingest\(s\) \(0 failed\), \d+ transform\(s\) \(0 failed\)$/,
    );
  });

  it("every snapshot served is in the lake exactly once, no analytics row twice, nothing partial or left over, every completed hour materialised", async () => {
    const rawKilled = kills.filter((k) => k.plan.mode === "raw").map((k) => k.slot as number);

    const report = await inspectLake(lake, { served: market.served, mayBeLost: rawKilled, materialisedBefore: T0 + 23 * HOUR });

    expect(report.violations).toEqual([]);
    // Only a kill between fetching and the raw write loses a served page (the restart came in a later
    // slot); a kill after the raw page (before its record or its processed object) is finished by the
    // restart from the stored page.
    expect(rawKilled).toEqual(expect.arrayContaining(report.lost));
    expect(report).toMatchObject({ rawOnly: [], hiddenLeftovers: [] });
    const servedSlots = new Set(market.served.map((s) => s.slot));
    expect(report.complete.length + report.lost.length).toBe(servedSlots.size);
    expect(report.complete.length).toBeGreaterThan(200);
    expect(report.analyticsRows).toBe(report.complete.filter((t) => t < T0 + 23 * HOUR).length * 6);
    expect(hoursWithoutManifest(lake)).toEqual([]);
    expect(fs.existsSync(path.join(lake, LAKE_LOCK_FILE))).toBe(false);
  });
});

describe("real crypto-analytics processes SIGKILLed at random moments", () => {
  const COINS = 6;
  const random = seededRandom(7_031);

  let main: string;
  beforeAll(async () => {
    main = await cliMain();
  });
  afterAll(removeCliBuild);

  /** Starts the (transpiled) CLI in its own process, as a user's shell would. */
  function start(args: string[]): { child: ChildProcess; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
    const child = spawn(process.execPath, [main, ...args], { cwd: path.join(__dirname, ".."), stdio: "ignore" });
    return { child, exit: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))) };
  }

  /** Resolves once `ready()` holds, checking every 20 ms; rejects after `timeoutMs`. */
  async function until(ready: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Runs the CLI, waits until `started(pid)` shows it is working, lets it go on for a seeded 50-650 ms, then SIGKILLs it. */
  async function killMidway(
    args: string[],
    started: (pid: number) => boolean,
    what: string,
  ): Promise<{ signal: NodeJS.Signals | null; afterMs: number }> {
    const run = start(args);
    try {
      await until(() => started(run.child.pid ?? -1), 20_000, what);
      const afterMs = 50 + Math.floor(random() * 600);
      await new Promise((r) => setTimeout(r, afterMs));
      run.child.kill("SIGKILL");
      return { signal: (await run.exit).signal, afterMs };
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGKILL");
    }
  }

  it("simulate killed while writing half a day of history, local killed twice while it holds the lake (leaving its lock): after a full re-run the lake holds every simulated snapshot once, no row twice, nothing partial", async () => {
    // Arrange
    const lake = makeTempDir("fault-sigkill");
    temps.push(lake);
    const simulateArgs = ["simulate", "--lake", lake, "--days", "0.5", "--every", "5", "--coins", String(COINS)];

    // Act: a simulate run killed mid-history, then one completed in process.
    const simulateKill = await killMidway(simulateArgs, () => fs.existsSync(path.join(lake, "processed")), "simulate's first snapshot");
    const history = await simulateCommand({ lake, days: 0.5, everyMinutes: 5, coins: COINS });
    // Two local runs killed once they hold the lake (taking over the dead one's lock the second time): in
    // their repair, ingest or catch-up transform of the half day. The lock stays behind.
    const lockFile = path.join(lake, LAKE_LOCK_FILE);
    const lockHolder = (): string => (fs.existsSync(lockFile) ? fs.readFileSync(lockFile, "utf8").trim() : "");
    const localKills = [];
    for (let i = 0; i < 2; i++) {
      localKills.push(
        await killMidway(
          ["local", "--lake", lake, "--source", "simulate", "--coins", String(COINS), "--port", "0"],
          (pid) => lockHolder() === String(pid),
          "local to take the lake's lock",
        ),
      );
    }
    const staleLock = lockHolder();
    // The next local start takes the dead process's lock over, removes what the killed processes left in
    // .tmp/ and .staging/, finishes what is half-written and catches up.
    const final = await localCommand({
      lake,
      source: "simulate",
      coins: COINS,
      once: true,
      port: 0,
      status: () => undefined,
      logSink: () => undefined,
    });

    // Assert
    expect([simulateKill, ...localKills].map((k) => k.signal)).toEqual(["SIGKILL", "SIGKILL", "SIGKILL"]);
    expect(Number(staleLock)).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(lake, LAKE_LOCK_FILE))).toBe(false);
    expect(final.stats).toMatchObject({ ingestFailures: 0, transformFailures: 0 });
    const simulator = new MarketSimulator({ coins: COINS });
    const stored = new Set(
      fs
        .readdirSync(path.join(lake, "raw"), { recursive: true })
        .map((f) => timestampOfKey(`raw/${String(f)}`))
        .filter((t): t is number => t !== undefined),
    );
    const expected = new Set([...stored, ...Array.from({ length: history.snapshots }, (_, i) => history.from + i * SNAPSHOT_SLOT_SECONDS)]);
    const served: ServedPage[] = [...expected].map((slot) => ({ slot, page: 1, body: simulator.snapshotAt(slot).pages[0].body }));
    const report = await inspectLake(lake, { served, materialisedBefore: Number.MAX_SAFE_INTEGER });
    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({ rawOnly: [], lost: [], hiddenLeftovers: [] });
    expect(report.complete).toEqual([...expected].sort((a, b) => a - b));
    expect(report.complete.length).toBeGreaterThanOrEqual(history.snapshots);
    expect(report.analyticsRows).toBe(report.complete.length * COINS);
  }, 60_000);
});
