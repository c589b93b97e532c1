/**
 * The benchmark's output: `bench/results.json` (machine, figures, targets) and the aligned text table
 * printed after a run.
 */
import * as os from "node:os";
import { Figure } from "./stats";

/** The machine a run measured. */
export interface MachineInfo {
  /** Logical CPUs. */
  cpus: number;
  /** CPU model as the OS reports it. */
  cpuModel: string;
  /** Total memory, GB (10^9 bytes), one decimal. */
  memoryGb: number;
  /** Node.js version, e.g. `v20.20.2`. */
  node: string;
  /** `linux`, `darwin`, ... */
  platform: string;
  /** `x64`, `arm64`, ... */
  arch: string;
  /** ISO-8601 time the run started. */
  date: string;
  /** One-minute load average at the start and at the end of the run (other work on the machine skews timings). */
  loadAverage: number[];
}

/** How a target compares its measurement. */
export type Comparison = "<=" | ">=" | "=";

/** A target and whether the run met it. */
export interface Target {
  /** What is promised, comparison included, e.g. `view v_top_100: median latency over 30 days <= 50 ms`. */
  name: string;
  /** The bound. */
  target: number;
  /** What the run measured. */
  measured: number;
  /** Unit of both numbers. */
  unit: string;
  /** Whether `measured` satisfies the bound. */
  met: boolean;
}

/** Everything a run writes to `bench/results.json`. */
export interface BenchResults {
  /** `full` or `quick` (smaller lakes, fewer runs: a smoke run whose numbers are not the published ones). */
  mode: string;
  /** Wall time of the whole run, seconds. */
  durationSeconds: number;
  machine: MachineInfo;
  figures: Figure[];
  targets: Target[];
  /** How the figures were obtained: lake parameters, definitions, model assumptions. */
  notes: string[];
}

/** This machine; `loadAtStart` is the one-minute load average when the run started. */
export function machineInfo(date: Date, loadAtStart: number): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryGb: Math.round(os.totalmem() / 1e8) / 10,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    date: date.toISOString(),
    loadAverage: [loadAtStart, os.loadavg()[0]].map((l) => Math.round(l * 100) / 100),
  };
}

/** A target from its bound and measurement. */
export function target(name: string, comparison: Comparison, bound: number, measured: number, unit: string): Target {
  const met = comparison === "<=" ? measured <= bound : comparison === ">=" ? measured >= bound : measured === bound;
  return { name: `${name} ${comparison} ${formatNumber(bound, unit)} ${unit}`, target: bound, measured, unit, met };
}

/** A number for the table: bytes and counts with thousands separators, times and ratios with a few decimals. */
export function formatNumber(value: number, unit: string): string {
  const digits = fractionDigits(value, unit);
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fractionDigits(value: number, unit: string): number {
  if (unit === "ms") return Math.abs(value) < 10 ? 2 : 1;
  if (unit === "x") return 1;
  if (unit === "USD/month") return 4;
  // Bytes, files, rows per second: whole numbers (a per-snapshot average is rounded for display only).
  return 0;
}

/** The printed report: machine, every figure and every target marked met / NOT met, as aligned text. */
export function renderReport(results: BenchResults): string {
  const m = results.machine;
  const figureRows = results.figures.map((f) => [
    f.name,
    f.unit,
    formatNumber(f.median, f.unit),
    formatNumber(f.min, f.unit),
    formatNumber(f.max, f.unit),
    String(f.runs),
  ]);
  const targetRows = results.targets.map((t) => [t.name, formatNumber(t.measured, t.unit), t.unit, t.met ? "met" : "NOT met"]);
  const met = results.targets.filter((t) => t.met).length;
  return [
    `crypto-analytics-pipeline benchmarks (${results.mode}), ${m.date}, ${results.durationSeconds.toFixed(0)} s`,
    `machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node}, ${m.platform}/${m.arch}; load average ${m.loadAverage.join(" at start, ")} at end`,
    "",
    alignedTable(["figure", "unit", "median", "min", "max", "runs"], figureRows, [false, false, true, true, true, true]),
    "",
    alignedTable(["target", "measured", "unit", "result"], targetRows, [false, true, false, false]),
    `${met} of ${results.targets.length} targets met`,
    "",
    ...results.notes.map((n) => `note: ${n}`),
  ].join("\n");
}

/**
 * docs/benchmarks.md as a full run writes it: how to reproduce, the machine and date, every target with its
 * measurement and verdict, every figure, and the notes on how each was obtained.
 */
export function renderMarkdown(results: BenchResults): string {
  const m = results.machine;
  const cell = (text: string): string => text.replace(/\|/g, "\\|");
  const met = results.targets.filter((t) => t.met).length;
  return [
    "# Benchmarks",
    "",
    "Written by `npm run bench` (a full run; `npm run bench -- --quick` is a smoke run on tiny lakes that writes",
    "only `bench/results.json`). Do not edit by hand: run the benchmark again.",
    "",
    `Run: ${m.date}, ${results.durationSeconds.toFixed(0)} s. Machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node},`,
    `${m.platform}/${m.arch}; load average ${m.loadAverage.join(" at start, ")} at the end.`,
    "",
    `## Targets (${met} of ${results.targets.length} met)`,
    "",
    "| target | measured | unit | result |",
    "|---|---:|---|---|",
    ...results.targets.map(
      (t) => `| ${cell(t.name)} | ${formatNumber(t.measured, t.unit)} | ${t.unit} | ${t.met ? "met" : "**NOT met**"} |`,
    ),
    "",
    "## Figures",
    "",
    "| figure | unit | median | min | max | runs |",
    "|---|---|---:|---:|---:|---:|",
    ...results.figures.map(
      (f) =>
        `| ${cell(f.name)} | ${f.unit} | ${formatNumber(f.median, f.unit)} | ${formatNumber(f.min, f.unit)} | ${formatNumber(f.max, f.unit)} | ${f.runs} |`,
    ),
    "",
    "## How the figures are obtained",
    "",
    ...results.notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
}

/** Columns padded to their widest cell, right-aligned where `right` says so, with a rule under the header. */
function alignedTable(header: string[], rows: string[][], right: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
