/**
 * What makes a folder a lake (cli/lakeFolder.ts), and the write commands that start one: `simulate` and
 * `local --once` start a lake in a missing or empty folder, add to an existing one, and refuse a folder of
 * other files before writing anything into it.
 */
import * as fs from "fs";
import * as path from "path";
import { lakeMarkers, requireLake, requireLakeOrNew } from "../local/lakeFolder";
import { localCommand } from "../cli/localCommand";
import { simulateCommand } from "../cli/simulateCommand";
import { tempDirsRemovedAfterAll } from "./helpers/factories";

const tempDir = tempDirsRemovedAfterAll();

/** A folder holding exactly `entries` (names ending in / are folders). */
function folderWith(...entries: string[]): string {
  const dir = path.join(tempDir("lake-folder"), "lake");
  fs.mkdirSync(dir);
  for (const entry of entries) {
    if (entry.endsWith("/")) fs.mkdirSync(path.join(dir, entry));
    else fs.writeFileSync(path.join(dir, entry), "x\n");
  }
  return dir;
}

describe("requireLake and requireLakeOrNew", () => {
  it.each(["raw/", "processed/", "analytics/", ".local.lock", ".tmp/", ".staging/"])(
    "a folder holding %s (and other files) is a lake for both",
    (marker) => {
      const dir = folderWith(marker, "notes.txt");
      expect(() => requireLake(dir)).not.toThrow();
      expect(() => requireLakeOrNew(dir)).not.toThrow();
    },
  );

  it("the markers are the three data folders, local's lock and the working folders a killed process may leave", () => {
    expect(lakeMarkers().sort()).toEqual([".local.lock", ".staging", ".tmp", "analytics", "processed", "raw"]);
  });

  it.each([
    ["a missing folder", () => path.join(tempDir("lake-folder"), "absent")],
    ["an empty folder", () => folderWith()],
  ])("%s is no lake to read, but a place to start one", (_case, folder) => {
    const dir = folder();
    expect(() => requireLake(dir)).toThrow(/ is not a lake: /);
    expect(() => requireLakeOrNew(dir)).not.toThrow();
  });

  it("a folder of other files is neither, even with a marker's name as a file inside a subfolder", () => {
    const dir = folderWith("notes.txt", "src/");
    fs.writeFileSync(path.join(dir, "src", "raw"), "x\n");
    expect(() => requireLake(dir)).toThrow(`${dir} is not a lake: a lake holds raw/, processed/, analytics/ and it holds none of them`);
    expect(() => requireLakeOrNew(dir)).toThrow(
      `${dir} is not a lake and not empty: a lake holds raw/, processed/, analytics/; pass a new or empty folder to start one`,
    );
  });
});

describe("write commands start a lake only where one belongs", () => {
  const simulate = (lake: string) => simulateCommand({ lake, days: 0.1, coins: 4, everyMinutes: 60 });
  const localOnce = (lake: string) =>
    localCommand({
      lake,
      source: "simulate",
      coins: 4,
      backfillDays: 0,
      once: true,
      port: 0,
      status: () => undefined,
      logSink: () => undefined,
    });

  describe.each([
    ["simulate", simulate, [".tmp", "processed", "raw"]],
    ["local --once", localOnce, [".staging", ".tmp", "analytics", "dashboard.html", "manifests", "processed", "raw"]],
  ] as const)("%s", (_command, write, written) => {
    it.each([
      ["a missing folder", () => path.join(tempDir("lake-folder"), "new-lake")],
      ["an empty folder", () => folderWith()],
    ])("starts a lake in %s", async (_case, folder) => {
      const lake = folder();

      await write(lake);

      expect(fs.readdirSync(lake).sort()).toEqual(written);
      expect(() => requireLake(lake)).not.toThrow();
    });

    it("adds to an existing lake, leaving the user's other files in it", async () => {
      const lake = folderWith("processed/", "README.txt");

      await write(lake);

      expect(fs.readdirSync(lake).sort()).toEqual([...written, "README.txt"].sort());
    });

    it("refuses a folder of other files and writes nothing into it", async () => {
      const lake = folderWith("notes.txt");

      await expect(write(lake)).rejects.toThrow(`${lake} is not a lake and not empty`);

      expect(fs.readdirSync(lake)).toEqual(["notes.txt"]);
    });
  });
});
