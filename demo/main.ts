/**
 * `deno task demo`: an autoscaling pool under bursty load, shown as it
 * scales.
 *
 * Bursts of I/O-shaped jobs (each waits 5 to 40 ms) arrive with quiet gaps
 * between them: the pool grows under pressure and shrinks back to
 * `minWorkers` while idle. On a terminal the pool is redrawn in place ten
 * times a second; anywhere else it prints plain lines.
 *
 * Ctrl-C (SIGINT) or SIGTERM drains the pool, as a service does when asked
 * to stop: it takes no more jobs (which cancels the load), finishes those
 * it accepted and delivers their results, within a two-second deadline.
 * A second signal during the drain aborts the pool through its signal, and
 * a third exits at once. Once the pool has closed, the summary accounts
 * for every accepted job (completed, failed or unfinished) and checks that
 * they add up; if they do not, the demo exits with code 1.
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
import { seconds } from "./format.ts";
import { LiveView, liveViewRows } from "./live_view.ts";
import { PoolMeter } from "./meter.ts";
import { PlainView } from "./plain_view.ts";
import {
  commandLineArgs,
  exit,
  isTerminal,
  listenForStopSignals,
  terminalRows,
  useColor,
  write,
} from "./runtime.ts";
import { formatSummary, isAccountedFor, type StopRequest } from "./summary.ts";
import type { PoolSettings, View } from "./view.ts";

const SETTINGS: PoolSettings = {
  minWorkers: 1,
  maxWorkers: 12,
  idleTimeout: 300,
};
const FRAME_MS = 100;
// Far longer than a job (40 ms at most), so a drain cut short by it would
// point at a pool that stalls.
const DRAIN_DEADLINE_MS = 2_000;
// How soon after a signal another one counts as the same one: a terminal
// sends SIGINT to the whole process group and `deno task` forwards it to
// the demo too, and `timeout` signals both the demo and its group, so one
// keypress or kill can arrive twice within a few milliseconds. A person
// pressing Ctrl-C twice is slower than this.
const REPEAT_GRACE_MS = 100;
// The exit code of a process ended by SIGINT, for a third signal.
const INTERRUPTED_EXIT_CODE = 130;

/** Runs the demo; resolves to whether every accepted job was accounted for. */
async function main(): Promise<boolean> {
  const args = commandLineArgs();
  const schedule = args.includes("--quick") ? QUICK_SCHEDULE : FULL_SCHEDULE;
  const abort = new AbortController();
  const startMs = performance.now();

  const load = new BurstyLoad(schedule, startMs);
  let started = 0;
  const pool = autoScale(async (job: Job, { signal }: JobContext) => {
    started++;
    await delay(job.durationMs, signal);
    return job.id;
  }, { ...SETTINGS, signal: abort.signal });
  const meter = new PoolMeter(pool, startMs);
  const view = chooseView(args.includes("--plain"));

  // Added before the "start" event, which the pool sends a microtask late.
  const onScale = (event: ScaleEvent): void => {
    view.scale(event, performance.now() - startMs);
  };
  pool.addEventListener("scale", onScale);

  let stop: StopRequest | undefined;
  let lastSignalMs = -Infinity;
  let closed = false;
  const stopListening = listenForStopSignals((signal) => {
    if (closed) return;
    const nowMs = performance.now();
    if (nowMs - lastSignalMs < REPEAT_GRACE_MS) return;
    lastSignalMs = nowMs;
    const elapsedMs = nowMs - startMs;
    if (stop === undefined) {
      stop = { signal, atMs: elapsedMs, aborted: false };
      view.notice(
        `${signal}: draining (deadline ${seconds(DRAIN_DEADLINE_MS, 1)}), ` +
          "a second signal aborts",
        elapsedMs,
      );
      // Resolves with `closed`, which the pipe below waits for anyway.
      void pool.drain(DRAIN_DEADLINE_MS);
    } else if (!stop.aborted) {
      stop.aborted = true;
      view.notice(`${signal}: aborting the drain`, elapsedMs);
      abort.abort();
    } else {
      // A job that ignored its signal would hold the abort back.
      view.release();
      exit(INTERRUPTED_EXIT_CODE);
    }
  });

  const ticker = setInterval(() => {
    const reading = meter.sample();
    view.update(reading, load.stateAt(reading.elapsedMs));
  }, FRAME_MS);
  try {
    // Reading every result keeps output room open, so the pool can grow.
    // A drain or an abort closes the output, so the pipe resolves then too.
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

  const stats = pool.stats();
  const unfinishedIds = pool.unfinished().map((job) => job.id);
  write(
    "\n" + formatSummary({
      stop,
      drainDeadlineMs: DRAIN_DEADLINE_MS,
      elapsedMs: meter.elapsedMs,
      stats,
      unfinishedIds,
      maxWorkers: SETTINGS.maxWorkers,
      started,
      workerSeconds: meter.workerSeconds,
      busySeconds: meter.busySeconds,
    }),
  );
  return isAccountedFor(stats, unfinishedIds.length);
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

// A broken account is a pool bug; failing makes the CI smoke run catch it.
if (!await main()) exit(1);
