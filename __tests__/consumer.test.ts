/**
 * The library as another project gets it: `npm pack` this repository, install the tarball into a copy of
 * a minimal separate Pulumi program (fixtures/consumer: a TypeScript project like `pulumi new typescript`
 * makes, with its own @pulumi/pulumi and typescript), type-check the program against the packed
 * declarations, and run it under Pulumi mocks in a child process from its own folder, as `pulumi up`
 * would. Then, for each Lambda function it created: the code archive is one bundled `__index.js` holding
 * the library's handler modules from the installed package (and the HTTP client only where it is used) and
 * no AWS SDK, Smithy, DuckDB or Pulumi module, fits the zip budget, and loads in a fresh Node process from a
 * folder holding exactly the archive's files, with only the AWS SDK (as the nodejs22.x runtime provides it)
 * on the module path.
 *
 * Two shortcuts keep this under a minute without changing what is proven:
 * - The pack runs `prepack` (a full build) only when dist/ is older than what it is built from, as make
 *   would judge; CI has just built it. A test below holds `prepack` to building, so no pack is unbuilt.
 * - The consumer's node_modules starts as hard links to the packages this repository's lockfile installs
 *   for production, instead of npm writing ~40,000 files (400 MB) out of its cache. `npm install` of the
 *   tarball still resolves the tarball's own dependencies: it adds what they need and the seed lacks, and
 *   removes every package they do not need, so a dependency the library uses without declaring it still
 *   fails the consumer; `npm ls` then proves the tree is exactly what the declarations resolve to.
 *
 * The consumer asks for `@pulumi/pulumi@^3`, as a new project gets the SDK, so npm's engine-aware
 * resolution installs the newest 3.x whose `engines` the running Node satisfies (3.248.0 on Node 20, newer
 * on 22 and 24, which the CI smoke runs this test on); the library's caret ranges must then let every
 * package share that one copy. Everything else comes from the npm cache of this machine (from `npm ci`);
 * a newer SDK than the lockfile's comes from the npm registry.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as semver from "semver";
import { bundledPackages, filesOf, indexText, ZIP_BUDGET_BYTES, zippedSize } from "./helpers/functionZip";
import { distIsFresh } from "./helpers/distBuild";
import { makeTempDir, removeTempDir } from "./helpers/factories";

// Pack (a full build when dist/ is stale), install, type-check and a mocked deployment with two serialized functions.
jest.setTimeout(240_000);

const REPO = path.resolve(__dirname, "..");
const FIXTURE = path.join(__dirname, "fixtures", "consumer");
/** Git-ignored output of the tests (screenshots, timings). */
const ARTIFACTS = path.join(__dirname, "artifacts");
const PACKAGE = "crypto-analytics-pipeline";
/** What the consumer asks for, as `npm install @pulumi/pulumi` writes it into a new project: the current major. */
const PULUMI_SDK_SPEC = "@pulumi/pulumi@^3";
/** Pulumi's packages a program must hold once: two copies of the SDK keep two separate runtimes and resource registries. */
const PULUMI_PACKAGES = ["@pulumi/pulumi", "@pulumi/aws", "@pulumi/aws-native"];
/** Packages that must never be bundled into a function archive. */
const FORBIDDEN = /^(@aws-sdk\/|@smithy\/|@aws\/|@pulumi\/|@duckdb\/|@kurkle\/|chart\.js$|commander$|playwright-core$|typescript$)/;

/** A package in `npm ls --all --long --json`'s tree; the root also carries the tree's problems. */
interface NpmLsNode {
  version?: string;
  /** The package's folder; a deduped reference names the same folder as the copy it refers to. */
  path?: string;
  dependencies?: Record<string, NpmLsNode>;
  problems?: string[];
}
/** One version in `npm view <package>@<range> version engines deprecated --json`. */
interface RegistryVersion {
  version: string;
  engines?: { node?: string };
  deprecated?: string;
}
interface RunnerReport {
  resources: { type: string; name: string }[];
  exports: Record<string, unknown>;
  functions: Record<string, { environment: Record<string, string>; archive: Record<string, { text?: string }> }>;
}

