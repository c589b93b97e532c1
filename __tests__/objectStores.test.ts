import { S3Client } from "@aws-sdk/client-s3";
import * as fs from "fs";
import * as path from "path";
import { inFlightName, inFlightOwner, LOCAL_TEMP_DIR, LocalObjectStore } from "../functions/localObjectStore";
import { ObjectStore } from "../functions/objectStore";
import { S3ObjectStore } from "../functions/s3ObjectStore";
import { AwsStandIn, StandInResponse, StandInRoute, STAND_IN_REGION, startAwsStandIn } from "./helpers/awsStandIn";
import { makeTempDir, removeTempDir } from "./helpers/factories";

const BUCKET = "archive-bucket";
const KEY = "raw/year=2024/month=9/day=3/hour=7/1725346800.json";

/** A store under test and how to dispose of it. */
interface Harness {
  store: ObjectStore;
  close(): Promise<void>;
}

async function s3Harness(
  options: { routes?: StandInRoute[]; listPageSize?: number } = {},
): Promise<Harness & { standIn: AwsStandIn; s3: S3ObjectStore }> {
  const standIn = await startAwsStandIn(options);
  standIn.buckets.set(BUCKET, new Map());
  // No forcePathStyle: an IP endpoint must make the SDK address the bucket in the path by itself.
  const client = new S3Client({
    region: STAND_IN_REGION,
    endpoint: standIn.url,
    credentials: { accessKeyId: "AKIDSTANDIN", secretAccessKey: "stand-in-secret" },
  });
  const s3 = new S3ObjectStore(client, BUCKET, { conflictRetryDelayMs: 1 });
  return {
    standIn,
    s3,
    store: s3,
    close: async () => {
      client.destroy();
      await standIn.close();
    },
  };
}

async function localHarness(): Promise<Harness & { root: string }> {
  const root = makeTempDir("local-store");
  return { root, store: new LocalObjectStore(root), close: async () => removeTempDir(root) };
}

