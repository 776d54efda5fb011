/**
 * Records the bursty workload of `bench/bursty.ts` through the default
 * autoscaled pool and draws it as `docs/scaling-timeline.svg`: the pool's
 * alive and busy workers, its waiting jobs and its throughput over time,
 * with the bursts shaded and a fixed pool of 32 workers, run in the same
 * process, as the reference for worker-seconds and p99 latency.
 *
 * Regenerate it (in about ten seconds) under Deno or Bun:
 *
 *     deno task chart
 *     bun bench/timeline.ts
 *
 * The workload (`bench/_bursty_load.ts`): 10 bursts of 300 jobs, each over
 * 100 ms, 300 ms apart; each job waits on a timer of 5 to 20 ms. Both
 * pools have `maxWorkers` 32 and `idleTimeout` 50 ms; the autoscaled one
 * keeps the default `minWorkers` of 1, the fixed one has `minWorkers` 32.
 * After a one-burst warm-up of each, one full run of each is recorded:
 *
 * - alive workers: exact, from the pool's `"scale"` events;
 * - busy workers and queued jobs: `stats()` sampled every 5 ms;
 * - jobs waiting at the source: jobs due by the schedule that the pool
 *   has not accepted yet, which past `highWaterMark` is its backpressure
 *   (and otherwise a millisecond or two of the source's timer);
 * - throughput: results read, counted in 20 ms bins;
 * - worker-seconds: the area under the alive-workers curve until
 *   `closed`; p99 latency: from a job's scheduled arrival to its result.
 *
 * The sampler only copies a few numbers per tick; everything else is
 * derived after the pool has closed, so recording stays out of its way.
 * The fixed pool is sampled the same way, so that both pay the same.
 * @module
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { autoScale, type AutoScaleOptions, type ScaleEvent } from "../mod.ts";
import {
  ARRIVAL_MS,
  arrivals,
  BURST_JOBS,
  BURST_SPAN_MS,
  BURSTS,
  burstStartMs,
  GAP_MS,
  MAX_JOB_MS,
  MIN_JOB_MS,
  waitJob,
} from "./_bursty_load.ts";
import { runtimeName } from "./_runtime.ts";
import { percentile } from "./_summary.ts";
import {
  type PoolFigures,
  renderTimelineSvg,
  type StepPoint,
  type TimelineData,
} from "./_timeline_svg.ts";

const MAX_WORKERS = 32;
const IDLE_TIMEOUT_MS = 50;
const SAMPLE_INTERVAL_MS = 5;
const BIN_MS = 20;
const OUTPUT_NAME = "docs/scaling-timeline.svg";
// Resolved from this file, so the chart lands in docs/ from any directory.
const OUTPUT_PATH: string = fileURLToPath(
  new URL(`../${OUTPUT_NAME}`, import.meta.url),
);

// Not settled: results are the job numbers themselves.
type PoolOptions = AutoScaleOptions<number> & { settled?: false };

const AUTOSCALED: PoolOptions = {
  maxWorkers: MAX_WORKERS,
  idleTimeout: IDLE_TIMEOUT_MS,
};
const FIXED: PoolOptions = {
  minWorkers: MAX_WORKERS,
  maxWorkers: MAX_WORKERS,
  idleTimeout: IDLE_TIMEOUT_MS,
};

/** `stats()` at one instant, in ms from the first arrival. */
interface Sample {
  readonly atMs: number;
  readonly busy: number;
  readonly queued: number;
  readonly accepted: number;
}

/** One run of one pool, times in ms from the first arrival. */
interface Recording {
  /** The worker count from each `"scale"` event on. */
  readonly alive: readonly StepPoint[];
  readonly samples: readonly Sample[];
  /** When each result was read, by job number. */
  readonly resultMs: Float64Array;
  readonly closedMs: number;
}

await record(FIXED, 1);
await record(AUTOSCALED, 1);
const fixed = await record(FIXED, BURSTS);
const autoscaled = await record(AUTOSCALED, BURSTS);

const data = chartData(autoscaled, fixed);
mkdirSync(dirname(OUTPUT_PATH), { recursive: true });
writeFileSync(OUTPUT_PATH, renderTimelineSvg(data));
console.log(
  `Wrote ${OUTPUT_NAME}\n` +
    `worker-seconds: autoscaled ${
      data.autoscaled.workerSeconds.toFixed(1)
    }, fixed ${data.fixed.workerSeconds.toFixed(1)}\n` +
    `p99 latency: autoscaled ${data.autoscaled.p99Ms.toFixed(1)} ms, ` +
    `fixed ${data.fixed.p99Ms.toFixed(1)} ms`,
);

/**
 * Runs the first `bursts` bursts through a pool, recording as it goes.
 *
 * @throws {Error} A result was lost or duplicated.
 */
