/**
 * The object store of local mode: a folder whose relative paths are the lake keys, laid out exactly like
 * the S3 bucket. Writes are atomic: the bytes go to a temporary file under `<root>/.tmp/` (outside the data
 * tree, so readers globbing `raw/` or `processed/` never see a partial file), are flushed to disk, then
 * appear under their key in one step. A write that fails deletes its temporary file; one a killed process
 * leaves behind carries that process's pid in its name ({@link inFlightName}), so a later process can tell
 * it is abandoned.
 */
import { randomUUID } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { ObjectStore, PutIfAbsentResult } from "./objectStore";

/** Folder under the root that holds in-flight temporary files; never listed, never a valid key. */
export const LOCAL_TEMP_DIR = ".tmp";

/** `<pid>-<uuid>`: a name given by {@link inFlightName}. */
const IN_FLIGHT_NAME = /^([1-9]\d*)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A fresh name for an in-flight temporary file or staging folder, `<pid>-<uuid>`: unique, and naming the
 * process that writes it, so a clean-up can leave a running writer's files alone.
 */
export function inFlightName(): string {
  return `${process.pid}-${randomUUID()}`;
}

/** The pid of the process that named an entry with {@link inFlightName}; undefined for any other name. */
export function inFlightOwner(name: string): number | undefined {
  const m = IN_FLIGHT_NAME.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/**
 * A folder as an {@link ObjectStore}. `putIfAbsent` links the finished temporary file to its key, which
 * fails if the key exists, so of two concurrent writers exactly one wins. Content type and encoding are
 * not stored (a folder has no metadata).
 */
export class LocalObjectStore implements ObjectStore {
  /** Absolute path of the lake folder. */
  readonly rootDir: string;

  /** @param rootDir the lake folder; created on first write. */
  constructor(rootDir: string) {
    this.rootDir = path.resolve(rootDir);
  }

  /** Writes the key only if no file has it; resolves `exists` and leaves the file alone otherwise. */
  async putIfAbsent(key: string, body: Uint8Array | string): Promise<PutIfAbsentResult> {
    const target = this.pathOf(key);
    const temp = await this.writeTemp(body);
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.link(temp, target);
      return "written";
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return "exists";
      throw err;
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  /** Writes or atomically replaces the key. */
  async put(key: string, body: Uint8Array | string): Promise<void> {
    const target = this.pathOf(key);
    const temp = await this.writeTemp(body);
    try {
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.rename(temp, target);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
  }

  /** The file's bytes, or undefined when the key does not exist. */
  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await fs.readFile(this.pathOf(key)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /** Every key starting with `prefix`, sorted; the temporary folder is never walked. */
  async list(prefix: string): Promise<string[]> {
    // Walk only the deepest folder the prefix names completely.
    const slash = prefix.lastIndexOf("/");
    const startKey = slash < 0 ? "" : prefix.slice(0, slash);
    if (startKey !== "") this.pathOf(startKey);
    const keys: string[] = [];
    await this.walk(startKey, keys);
    return keys.filter((k) => k.startsWith(prefix)).sort();
  }

  private async walk(dirKey: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dirKey === "" ? this.rootDir : path.join(this.rootDir, ...dirKey.split("/")), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw err;
    }
    for (const entry of entries) {
      if (dirKey === "" && entry.name === LOCAL_TEMP_DIR) continue;
      const key = dirKey === "" ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) await this.walk(key, out);
      else if (entry.isFile()) out.push(key);
    }
  }

  /** Writes the bytes to a fresh temporary file, flushed to disk, and returns its path; deletes it if any step fails. */
  private async writeTemp(body: Uint8Array | string): Promise<string> {
    const dir = path.join(this.rootDir, LOCAL_TEMP_DIR);
    await fs.mkdir(dir, { recursive: true });
    const temp = path.join(dir, inFlightName());
    const handle = await fs.open(temp, "wx");
    try {
      try {
        await handle.writeFile(body);
        // Without the flush a crash could leave the key pointing at an empty file.
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      // The write's own error is the one to report; a temporary file that cannot be deleted either is
      // removed by a `local` start after this process has ended.
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw err;
    }
    return temp;
  }

  /** The file path of a key; refuses keys that would escape the root or touch the temporary folder. */
  private pathOf(key: string): string {
    const segments = key.split("/");
    const bad =
      key === "" ||
      key.includes("\\") ||
      key.includes("\0") ||
      segments.some((s) => s === "" || s === "." || s === "..") ||
      segments[0] === LOCAL_TEMP_DIR;
    if (bad)
      throw new Error(
        `invalid object key ${JSON.stringify(key)}: use "/"-separated names without empty, "." or ".." parts, outside ${LOCAL_TEMP_DIR}/`,
      );
    return path.join(this.rootDir, ...segments);
  }
}
