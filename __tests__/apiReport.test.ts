/**
 * The package's public surface is deliberate: the entry exports names, never whole modules, and what it
 * exports is recorded in api/crypto-analytics-pipeline.api.md by API Extractor. A change to any exported
 * name, type or signature fails here until the report is updated (`npm run api`) and reviewed with it.
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";
import { libraryDeclarations } from "./helpers/distBuild";

const REPO = path.join(__dirname, "..");
const REPORT = path.join(REPO, "api", "crypto-analytics-pipeline.api.md");

// Emitting declarations takes tsc a while when dist/ is not fresh.
jest.setTimeout(240_000);

test("the library entry exports by name only (no `export *`)", () => {
  const entry = fs.readFileSync(path.join(REPO, "components", "index.ts"), "utf8");
  expect(entry).not.toMatch(/export \*/);
  expect(entry).toMatch(/export \{[^}]*CryptoAnalyticsPipeline,/);
});

test("the public API equals the committed report", () => {
  const declarations = libraryDeclarations();
  const scratch = path.join(REPO, ".scratch-api");
  fs.mkdirSync(scratch, { recursive: true });
  // The committed config, pointed at these declarations; its report goes to .scratch-api/report/.
  const config = path.join(scratch, "api-extractor.json");
  fs.writeFileSync(
    config,
    JSON.stringify({
      extends: path.join(REPO, "api-extractor.json"),
      projectFolder: REPO,
      mainEntryPointFilePath: path.join(declarations, "components", "index.d.ts"),
    }),
  );
  // In a child process, as `npm run api` runs it: the extractor's TypeScript program then never outlives
  // this test inside the jest worker.
  const run = spawnSync(
    process.execPath,
    [path.join(REPO, "node_modules", "@microsoft", "api-extractor", "bin", "api-extractor"), "run", "--config", config],
    {
      cwd: REPO,
      encoding: "utf8",
    },
  );
  const produced = fs.readFileSync(path.join(scratch, "report", "crypto-analytics-pipeline.api.md"), "utf8");
  const committed = fs.existsSync(REPORT) ? fs.readFileSync(REPORT, "utf8") : "";
  if (produced !== committed) {
    throw new Error("The public API changed; run `npm run api`, review api/crypto-analytics-pipeline.api.md and commit it.");
  }
  // Warnings (a forgotten export, an unresolved link) are problems of the surface too.
  const output = `${run.stdout}${run.stderr}`;
  expect(output.split("\n").filter((line) => /warning|error/i.test(line))).toEqual([]);
  expect(run.status).toBe(0);
});
