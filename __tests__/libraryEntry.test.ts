/**
 * The library entry must be cheap and inert to import: consumers import it from their own Pulumi
 * programs, and a resource created at import time, or DuckDB's native binding loaded at import time,
 * would be a side effect they never asked for.
 */
import { execFileSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

/** Requires the library entry in a fresh Node process (outside any Pulumi engine) and reports what loaded. */
function importInFreshProcess(): { exports: string[]; duckdbModules: number; pulumiRuntime: boolean } {
  const script = `
    const lib = require("./components");
    const loaded = Object.keys(require.cache);
    process.stdout.write(JSON.stringify({
      exports: Object.keys(lib).sort(),
      duckdbModules: loaded.filter((k) => k.includes("@duckdb")).length,
      pulumiRuntime: loaded.some((k) => k.includes("@pulumi/pulumi")),
    }));`;
  const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: ROOT, encoding: "utf8" });
  return JSON.parse(out);
}

describe("library entry (components/index.ts)", () => {
  const result = importInFreshProcess();

  test("imports outside a Pulumi program without creating a resource (which would throw there)", () => {
    expect(result.pulumiRuntime).toBe(true);
    expect(result.exports).toEqual(expect.arrayContaining(["IngestLake", "AnalyticsLayer"]));
  });

  test("does not load DuckDB's native binding", () => {
    expect(result.duckdbModules).toBe(0);
  });
});
