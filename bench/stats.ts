/**
 * Figures of the benchmarks: a measured quantity summarised over repeated runs (median, min, max), and
 * the timer that produces the samples.
 */

/** One measured quantity, as it appears in `bench/results.json`. */
export interface Figure {
  /** What was measured, e.g. `ingest: own work per snapshot`. */
  name: string;
  /** Unit of the numbers: `ms`, `bytes`, `files`, `rows/s`, `x`, `USD/month`, ... */
  unit: string;
  /** Median of the runs (the mean of the two middle values for an even count). */
  median: number;
  /** Smallest run. */
  min: number;
  /** Largest run. */
  max: number;
  /** Number of runs; 1 for a quantity that is counted or computed once (sizes, bytes). */
  runs: number;
}

/** A figure from repeated samples; throws when there are none or one is not a finite number. */
export function summarize(name: string, unit: string, samples: readonly number[]): Figure {
  if (samples.length === 0) throw new Error(`${name}: no samples`);
  const bad = samples.find((s) => !Number.isFinite(s));
  if (bad !== undefined) throw new Error(`${name}: sample ${bad} is not a finite number`);
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { name, unit, median, min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length };
}

/** A figure measured once (a size, a count, a computed cost). */
export function single(name: string, unit: string, value: number): Figure {
  return summarize(name, unit, [value]);
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function nowMs(): number {
  return performance.now();
}

/**
 * Runs `fn` `runs` times one after the other and returns each run's wall time in ms, after `warmup`
 * untimed runs (JIT, file-system caches; none by default). `fn` gets the 0-based index of the run, warm-up runs included,
 * so each run can work on fresh input.
 */
export async function timeRuns(runs: number, fn: (index: number) => Promise<unknown>, warmup = 0): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    const start = nowMs();
    await fn(i);
    if (i >= warmup) samples.push(nowMs() - start);
  }
  return samples;
}
