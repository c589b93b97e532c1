/**
 * Ingest per snapshot: a real 250-coin CoinGecko page (the recorded fixture) replayed by the loopback
 * CoinGecko stand-in, fetched by the real client and written by runIngest into a LocalObjectStore. The
 * source and the store are wrapped with timers, so one run splits into the fetch (loopback HTTP, the
 * client's parsing of nothing but bytes) and our own work (validation, parsing, normalisation, NDJSON,
 * gzip, digests, logs, metrics and the writes), of which the object-store calls are reported too.
 */
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createCoinGeckoSource } from "../functions/coingeckoClient";
import { runIngest, SnapshotSource } from "../functions/ingest";
import { LocalObjectStore } from "../functions/localObjectStore";
import { ObjectStore } from "../functions/objectStore";
import { LAKE_PREFIXES, SNAPSHOT_SLOT_SECONDS } from "../functions/partitions";
import { createLogger, createMetrics } from "../functions/telemetry";
import { startCoinGeckoStandIn } from "../__tests__/helpers/coingeckoStandIn";
import { fixtureBytes, fixturePage } from "../__tests__/helpers/factories";
import { folderBytes } from "./lakes";
import { Figure, nowMs, single, summarize, timeRuns } from "./stats";

/** The recorded page every run replays: CoinGecko's top 250 by market cap. */
export const INGEST_FIXTURE = "cgdata-page1-250.json";

/** Slot of the first run (2024-09-03T07:00Z); each run takes the next slot, so every run writes new objects. */
const FIRST_SLOT = 1_725_346_800;

/** Options of {@link measureIngest}. */
export interface IngestBenchOptions {
  /** Timed runs. */
  runs: number;
  /** Untimed runs before them. */
  warmup: number;
}

/** Result of {@link measureIngest}: the figures and the median own work, for the target. */
export interface IngestBench {
  figures: Figure[];
  /** Median of our own work per snapshot, ms. */
  ownWorkMedianMs: number;
}

/** Times `runs` ingests of the fixture page through the loopback stand-in into a temporary folder. */
export async function measureIngest(options: IngestBenchOptions): Promise<IngestBench> {
  const standIn = await startCoinGeckoStandIn({ fallback: fixturePage(INGEST_FIXTURE) });
  const lake = await fs.mkdtemp(path.join(os.tmpdir(), "bench-ingest-"));
  try {
    const timing = { fetchMs: 0, storeMs: 0 };
    const client = createCoinGeckoSource({ plan: "keyless", baseUrl: standIn.baseUrl, topN: 250 });
    const source: SnapshotSource = async (slot) => {
      const start = nowMs();
      try {
        return await client(slot);
      } finally {
        timing.fetchMs = nowMs() - start;
      }
    };
    const store = timedStore(new LocalObjectStore(lake), timing);
    const logger = createLogger("bench-ingest", { sink: () => undefined });
    const metrics = createMetrics("bench", { sink: () => undefined });

    const fetch: number[] = [];
    const own: number[] = [];
    const writes: number[] = [];
    const totals: number[] = [];
    await timeRuns(
      options.runs,
      async (i) => {
        timing.storeMs = 0;
        const start = nowMs();
        const result = await runIngest({
          store,
          source,
          scheduledTime: (FIRST_SLOT + i * SNAPSHOT_SLOT_SECONDS) * 1000,
          vsCurrency: "usd",
          logger,
          metrics,
        });
        const total = nowMs() - start;
        if (result.status !== "written" || result.coins !== 250)
          throw new Error(`ingest run ${i} wrote ${result.coins} coins (${result.status}); expected 250, written`);
        if (i < options.warmup) return;
        totals.push(total);
        fetch.push(timing.fetchMs);
        own.push(total - timing.fetchMs);
        writes.push(timing.storeMs);
      },
      options.warmup,
    );
    const snapshots = options.warmup + options.runs;
    const raw = await folderBytes(path.join(lake, LAKE_PREFIXES.raw));
    const processed = await folderBytes(path.join(lake, LAKE_PREFIXES.processed));
    const ownWork = summarize("ingest: own work per snapshot (parse, normalise, gzip, writes)", "ms", own);
    return {
      ownWorkMedianMs: ownWork.median,
      figures: [
        summarize("ingest: whole run per 250-coin snapshot", "ms", totals),
        summarize("ingest: fetch from the loopback stand-in", "ms", fetch),
        ownWork,
        summarize("ingest: of which object-store calls (local folder, fsync'd)", "ms", writes),
        single("ingest: page size from the API (fixture)", "bytes", fixtureBytes(INGEST_FIXTURE).length),
        single("ingest: bytes written to raw/ per snapshot (page + request record)", "bytes", raw.bytes / snapshots),
        single("ingest: bytes written to processed/ per snapshot (NDJSON.gz)", "bytes", processed.bytes / snapshots),
      ],
    };
  } finally {
    await standIn.close();
    await fs.rm(lake, { recursive: true, force: true });
  }
}

/** The store with the wall time of every call added to `timing.storeMs`. */
function timedStore(store: ObjectStore, timing: { storeMs: number }): ObjectStore {
  const timed = async <T>(call: () => Promise<T>): Promise<T> => {
    const start = nowMs();
    try {
      return await call();
    } finally {
      timing.storeMs += nowMs() - start;
    }
  };
  return {
    putIfAbsent: (key, body, options) => timed(() => store.putIfAbsent(key, body, options)),
    put: (key, body, options) => timed(() => store.put(key, body, options)),
    get: (key) => timed(() => store.get(key)),
    list: (prefix) => timed(() => store.list(prefix)),
  };
}
