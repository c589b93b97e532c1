/**
 * The docs stay true: every config key the Pulumi program reads, every CLI command and option, every alarm
 * of the catalog and every view is documented, and the docs name none that the code lacks. Each alarm's
 * runbook anchor is a heading of docs/operations.md, and every relative link between the docs resolves.
 */
import * as fs from "fs";
import * as path from "path";
import { buildProgram } from "../cli/main";
import { ALARMS, AlarmScope } from "../components/alarmCatalog";

const ROOT = path.join(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const DOCS = [
  "README.md",
  ...fs
    .readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** The first cell of every row of the Markdown table whose header's first cell is `header`, backticks removed. */
function tableColumn(markdown: string, header: string): string[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`| ${header} |`));
  if (start < 0) throw new Error(`no table with first column "${header}"`);
  const cells: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    // Cells are split at pipes that are not escaped (`live\|simulate` stays one cell).
    cells.push(line.split(/(?<!\\)\|/)[1].trim());
  }
  return cells;
}

/** Every backticked name in `cells` (a cell may name several, e.g. `a` / `b`). */
function backticked(cells: string[]): string[] {
  return cells.flatMap((c) => [...c.matchAll(/`([^`]+)`/g)].map((m) => m[1]));
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  return new Set(
    markdown
      .split("\n")
      .filter((l) => /^#{1,6} /.test(l))
      .map((l) =>
        l
          .replace(/^#+ /, "")
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 _-]/g, "")
          .replace(/ /g, "-"),
      ),
  );
}

describe("configuration keys: index.ts reads exactly the keys the README documents", () => {
  const program = read("index.ts");
  const inCode = new Set([
    ...[...program.matchAll(/config\.(?:get|getNumber|getBoolean|getSecret|getObject|require\w*)(?:<[^>]*>)?\(\s*"([A-Za-z]+)"/g)].map(
      (m) => m[1],
    ),
    ...[...program.matchAll(/stringList\("([A-Za-z]+)"\)/g)].map((m) => m[1]),
  ]);
  const documented = new Set(backticked(tableColumn(read("README.md"), "key")));

  test("the program reads some keys (the pattern still matches the code)", () => {
    expect(inCode.size).toBeGreaterThan(20);
  });
  test("every key read is documented, and every documented key is read", () => {
    expect([...documented].sort()).toEqual([...inCode].sort());
  });
  test("Pulumi.dev.yaml sets only keys the program reads", () => {
    const keys = [...read("Pulumi.dev.yaml").matchAll(/^\s*#?\s*crypto-analytics:([A-Za-z]+):/gm)].map((m) => m[1]);
    expect(keys.length).toBeGreaterThan(3);
    for (const key of keys) expect(inCode).toContain(key);
  });
});

describe("commands: the CLI and docs/architecture.md's command table agree", () => {
  const rows = tableColumn(read("docs/architecture.md"), "command");
  const documented = new Map(rows.map((r) => [r.replace(/`/g, "").split(" ")[0], r]));
  const commands = buildProgram().commands;

  test("every command is documented, and every documented command exists", () => {
    expect([...documented.keys()].sort()).toEqual(commands.map((c) => c.name()).sort());
  });
  test.each(commands.map((c) => [c.name(), c] as const))("%s: every option is documented, and no other", (name, command) => {
    const documentedOptions = [...(documented.get(name) ?? "").matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]);
    const options = command.options.map((o) => o.long).filter((o): o is string => o !== undefined);
    expect([...new Set(documentedOptions)].sort()).toEqual([...new Set(options)].sort());
  });
});

describe("alarms: the catalog and docs/operations.md agree", () => {
  const operations = read("docs/operations.md");
  // How the doc names an alarm of each scope: per-target alarms with the target as a placeholder.
  const PREFIX: Record<AlarmScope, string> = {
    ingest: "ingest",
    transform: "transform",
    athena: "athena",
    function: "<function>",
    queue: "<queue>",
  };

  test("every alarm is in the table, and the table names no other", () => {
    const inCatalog = ALARMS.map((a) => `${PREFIX[a.scope]}-${a.id}`).sort();
    expect(backticked(tableColumn(operations, "alarm")).sort()).toEqual(inCatalog);
  });
  test.each(ALARMS.map((a) => [`${PREFIX[a.scope]}-${a.id}`, a.runbook] as const))(
    "%s: its runbook anchor #%s is a section",
    (_label, anchor) => {
      expect(anchors(operations)).toContain(anchor);
    },
  );
});

describe("views: sql/views and docs/architecture.md's view table agree", () => {
  test("every view file is documented, and every documented view has a file", () => {
    const files = fs
      .readdirSync(path.join(ROOT, "sql/views"))
      .filter((f) => f.endsWith(".sql"))
      .map((f) => f.replace(/\.sql$/, ""));
    expect(backticked(tableColumn(read("docs/architecture.md"), "view")).sort()).toEqual(files.sort());
  });
});

describe("links between the docs resolve", () => {
  test.each(DOCS)("%s", (doc) => {
    const markdown = read(doc);
    for (const [, target] of markdown.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [file, anchor] = target.split("#");
      const resolved = file === "" ? doc : path.join(path.dirname(doc), file);
      expect(fs.existsSync(path.join(ROOT, resolved))).toBe(true);
      if (anchor !== undefined && resolved.endsWith(".md")) expect(anchors(read(resolved))).toContain(anchor);
    }
  });
});