/** The environment of child commands: this process's, without the npm_* variables `npx jest` sets. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_")));
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 180_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(" ")} failed in ${cwd}: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Recreates `source` at `target` with a hard link per file (a copy where links cannot cross file systems). */
function linkTree(source: string, target: string): void {
  fs.mkdirSync(target, { recursive: true });
  for (const entry of fs.readdirSync(source, { withFileTypes: true })) {
    const [from, to] = [path.join(source, entry.name), path.join(target, entry.name)];
    if (entry.isDirectory()) linkTree(from, to);
    else if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(from), to);
    else {
      try {
        fs.linkSync(from, to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
        fs.copyFileSync(from, to);
      }
    }
  }
}

/**
 * Seeds `project`'s node_modules with this repository's production packages (every top-level lockfile
 * entry not marked dev that is installed here), so `npm install` keeps what the tarball's dependencies
 * resolve to and unpacks only the rest. Returns how many packages it seeded.
 */
function seedNodeModules(project: string): number {
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  const topLevel = Object.entries(lock.packages).filter(
    ([key, entry]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key) && entry.dev !== true && entry.devOptional !== true,
  );
  const installed = topLevel.map(([key]) => key).filter((key) => fs.existsSync(path.join(REPO, key)));
  for (const key of installed) linkTree(path.join(REPO, key), path.join(project, key));
  return installed.length;
}

/**
 * The newest non-deprecated release in {@link PULUMI_SDK_SPEC} whose `engines.node` admits this Node: what
 * npm's engine-aware resolution should have installed, computed independently from the registry.
 */
async function newestSdkForThisNode(): Promise<string> {
  const versions = JSON.parse(
    await run("npm", ["view", PULUMI_SDK_SPEC, "version", "engines", "deprecated", "--json"], REPO),
  ) as RegistryVersion[];
  const fitting = versions
    .filter((v) => v.deprecated === undefined && semver.prerelease(v.version) === null)
    .filter((v) => v.engines?.node === undefined || semver.satisfies(process.version, v.engines.node))
    .map((v) => v.version);
  const newest = semver.maxSatisfying(fitting, "*");
  if (newest === null) throw new Error(`no release in ${PULUMI_SDK_SPEC} supports Node ${process.version}`);
  return newest;
}

/** Every folder in the tree holding a package named `name`, each once (deduped references included once). */
function copiesOf(tree: NpmLsNode, name: string): { path: string; version: string }[] {
  const found = new Map<string, string>();
  const visit = (node: NpmLsNode): void => {
    for (const [child, dep] of Object.entries(node.dependencies ?? {})) {
      if (child === name && dep.path !== undefined) found.set(dep.path, dep.version ?? "");
      visit(dep);
    }
  };
  visit(tree);
  return [...found].map(([folder, version]) => ({ path: folder, version }));
}

const timings: Record<string, number> = {};
async function timed<T>(step: string, action: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await action();
  } finally {
    timings[step] = Date.now() - start;
  }
}

let work: string;
let project: string;
let packedFiles: string[];
let packageJson: { main: string; types: string };
let distWasFresh: boolean;
let seeded: number;
let installedTree: NpmLsNode;
let newestSupportedSdk: string;
let report: RunnerReport;
const archives = new Map<string, Map<string, Uint8Array>>();