async function record(
  options: PoolOptions,
  bursts: number,
): Promise<Recording> {
  const jobs = bursts * BURST_JOBS;
  const resultMs = new Float64Array(jobs).fill(NaN);
  const alive: StepPoint[] = [];
  const samples: Sample[] = [];

  const startMs = performance.now();
  const pool = autoScale(waitJob, options);
  pool.addEventListener("scale", (event: ScaleEvent) => {
    alive.push({ atMs: performance.now() - startMs, value: event.to });
  });
  const sample = (): void => {
    const stats = pool.stats();
    samples.push({
      atMs: performance.now() - startMs,
      busy: stats.busy,
      queued: stats.queued,
      accepted: stats.accepted,
    });
  };
  const sampler: ReturnType<typeof setInterval> = setInterval(
    sample,
    SAMPLE_INTERVAL_MS,
  );
  sample();
  let delivered = 0;
  try {
    for await (const seq of arrivals(startMs, jobs).pipeThrough(pool)) {
      if (!Number.isNaN(resultMs[seq])) {
        throw new Error(`Chart run failed: job ${seq} delivered twice`);
      }
      resultMs[seq] = performance.now() - startMs;
      delivered++;
    }
    await pool.closed;
  } finally {
    clearInterval(sampler);
  }
  const closedMs = performance.now() - startMs;
  sample();

  if (delivered !== jobs) {
    throw new Error(
      `Chart run failed: expected ${jobs} results, received ${delivered}`,
    );
  }
  return { alive, samples, resultMs, closedMs };
}

/** The chart's series and figures, derived from the two recordings. */
function chartData(autoscaled: Recording, fixed: Recording): TimelineData {
  const endMs = autoscaled.closedMs;
  const due = (atMs: number): number => countAtMost(ARRIVAL_MS, atMs);
  return {
    subtitle: [
      `${BURSTS} bursts of ${BURST_JOBS} jobs, each arriving over ` +
      `${BURST_SPAN_MS} ms, ${GAP_MS} ms apart; each job waits on a ` +
      `${MIN_JOB_MS}-${MAX_JOB_MS} ms timer.`,
      `autoScale(work, { maxWorkers: ${MAX_WORKERS}, idleTimeout: ` +
      `${IDLE_TIMEOUT_MS} }), minWorkers 1; reference: a fixed pool of ` +
      `${MAX_WORKERS}.`,
    ],
    footer: `One run of each pool, in one process, on ${runtimeName()}, ` +
      new Date().toISOString().slice(0, 10),
    endMs,
    bursts: Array.from({ length: BURSTS }, (_, burst) => ({
      startMs: burstStartMs(burst),
      endMs: burstStartMs(burst) + BURST_SPAN_MS,
    })),
    alive: autoscaled.alive,
    samples: autoscaled.samples.map(({ atMs, busy, queued, accepted }) => ({
      atMs,
      busy,
      queued,
      held: Math.max(0, due(atMs) - accepted),
    })),
    sampleIntervalMs: SAMPLE_INTERVAL_MS,
    binMs: BIN_MS,
    completedPerSecond: perSecond(autoscaled.resultMs, endMs),
    arrivalsPerSecond: perSecond(ARRIVAL_MS, endMs),
    minWorkers: 1,
    maxWorkers: MAX_WORKERS,
    // The default: neither pool sets one.
    highWaterMark: MAX_WORKERS,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    autoscaled: figures(autoscaled),
    fixed: figures(fixed),
  };
}

/** Events per second in each bin of `BIN_MS` up to `endMs`. */
function perSecond(timesMs: ArrayLike<number>, endMs: number): StepPoint[] {
  const counts = new Array<number>(Math.ceil(endMs / BIN_MS)).fill(0);
  for (let i = 0; i < timesMs.length; i++) {
    const bin = Math.floor(timesMs[i] / BIN_MS);
    if (bin < counts.length) counts[bin]++;
  }
  return counts.map((count, bin) => ({
    atMs: bin * BIN_MS,
    value: count * 1000 / BIN_MS,
  }));
}

function figures(run: Recording): PoolFigures {
  const latencyMs = run.resultMs.map((atMs, seq) => atMs - ARRIVAL_MS[seq])
    .sort();
  return {
    workerSeconds: areaUnder(run.alive, run.closedMs) / 1000,
    p99Ms: percentile(latencyMs, 0.99),
  };
}

/** The area under a step series, each value held until the next point. */
function areaUnder(points: readonly StepPoint[], endMs: number): number {
  let total = 0;
  for (const [i, { atMs, value }] of points.entries()) {
    total += value * ((points[i + 1]?.atMs ?? endMs) - atMs);
  }
  return total;
}

/** How many of the ascending `sorted` are at most `limit`. */
function countAtMost(sorted: Float64Array, limit: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] <= limit) low = middle + 1;
    else high = middle;
  }
  return low;
}
