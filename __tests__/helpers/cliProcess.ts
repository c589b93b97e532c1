/**
 * The CLI as a separate process runs it, for tests that spawn `crypto-analytics`: its modules transpiled
 * once per test file by esbuild (as the benchmark does, bench/localEngine.ts), where ts-node would spend
 * seconds compiling the CLI's imports again at every start. The transpiled tree lies inside the repository,
 * so the SQL and page folders are found above it as they are above dist/.
 */
import * as fs from "fs";
import * as path from "path";
import { transpileCli } from "../../bench/localEngine";

const REPO = path.join(__dirname, "..", "..");
/** One folder per jest worker; the test files a worker runs take turns and each removes it when done. */
const OUT_DIR = path.join(REPO, `.scratch-cli-${process.pid}`);

let main: Promise<string> | undefined;

/** Absolute path of the transpiled `cli/main.js`, transpiled at the first call of a test file. */
export function cliMain(): Promise<string> {
  main ??= transpileCli(REPO, OUT_DIR);
  return main;
}

/** Removes the transpiled CLI (a test file's afterAll, once its processes have exited). */
export function removeCliBuild(): void {
  fs.rmSync(OUT_DIR, { recursive: true, force: true });
  main = undefined;
}