function s3ErrorResponse(status: number, code: string, message: string): StandInResponse {
  return {
    status,
    headers: { "content-type": "application/xml" },
    body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>stand-in</RequestId></Error>`,
  };
}

const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8"));

describe.each([
  ["LocalObjectStore", localHarness],
  ["S3ObjectStore", () => s3Harness()],
] as [string, () => Promise<Harness>][])("%s behaves as an ObjectStore", (_name, makeHarness) => {
  let harness: Harness;
  beforeEach(async () => {
    harness = await makeHarness();
  });
  afterEach(async () => {
    await harness.close();
  });

  it("writes a new key once and leaves it alone afterwards", async () => {
    const { store } = harness;
    expect(await store.putIfAbsent(KEY, "first", { contentType: "application/json" })).toBe("written");
    expect(await store.putIfAbsent(KEY, "second", { contentType: "application/json" })).toBe("exists");
    expect(text(await store.get(KEY))).toBe("first");
  });

  it("keeps binary bytes exactly", async () => {
    const bytes = new Uint8Array(Array.from({ length: 256 }, (_, i) => i));
    await harness.store.putIfAbsent("processed/x.ndjson.gz", bytes);
    expect(Buffer.from((await harness.store.get("processed/x.ndjson.gz"))!).equals(Buffer.from(bytes))).toBe(true);
  });

  it("replaces with put", async () => {
    await harness.store.put("manifests/transform/a.json", "v1");
    await harness.store.put("manifests/transform/a.json", "v2");
    expect(text(await harness.store.get("manifests/transform/a.json"))).toBe("v2");
  });

  it("answers undefined for a missing key", async () => {
    expect(await harness.store.get("raw/missing.json")).toBeUndefined();
  });

  it("lists keys under a prefix, sorted", async () => {
    const keys = [
      "raw/year=2024/month=9/day=3/hour=7/1725346800.json",
      "raw/year=2024/month=9/day=3/hour=7/1725347100.json",
      "raw/year=2024/month=9/day=3/hour=8/1725350400.json",
      "processed/year=2024/month=9/day=3/hour=7/1725346800.ndjson.gz",
      "raw/year=2024/month=10/day=1/hour=0/1727740800.json",
    ];
    for (const key of [...keys].reverse()) await harness.store.putIfAbsent(key, key);

    expect(await harness.store.list("raw/year=2024/month=9/")).toEqual([keys[0], keys[1], keys[2]]);
    expect(await harness.store.list("raw/year=2024/month=9/day=3/hour=7/17253471")).toEqual([keys[1]]);
    expect(await harness.store.list("")).toEqual([...keys].sort());
    expect(await harness.store.list("analytics/")).toEqual([]);
  });

  it("lets exactly one of many concurrent writers win", async () => {
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => harness.store.putIfAbsent(KEY, `writer-${i}`)));
    const winners = outcomes.flatMap((o, i) => (o === "written" ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(text(await harness.store.get(KEY))).toBe(`writer-${winners[0]}`);
  });
});

describe("LocalObjectStore", () => {
  let root: string;
  let store: LocalObjectStore;
  beforeEach(() => {
    root = makeTempDir("local-store");
    store = new LocalObjectStore(root);
  });
  afterEach(() => removeTempDir(root));

  it("stores keys as relative paths and leaves no temporary file behind", async () => {
    await store.putIfAbsent(KEY, "a");
    await store.putIfAbsent(KEY, "b");
    await store.put("manifests/transform/m.json", "c");
    expect(fs.readFileSync(path.join(root, ...KEY.split("/")), "utf8")).toBe("a");
    expect(fs.readdirSync(path.join(root, LOCAL_TEMP_DIR))).toEqual([]);
  });

  describe("a write failing halfway (disk full)", () => {
    afterEach(() => jest.restoreAllMocks());

    it.each(["putIfAbsent", "put"] as const)(
      "%s throws the disk's error, deletes its temporary file (named after this process) and leaves no key",
      async (method) => {
        // Arrange: the temporary file gets half its bytes, then ENOSPC.
        const open = fs.promises.open;
        const temps: string[] = [];
        jest.spyOn(fs.promises, "open").mockImplementation(async (file, flags, mode) => {
          const handle = await open(file, flags, mode);
          temps.push(String(file));
          handle.writeFile = async (data) => {
            await handle.write(Buffer.from(data as Uint8Array).subarray(0, 2));
            throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
          };
          return handle;
        });

        // Act
        await expect(store[method](KEY, "four")).rejects.toThrow("ENOSPC: no space left on device");

        // Assert
        expect(temps.map((t) => path.relative(root, t).split(path.sep)[0])).toEqual([LOCAL_TEMP_DIR]);
        expect(inFlightOwner(path.basename(temps[0]))).toBe(process.pid);
        expect(fs.readdirSync(path.join(root, LOCAL_TEMP_DIR))).toEqual([]);
        expect(await store.get(KEY)).toBeUndefined();
      },
    );
  });

  it.each([
    ["a fresh in-flight name: this process", inFlightName(), process.pid],
    ["pid 123's name: 123", "123-0f8fad5b-d9cb-469f-a165-70867728950e", 123],
    ["a name without a pid: none", "partial", undefined],
    ["pid 0 (no process): none", "0-0f8fad5b-d9cb-469f-a165-70867728950e", undefined],
    ["a pid without a whole UUID: none", "123-0f8fad5b", undefined],
  ])("the writer of %s", (_what, name, pid) => {
    expect(inFlightOwner(name)).toBe(pid);
  });

  it("never lists an in-flight temporary file", async () => {
    fs.mkdirSync(path.join(root, LOCAL_TEMP_DIR), { recursive: true });
    fs.writeFileSync(path.join(root, LOCAL_TEMP_DIR, "partial"), "half a file");
    await store.putIfAbsent(KEY, "a");
    expect(await store.list("")).toEqual([KEY]);
  });

  it.each(["../escape.json", "/etc/passwd", "raw//x.json", "raw/./x.json", `${LOCAL_TEMP_DIR}/x`, "raw\\x.json", ""])(
    "refuses the key %j",
    async (key) => {
      await expect(store.putIfAbsent(key, "x")).rejects.toThrow(/invalid object key/);
      await expect(store.get(key)).rejects.toThrow(/invalid object key/);
      expect(fs.existsSync(path.join(root, "..", "escape.json"))).toBe(false);
    },
  );
});

describe("S3ObjectStore requests", () => {
  it("writes conditionally, path-style, with the given content type", async () => {
    const h = await s3Harness();
    try {
      await h.store.putIfAbsent(KEY, "{}", { contentType: "application/json" });
      await h.store.put("manifests/transform/m.json", "{}");

      const [conditional, plain] = h.standIn.ops("PutObject");
      expect(decodeURIComponent(new URL(conditional.url, "http://x").pathname)).toBe(`/${BUCKET}/${KEY}`);
      expect(conditional.headers["if-none-match"]).toBe("*");
      expect(conditional.headers["content-type"]).toBe("application/json");
      expect(conditional.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
      expect(plain.headers["if-none-match"]).toBeUndefined();
      expect(h.standIn.buckets.get(BUCKET)!.get(KEY)!.body.toString("utf8")).toBe("{}");
    } finally {
      await h.close();
    }
  });

  it("follows ListObjectsV2 continuation tokens", async () => {
    const h = await s3Harness({ listPageSize: 2 });
    try {
      const keys = ["raw/a", "raw/b", "raw/c", "raw/d", "raw/e"];
      for (const k of keys) h.standIn.buckets.get(BUCKET)!.set(k, { body: Buffer.from(k) });

      expect(await h.store.list("raw/")).toEqual(keys);
      const lists = h.standIn.ops("ListObjectsV2").map((r) => new URL(r.url, "http://x").searchParams);
      expect(lists.map((p) => p.get("continuation-token"))).toEqual([null, "raw/b", "raw/d"]);
      expect(lists.every((p) => p.get("prefix") === "raw/")).toBe(true);
    } finally {
      await h.close();
    }
  });

  describe("409 ConditionalRequestConflict is retried", () => {
    function conflicts(count: number): StandInRoute {
      let left = count;
      return (r) =>
        r.operation === "PutObject" && left-- > 0
          ? s3ErrorResponse(
              409,
              "ConditionalRequestConflict",
              "A conflicting conditional operation is currently in progress against this resource.",
            )
          : undefined;
    }

    it("and writes when the conflicting write went away", async () => {
      const h = await s3Harness({ routes: [conflicts(2)] });
      try {
        expect(await h.store.putIfAbsent(KEY, "mine")).toBe("written");
        expect(h.standIn.ops("PutObject")).toHaveLength(3);
      } finally {
        await h.close();
      }
    });

    it("and resolves exists when the other writer won", async () => {
      const h = await s3Harness({ routes: [conflicts(1)] });
      h.standIn.buckets.get(BUCKET)!.set(KEY, { body: Buffer.from("theirs") });
      try {
        expect(await h.store.putIfAbsent(KEY, "mine")).toBe("exists");
        expect(h.standIn.ops("PutObject")).toHaveLength(2);
        expect(h.standIn.buckets.get(BUCKET)!.get(KEY)!.body.toString("utf8")).toBe("theirs");
      } finally {
        await h.close();
      }
    });

    it("and throws a clear error when the conflict persists", async () => {
      const h = await s3Harness({ routes: [conflicts(100)] });
      try {
        await expect(h.store.putIfAbsent(KEY, "mine")).rejects.toThrow(
          `s3://${BUCKET}/${KEY}: conditional write still conflicted with a concurrent write (HTTP 409 ConditionalRequestConflict) after 3 retries`,
        );
        expect(h.standIn.ops("PutObject")).toHaveLength(4);
      } finally {
        await h.close();
      }
    });
  });

  it("passes other errors through", async () => {
    const h = await s3Harness({
      routes: [(r) => (r.operation === "PutObject" ? s3ErrorResponse(403, "AccessDenied", "Access Denied") : undefined)],
    });
    try {
      await expect(h.store.putIfAbsent(KEY, "x")).rejects.toMatchObject({ name: "AccessDenied" });
      expect(h.standIn.ops("PutObject")).toHaveLength(1);
    } finally {
      await h.close();
    }
  });
});
