/**
 * The progress display of long commands: a bar redrawn in place on a terminal, plain status lines now and
 * then elsewhere, with counts, percent and an ETA from the rate so far.
 */
import { createProgress, ProgressStream } from "../cli/progress";

/** A stream that records what is written, as a terminal (`isTTY`) or a log file. */
function stream(isTTY: boolean, columns?: number): ProgressStream & { chunks: string[] } {
  const chunks: string[] = [];
  return { isTTY, columns, chunks, write: (text: string) => chunks.push(text) };
}

describe("createProgress", () => {
  it("on a terminal: redraws one line in place with bar, percent, counts and ETA, then ends it", () => {
    let now = 0;
    const out = stream(true);
    const progress = createProgress({ label: "snapshots", stream: out, now: () => now });

    progress.update(0, 4);
    now = 10_000;
    progress.update(1, 4, "2024-09-03T07:00Z");
    now = 10_050;
    progress.update(2, 4);
    now = 40_000;
    progress.finish();

    expect(out.chunks).toEqual([
      "\r\x1b[2K[------------------------] 0% 0/4 snapshots ETA --",
      "\r\x1b[2K[######------------------] 25% 1/4 snapshots ETA 0:30 2024-09-03T07:00Z",
      // The update 50 ms later is not drawn (redraws are throttled); finish draws the last state.
      "\r\x1b[2K[############------------] 50% 2/4 snapshots ETA 0:40",
      "\n",
    ]);
  });

  it("off a terminal: a plain line only once the status interval has passed, and always one at the end", () => {
    let now = 0;
    const out = stream(false);
    const progress = createProgress({ label: "hours", stream: out, now: () => now, statusLineMs: 5_000 });

    for (let done = 1; done <= 10; done++) {
      now = done * 1_000;
      progress.update(done, 10);
    }
    progress.finish("3000 rows");
    progress.finish("again");

    expect(out.chunks).toEqual(["5/10 hours (50%, ETA 0:05)\n", "10/10 hours (100%, in 0:10) 3000 rows\n"]);
  });

  it("never wraps a terminal line, so it can be redrawn", () => {
    const out = stream(true, 40);
    const progress = createProgress({ label: "snapshots", stream: out, now: () => 0 });

    progress.update(1, 3, "a very long detail that would not fit on the line");

    expect(out.chunks[0].slice("\r\x1b[2K".length)).toHaveLength(39);
  });

  it("reports an hour-long ETA with hours", () => {
    let now = 0;
    const out = stream(false);
    const progress = createProgress({ label: "snapshots", stream: out, now: () => now, statusLineMs: 1 });

    now = 60_000;
    progress.update(1, 100);

    expect(out.chunks).toEqual(["1/100 snapshots (1%, ETA 1:39:00)\n"]);
  });
});
