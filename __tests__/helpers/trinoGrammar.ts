/**
 * dt-sql-parser's TrinoSQL for the tests. The package ships ES modules with extensionless imports, which
 * neither jest's CommonJS loader nor plain Node ESM can load, so the Trino parser is bundled to one
 * CommonJS file with esbuild (cached in the OS temp folder per package version). The grammar runs in a
 * plain Node child process: inside jest's module sandbox antlr's parser is an order of magnitude slower.
 */
import { buildSync } from "esbuild";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** One syntax error the grammar reports. */
export interface TrinoSyntaxError {
  message: string;
  startLine: number;
  startColumn: number;
}

/** The grammar's verdict on one SQL text. */
export interface TrinoCheck {
  /** Syntax errors; empty when the text parses. */
  errors: TrinoSyntaxError[];
  /** Statements the text splits into (0 when it cannot be split). */
  statements: number;
}

/** Reads a JSON array of SQL texts on stdin and writes one {@link TrinoCheck} per text on stdout. */
const RUNNER = `
const { TrinoSQL } = require(process.argv[2]);
const parser = new TrinoSQL();
console.error = () => undefined; // antlr's default listener prints what validate() returns anyway
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const checks = JSON.parse(input).map((sql) => ({
    errors: parser.validate(sql).map((e) => ({ message: e.message, startLine: e.startLine, startColumn: e.startColumn })),
    statements: (parser.splitSQLByStatement(sql) || []).length,
  }));
  process.stdout.write(JSON.stringify(checks));
});
`;

/** Bundles the parser once per version; returns the bundle and runner paths. */
function prepare(): { bundle: string; runner: string } {
  const packageDir = path.dirname(require.resolve("dt-sql-parser/package.json"));
  const version = (JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")) as { version: string }).version;
  const bundle = path.join(os.tmpdir(), `dt-sql-parser-trino-${version}.cjs`);
  const runner = path.join(os.tmpdir(), `dt-sql-parser-trino-${version}-runner.cjs`);
  if (!fs.existsSync(bundle)) {
    const temp = `${bundle}.${process.pid}.tmp`;
    buildSync({
      entryPoints: [path.join(packageDir, "dist", "parser", "trino", "index.js")],
      bundle: true,
      platform: "node",
      format: "cjs",
      outfile: temp,
      logLevel: "error",
    });
    fs.renameSync(temp, bundle);
  }
  if (!fs.existsSync(runner) || fs.readFileSync(runner, "utf8") !== RUNNER) {
    const temp = `${runner}.${process.pid}.tmp`;
    fs.writeFileSync(temp, RUNNER);
    fs.renameSync(temp, runner);
  }
  return { bundle, runner };
}

/** Checks SQL texts with dt-sql-parser's TrinoSQL grammar; one result per text, in order. */
export function checkTrino(sqls: readonly string[]): TrinoCheck[] {
  const { bundle, runner } = prepare();
  const out = execFileSync(process.execPath, [runner, bundle], { input: JSON.stringify(sqls), maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.toString("utf8")) as TrinoCheck[];
}
