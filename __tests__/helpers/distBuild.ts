/**
 * The library's build output for tests that need it (the consumer test packs it, the API report reads its
 * declarations): whether dist/ is fresh, and declarations emitted on demand when it is not.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

const REPO = path.join(__dirname, "..", "..");

/**
 * Whether dist/ holds `npm run build`'s output for every file tsconfig.build.json compiles, none older than
 * those files, the tsconfigs or the installed dependencies (node_modules/.package-lock.json, which npm
 * rewrites on every install): then a build would write the same files again.
 */
export function distIsFresh(): boolean {
  const configFile = path.join(REPO, "tsconfig.build.json");
  const config = ts.getParsedCommandLineOfConfigFile(
    configFile,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    },
  );
  if (config === undefined || config.options.outDir === undefined) throw new Error(`cannot read ${configFile}`);
  const outDir = config.options.outDir;
  const rootDir = config.options.rootDir ?? REPO;
  const mtime = (file: string): number => fs.statSync(file).mtimeMs;
  const inputs = [...config.fileNames, configFile, path.join(REPO, "tsconfig.json"), path.join(REPO, "node_modules", ".package-lock.json")];
  const outputs = config.fileNames.flatMap((source) => {
    const base = path.join(outDir, path.relative(rootDir, source)).replace(/\.ts$/, "");
    return [`${base}.js`, `${base}.d.ts`];
  });
  // A missing output, or a missing input (node_modules installed by another tool), means: build.
  if (![...outputs, ...inputs].every((file) => fs.existsSync(file))) return false;
  return Math.min(...outputs.map(mtime)) >= Math.max(...inputs.map(mtime));
}

/**
 * A folder holding the library's declaration files (`components/index.d.ts` ...): dist/ when it is fresh
 * (CI builds before testing), else a scratch folder inside the repository (so the declarations resolve
 * `@pulumi/*` from its node_modules) written by tsc now.
 */
export function libraryDeclarations(): string {
  if (distIsFresh()) return path.join(REPO, "dist");
  const outDir = path.join(REPO, ".scratch-api", "dts");
  fs.rmSync(outDir, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json", "--emitDeclarationOnly", "--outDir", outDir],
    {
      cwd: REPO,
      stdio: "pipe",
    },
  );
  return outDir;
}
