/**
 * The bursty workload that `bench/bursty.ts` measures and
 * `bench/timeline.ts` draws: 10 bursts of 300 jobs, each burst arriving
 * evenly over 100 ms, with 300 ms of quiet between bursts; each job waits
 * on a timer of 5 to 20 ms, the same durations every run (from a seeded
 * generator). At about 3 jobs per ms of 12.5 ms each, a burst wants about
 * 37 workers, so a pool of 32 saturates and each burst ends with a short
 * backlog. Both scripts share this module so that the chart shows the
 * load the numbers were measured on.
 * @module
 */

import { seededRandom } from "./_random.ts";

/** How many bursts a full run has. */
export const BURSTS = 10;
/** Jobs per burst. */
export const BURST_JOBS = 300;
/** How long one burst's arrivals last, in ms. */
export const BURST_SPAN_MS = 100;
/** The quiet time between the end of a burst and the next one, in ms. */
export const GAP_MS = 300;
/** The shortest job, in ms. */
export const MIN_JOB_MS = 5;
/** The longest job, in ms. */
export const MAX_JOB_MS = 20;

const SEED = 0x627572;
const JOBS = BURSTS * BURST_JOBS;

/**
 * When each job arrives, in ms from the start of a run; a shorter run
 * takes the first bursts.
 */
export const ARRIVAL_MS: Float64Array = Float64Array.from(
  { length: JOBS },
  (_, seq) =>
    burstStartMs(Math.floor(seq / BURST_JOBS)) +
    (seq % BURST_JOBS) * BURST_SPAN_MS / BURST_JOBS,
);
const DURATION_MS: Float64Array = makeDurations();

/** When burst `burst` (from 0) begins, in ms from the start of a run. */
export function burstStartMs(burst: number): number {
  return burst * (BURST_SPAN_MS + GAP_MS);
}

/** A job: waits its duration, then returns its number. */
export function waitJob(seq: number): Promise<number> {
  return new Promise((resolve) => setTimeout(resolve, DURATION_MS[seq], seq));
}

/**
 * The jobs 0 to `jobs` - 1, each released at its arrival time. The stream
 * pulls only when the pipe reads (high-water mark 0), so a job the pool
 * cannot take yet waits here, and its latency shows it.
 */
export function arrivals(
  startMs: number,
  jobs: number,
): ReadableStream<number> {
  let next = 0;
  return new ReadableStream<number>({
    pull: async (controller) => {
      const waitMs = startMs + ARRIVAL_MS[next] - performance.now();
      if (waitMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
      // Timers are coarser than the 1/3 ms between arrivals, so every job
      // due by now goes at once rather than one per timer.
      const nowMs = performance.now();
      do {
        controller.enqueue(next++);
      } while (next < jobs && startMs + ARRIVAL_MS[next] <= nowMs);
      if (next === jobs) controller.close();
    },
  }, { highWaterMark: 0 });
}

function makeDurations(): Float64Array {
  const random = seededRandom(SEED);
  return Float64Array.from(
    { length: JOBS },
    () => MIN_JOB_MS + random() * (MAX_JOB_MS - MIN_JOB_MS),
  );
}
