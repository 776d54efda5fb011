/**
 * `deno task demo`: an autoscaling pool under bursty load, shown as it
 * scales.
 *
 * Bursts of I/O-shaped jobs (each waits 5 to 40 ms) arrive with quiet gaps
 * between them: the pool grows under pressure and shrinks back to
 * `minWorkers` while idle. On a terminal the pool is redrawn in place ten
 * times a second; anywhere else it prints plain lines. Ctrl-C aborts the
 * pool through its signal, waits for `closed` and still prints the summary.
 *
 * Runs under Deno with no permissions (`deno run demo/main.ts`) and under
 * Bun (`bun demo/main.ts`). Flags: `--quick` runs a four-second load
 * instead of a twelve-second one; `--plain` prints lines even on a
 * terminal.
 * @module
 */

import { autoScale, type JobContext, type ScaleEvent } from "../mod.ts";
import {
  BurstyLoad,
  FULL_SCHEDULE,
  type Job,
  QUICK_SCHEDULE,
} from "./bursty_load.ts";
import { delay } from "./delay.ts";
import { LiveView, liveViewRows } from "./live_view.ts";
import { PoolMeter } from "./meter.ts";
import { PlainView } from "./plain_view.ts";
import {
  commandLineArgs,
  exit,
  isTerminal,
  listenForInterrupt,
  terminalRows,
  useColor,
  write,
} from "./runtime.ts";
import { formatSummary } from "./summary.ts";
import type { PoolSettings, View } from "./view.ts";

const SETTINGS: PoolSettings = {
  minWorkers: 1,
  maxWorkers: 12,
  idleTimeout: 300,
};
const FRAME_MS = 100;
// How long after a Ctrl-C another one counts as the same keypress.
const REPEAT_GRACE_MS = 500;
// The exit code of a process ended by SIGINT, for a second Ctrl-C.
const INTERRUPTED_EXIT_CODE = 130;

async function main(): Promise<void> {
  const args = commandLineArgs();
  const schedule = args.includes("--quick") ? QUICK_SCHEDULE : FULL_SCHEDULE;
  const stop = new AbortController();
  const startMs = performance.now();

  const load = new BurstyLoad(schedule, startMs);
  let started = 0;
  const pool = autoScale(async (job: Job, { signal }: JobContext) => {
    started++;
    await delay(job.durationMs, signal);
    return job.id;
  }, { ...SETTINGS, signal: stop.signal });
  const meter = new PoolMeter(pool, startMs);
  const view = chooseView(args.includes("--plain"));

  // Added before the "start" event, which the pool sends a microtask late.
  const onScale = (event: ScaleEvent): void => {
    view.scale(event, performance.now() - startMs);
  };
  pool.addEventListener("scale", onScale);

  let droppedFromQueue = 0;
  let interruptedAtMs: number | undefined;
  let closed = false;
  const stopListening = listenForInterrupt(() => {
    if (closed) return;
    if (interruptedAtMs !== undefined) {
      // A terminal sends SIGINT to the whole process group and `deno task`
      // forwards it to the demo too, so one Ctrl-C can arrive twice.
      if (performance.now() - interruptedAtMs < REPEAT_GRACE_MS) return;
      // A later one means the clean stop is taking too long.
      view.release();
      exit(INTERRUPTED_EXIT_CODE);
    }
    interruptedAtMs = performance.now();
    // Read before aborting: the abort empties the queue synchronously.
    droppedFromQueue = pool.stats().queued;
    stop.abort();
  });

  const ticker = setInterval(() => {
    const reading = meter.sample();
    view.update(reading, load.stateAt(reading.elapsedMs));
  }, FRAME_MS);
  try {
    // Reading every result keeps output room open, so the pool can grow.
    await load.readable.pipeThrough(pool).pipeTo(new WritableStream());
    await pool.closed;
    closed = true;
    const reading = meter.sample();
    view.end(reading, load.stateAt(reading.elapsedMs));
  } finally {
    clearInterval(ticker);
    pool.removeEventListener("scale", onScale);
    stopListening();
    view.release();
  }

  write(
    "\n" + formatSummary({
      interrupted: interruptedAtMs !== undefined,
      elapsedMs: meter.elapsedMs,
      stats: pool.stats(),
      maxWorkers: SETTINGS.maxWorkers,
      started,
      droppedFromQueue,
      workerSeconds: meter.workerSeconds,
      busySeconds: meter.busySeconds,
    }),
  );
}

/**
 * The live view on a terminal tall enough for its frame, otherwise plain
 * lines. A pseudo-terminal may report zero rows when nobody set its size.
 */
function chooseView(plain: boolean): View {
  const rows = terminalRows();
  const fits = rows === undefined || rows === 0 ||
    rows >= liveViewRows(SETTINGS);
  if (!plain && isTerminal() && fits) return new LiveView(SETTINGS, useColor());
  return new PlainView(SETTINGS);
}

await main();
