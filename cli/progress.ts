/**
 * Progress of long commands (`simulate`, `transform --all`, the first start of `local --source simulate`)
 * on stderr, so stdout keeps only results. On a terminal: one bar redrawn in place, with counts, percent,
 * rate-based ETA and the current item. Elsewhere (CI logs, pipes): a plain status line now and then, and
 * always one at the end, so logs stay readable.
 */

/** Where progress goes; `process.stderr` by default. */
export interface ProgressStream {
  /** True on a terminal: the bar is redrawn in place. */
  isTTY?: boolean;
  /** Terminal width in characters, when known. */
  columns?: number;
  write(text: string): unknown;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** What is counted, e.g. `snapshots`, `hours`. */
  label: string;
  /** Stream to draw on. Defaults to `process.stderr`. */
  stream?: ProgressStream;
  /** Clock in epoch ms (for the ETA and throttling). Defaults to `Date.now`. */
  now?: () => number;
  /** Least time between two redraws of the bar on a terminal. Defaults to {@link DEFAULT_REDRAW_MS}. */
  redrawMs?: number;
  /** Least time between two plain status lines off a terminal. Defaults to {@link DEFAULT_STATUS_LINE_MS}. */
  statusLineMs?: number;
}

/** A progress display. */
export interface Progress {
  /** Reports `done` of `total` items; `detail` names the current item. Draws only when due. */
  update(done: number, total: number, detail?: string): void;
  /** Draws the final state and ends the line; `summary` replaces the detail. Idempotent. */
  finish(summary?: string): void;
}

/** Least time between redraws of the terminal bar. */
export const DEFAULT_REDRAW_MS = 100;

/** Least time between plain status lines when stderr is not a terminal. */
export const DEFAULT_STATUS_LINE_MS = 5_000;

/** Width of the bar itself, in characters. */
const BAR_WIDTH = 24;

/** Creates a progress display; see the module comment for what it draws where. */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  const every = tty ? (options.redrawMs ?? DEFAULT_REDRAW_MS) : (options.statusLineMs ?? DEFAULT_STATUS_LINE_MS);
  const started = now();
  let lastDraw: number | undefined;
  let last = { done: 0, total: 0, detail: undefined as string | undefined };
  let finished = false;

  const line = (): string => {
    const { done, total, detail } = last;
    const ratio = total > 0 ? Math.min(1, done / total) : 1;
    const counts = `${done}/${total} ${options.label}`;
    const percent = `${Math.floor(ratio * 100)}%`;
    const elapsed = now() - started;
    const eta =
      done > 0 && done < total
        ? `ETA ${duration(((total - done) * elapsed) / done)}`
        : done >= total
          ? `in ${duration(elapsed)}`
          : "ETA --";
    const suffix = detail === undefined ? "" : ` ${detail}`;
    if (!tty) return `${counts} (${percent}, ${eta})${suffix}`;
    const filled = Math.round(ratio * BAR_WIDTH);
    const text = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${percent} ${counts} ${eta}${suffix}`;
    // Never wrap: a wrapped line cannot be redrawn in place.
    return stream.columns !== undefined && text.length >= stream.columns ? text.slice(0, stream.columns - 1) : text;
  };
  const draw = (): void => {
    lastDraw = now();
    stream.write(tty ? `\r\x1b[2K${line()}` : `${line()}\n`);
  };

  return {
    update(done, total, detail) {
      if (finished) return;
      last = { done, total, detail };
      // A terminal shows the bar at once; a log gets its first line only once the command has run a while,
      // and its last one from finish().
      if (!tty && done >= total) return;
      if (now() - (lastDraw ?? (tty ? -Infinity : started)) >= every) draw();
    },
    finish(summary) {
      if (finished) return;
      finished = true;
      if (summary !== undefined) last = { ...last, detail: summary };
      draw();
      if (tty) stream.write("\n");
    },
  };
}

/** `1:05` or `1:02:05`. */
function duration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}
