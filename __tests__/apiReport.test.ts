/**
 * The package's public surface is deliberate: the entry exports names, never whole modules, and what it
 * exports is recorded in api/crypto-analytics-pipeline.api.md by API Extractor. A change to any exported
 * name, type or signature fails here until the report is updated (`npm run api`) and reviewed with it.
 */
import * as fs from "fs";
import * as path from "path";
import { Extractor, ExtractorConfig, ExtractorMessage } from "@microsoft/api-extractor";
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
  const loaded = ExtractorConfig.loadFile(path.join(REPO, "api-extractor.json"));
  const config = ExtractorConfig.prepare({
    configObject: { ...loaded, projectFolder: REPO, mainEntryPointFilePath: path.join(declarations, "components", "index.d.ts") },
    configObjectFullPath: path.join(REPO, "api-extractor.json"),
    packageJsonFullPath: path.join(REPO, "package.json"),
  });
  const problems: string[] = [];
  const result = Extractor.invoke(config, {
    localBuild: false,
    messageCallback: (message: ExtractorMessage) => {
      // Warnings (a forgotten export, an unresolved link) are problems of the surface too.
      if (message.logLevel === "error" || message.logLevel === "warning") problems.push(`${message.messageId}: ${message.text}`);
      message.handled = true;
    },
  });
  const produced = fs.readFileSync(config.reportTempFilePath, "utf8");
  const committed = fs.existsSync(REPORT) ? fs.readFileSync(REPORT, "utf8") : "";
  if (produced !== committed) {
    throw new Error(`The public API changed; run \`npm run api\`, review api/crypto-analytics-pipeline.api.md and commit it.`);
  }
  expect(problems.filter((p) => !p.startsWith("console-"))).toEqual([]);
  expect(result.apiReportChanged).toBe(false);
});