beforeAll(async () => {
  work = makeTempDir("consumer");
  project = path.join(work, "project");
  distWasFresh = distIsFresh();
  // A fresh dist/ is what prepack's build would write again; a stale one is rebuilt by prepack.
  const packArgs = ["pack", "--pack-destination", work, "--json", ...(distWasFresh ? ["--ignore-scripts"] : [])];
  const packed = await timed(distWasFresh ? "npm pack (dist/ fresh)" : "npm pack (with prepack build)", () => run("npm", packArgs, REPO));
  const [tarball] = JSON.parse(packed.slice(packed.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  packedFiles = tarball.files.map((f) => f.path).sort();
  fs.cpSync(FIXTURE, project, { recursive: true });
  seeded = await timed("seed node_modules", async () => seedNodeModules(project));
  await timed("npm install of the tarball and the newest SDK", () =>
    run(
      "npm",
      ["install", path.join(work, tarball.filename), PULUMI_SDK_SPEC, "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"],
      project,
    ),
  );
  newestSupportedSdk = await timed("npm view of the SDK's versions", newestSdkForThisNode);
  // npm ls fails on a missing or invalid package and lists an extraneous one (one the seed left that
  // nothing declares) among its problems.
  installedTree = JSON.parse(await timed("npm ls", () => run("npm", ["ls", "--all", "--long", "--json"], project))) as NpmLsNode;
  packageJson = JSON.parse(fs.readFileSync(path.join(project, "node_modules", PACKAGE, "package.json"), "utf8"));
  await timed("tsc of the consumer program", () =>
    run(process.execPath, [path.join(project, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], project),
  );
  const reportFile = path.join(work, "report.json");
  await timed("consumer program under mocks", () => run(process.execPath, ["run-with-mocks.js", reportFile], project));
  report = JSON.parse(fs.readFileSync(reportFile, "utf8"));
  const readingArchives = Date.now();
  for (const [name, fn] of Object.entries(report.functions)) {
    const assets: Record<string, pulumi.asset.Asset | pulumi.asset.Archive> = {};
    for (const [key, entry] of Object.entries(fn.archive)) {
      if (entry.text === undefined) throw new Error(`${name}: archive entry ${key} is not text`);
      assets[key] = new pulumi.asset.StringAsset(entry.text);
    }
    archives.set(name, await filesOf(new pulumi.asset.AssetArchive(assets)));
  }
  timings["archives read"] = Date.now() - readingArchives;
});

afterAll(() => {
  const removing = Date.now();
  if (work !== undefined) removeTempDir(work);
  timings["temp folder removed"] = Date.now() - removing;
  // Where the time goes, for whoever makes this test faster; kept out of the test output.
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, "consumer-timings.json"), JSON.stringify({ distWasFresh, seeded, timings }, null, 2));
});

test("the tarball holds the built library: main, types, SQL and nothing of the sources or tests", () => {
  expect(packedFiles).toEqual(
    expect.arrayContaining(["package.json", packageJson.main, packageJson.types, "sql/transform/select.sql", "sql/views/v_top_100.sql"]),
  );
  expect(packedFiles.filter((f) => /^(components|functions|local|cli|__tests__)\//.test(f) || f.endsWith(".test.js"))).toEqual([]);
});

test("packing builds first: prepack runs the build whose output dist/ was checked against", () => {
  const { scripts } = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> };
  expect(scripts.prepack).toBe("npm run build");
  expect(scripts.build).toBe("tsc -p tsconfig.build.json");
});

test("the consumer's install holds exactly what the tarball and the program declare: npm ls finds nothing missing, invalid or extraneous, and no test tooling of this repository", () => {
  const names = (node: NpmLsNode): string[] => Object.entries(node.dependencies ?? {}).flatMap(([name, child]) => [name, ...names(child)]);
  const installed = new Set(names(installedTree));
  expect(seeded).toBeGreaterThan(0);
  expect(installedTree.problems ?? []).toEqual([]);
  // esbuild bundles the function archives at deploy time, in the consumer's project.
  expect([PACKAGE, "@pulumi/pulumi", "@pulumi/aws", "typescript", "esbuild"].filter((name) => !installed.has(name))).toEqual([]);
  expect(
    ["jest", "ts-jest", "fflate", "fast-check", "aws-sdk-client-mock", "playwright-core"].filter((name) => installed.has(name)),
  ).toEqual([]);
});

test("the consumer program type-checks against the packed declarations and deploys the pipeline under mocks", () => {
  expect(fs.existsSync(path.join(project, "index.js"))).toBe(true);
  const types = new Set(report.resources.map((r) => r.type));
  for (const component of ["CryptoAnalyticsPipeline", "IngestLake", "AnalyticsLayer", "Monitoring"])
    expect(types).toContain(`crypto-analytics:pipeline:${component}`);
  expect(types).not.toContain("crypto-analytics:pipeline:Dashboards");
  expect(report.exports).toMatchObject({
    glueDatabase: "crypto_data",
    stack: "ci",
    ingestFunctionName: expect.stringMatching(/^market-ingest-[0-9a-f]{8}$/),
  });
  expect(Object.keys(report.functions).sort()).toEqual(["market-ingest-function", "market-transform-function"]);
});

test("the consumer's @pulumi/pulumi is the newest release that this Node supports, and the library shares it", () => {
  const root = fs.realpathSync(project);
  expect(copiesOf(installedTree, "@pulumi/pulumi")).toEqual([
    { path: path.join(root, "node_modules", "@pulumi", "pulumi"), version: newestSupportedSdk },
  ]);
  expect(installedTree.dependencies?.[PACKAGE]?.dependencies?.["@pulumi/pulumi"]?.path).toBe(
    path.join(root, "node_modules", "@pulumi", "pulumi"),
  );
});

test.each(PULUMI_PACKAGES)("exactly one copy of %s in the consumer's install", (name) => {
  expect(copiesOf(installedTree, name).map((c) => path.relative(fs.realpathSync(project), c.path))).toEqual([
    path.join("node_modules", name),
  ]);
});

test("the library is installed from the tarball, not linked to this repository, and the functions bundle its handler modules from there", () => {
  const installed = path.join(project, "node_modules", PACKAGE);
  expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false);
  // esbuild heads each bundled module with its path relative to the project root.
  for (const files of archives.values()) expect(indexText(files)).toMatch(new RegExp(`^// node_modules/${PACKAGE}/dist/functions/`, "m"));
});

describe.each(["market-ingest-function", "market-transform-function"])("%s archive", (fn) => {
  test("is one file, __index.js, bundling no AWS SDK, Smithy, DuckDB, Pulumi or tooling module", () => {
    const files = archives.get(fn) as Map<string, Uint8Array>;
    expect([...files.keys()]).toEqual(["__index.js"]);
    expect(bundledPackages(files).filter((pkg) => FORBIDDEN.test(pkg))).toEqual([]);
  });

  test("bundles the library's handler modules, plus the HTTP client only for the function that calls CoinGecko", () => {
    const packages = bundledPackages(archives.get(fn) as Map<string, Uint8Array>);
    if (fn === "market-ingest-function") expect(packages).toEqual(expect.arrayContaining([PACKAGE, "axios", "axios-retry"]));
    else expect(packages).toEqual([PACKAGE]);
  });

  test("fits the budget of this repository's own function zips", () => {
    const files = archives.get(fn) as Map<string, Uint8Array>;
    const size = zippedSize(files);
    expect(size).toBeLessThanOrEqual(ZIP_BUDGET_BYTES);
  });

  test("its __index.js loads from exactly the archive's files with only the runtime's AWS SDK besides, and exports the handler", async () => {
    const dir = path.join(work, `lambda-${fn}`);
    for (const [key, bytes] of archives.get(fn) as Map<string, Uint8Array>) {
      fs.mkdirSync(path.dirname(path.join(dir, key)), { recursive: true });
      fs.writeFileSync(path.join(dir, key), bytes);
    }
    // The nodejs22.x runtime provides AWS SDK v3 on its module path; nothing else is there.
    const runtime = path.join(work, "runtime", "node_modules");
    if (!fs.existsSync(runtime)) {
      fs.mkdirSync(runtime, { recursive: true });
      fs.symlinkSync(path.join(project, "node_modules", "@aws-sdk"), path.join(runtime, "@aws-sdk"), "dir");
    }
    const env = {
      PATH: process.env.PATH ?? "",
      NODE_PATH: runtime,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "AKIDCONSUMERTEST",
      AWS_SECRET_ACCESS_KEY: "consumer-test-secret",
      ...report.functions[fn].environment,
    };
    const script = `const m = require("./__index.js"); process.stdout.write(typeof m.handler);`;
    expect(await run(process.execPath, ["-e", script], dir, env)).toBe("function");
  });
});
