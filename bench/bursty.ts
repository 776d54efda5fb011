/**
 * Bursty input: what the scale-up ramp and the retire step buy and what
 * they cost, as a plain script that runs the same under Deno and Bun.
 *
 * The workload: 10 bursts of 300 jobs, each burst arriving evenly over
 * 100 ms, with 300 ms of quiet between bursts; each job waits on a timer
 * of 5 to 20 ms (the same durations every run, from a seeded generator).
 * At about 3 jobs per ms of 12.5 ms each, a burst wants about 37 workers,
 * so every pool saturates its 32 and each burst ends with a short backlog.
 * Four pools, all with `maxWorkers` 32 and `idleTimeout` 50 ms, run in the
 * same process:
 *
 * - fixed: `minWorkers` 32, the baseline: never waits for a worker, pays
 *   for 32 workers the whole time;
 * - default: `minWorkers` 1, no ramp and no retire limit: a worker for
 *   every waiting job at once, every worker idle past 50 ms retired;
 * - ramp: `scaling: { rampInterval: 10 }`: while jobs wait, the pool grows
 *   by 1, 2, 4, 8, ... workers per 10 ms step;
 * - ramp + retire step: `scaling: { rampInterval: 10, retireStep: 2 }`:
 *   also retires at most 2 workers per 50 ms, so it enters the next burst
 *   with workers to spare.
 *
 * Jobs come from a pull-based `ReadableStream` that releases each one at
 * its scheduled time, or at once when the pool's backpressure held the
 * pipe past it. For each pool it reports: the completion time (last
 * result, from the first arrival); p50 and p99 latency from a job's
 * scheduled arrival to its result, so time spent held back at the source
 * counts; worker-seconds, the worker count from the pool's `ScaleEvent`s
 * integrated over time until `closed`; scale events, the churn (every
 * change of the count but the start and the shutdown); workers started
 * for pressure; the workers alive when a burst begins (mean over bursts
 * 2 to 10); and the peak. Worker-seconds and p99 are also shown as ratios
 * to the fixed pool of the same repetition.
 *
 * Run it with (the repetition count is optional, 5 by default):
 *
 *     deno task bench:bursty [repetitions]
 *     deno run bench/bursty.ts [repetitions]
 *     bun bench/bursty.ts [repetitions]
 *
 * What the numbers mean: a worker-seconds ratio of 0.5 means the pool held
 * half the workers the fixed pool did, on average over the run; a p99
 * ratio of 2 means its slowest jobs took twice as long. Fewer scale events
 * and workers started mean less churn: with workers that own connections
 * or warm caches, each start has a price this bench does not charge.
 *
 * Built for a noisy shared machine: a one-burst warm-up of every pool,
 * then repetitions that alternate the order of the pools; medians with
 * min-max.
 * @module
 */

import process from "node:process";
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
import {
  formatCount,
  formatFixed,
  median,
  medianWithSpread,
  percentile,
} from "./_summary.ts";

const MAX_WORKERS = 32;
const IDLE_TIMEOUT_MS = 50;
const RAMP_INTERVAL_MS = 10;
const RETIRE_STEP = 2;
const DEFAULT_REPETITIONS = 5;

/** One pool configuration to compare. */
interface Contender {
  readonly name: string;
  // Not settled: results are the job numbers themselves.
  readonly options: AutoScaleOptions<number> & { settled?: false };
}

/** What one run of one pool measured. */
interface RunResult {
  readonly completionMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly workerSeconds: number;
  readonly scaleEvents: number;
  readonly workersStarted: number;
  readonly workersAtBurstStart: number;
  readonly peakWorkers: number;
}

/** The worker count from one instant on. */
interface CountChange {
  readonly atMs: number;
  readonly workers: number;
}

const CONTENDERS: readonly Contender[] = [
  {
    name: "fixed (minWorkers = maxWorkers = 32)",
    options: {
      minWorkers: MAX_WORKERS,
      maxWorkers: MAX_WORKERS,
      idleTimeout: IDLE_TIMEOUT_MS,
    },
  },
  {
    name: "default (no ramp, no retire limit)",
    options: { maxWorkers: MAX_WORKERS, idleTimeout: IDLE_TIMEOUT_MS },
  },
  {
    name: `ramp (rampInterval ${RAMP_INTERVAL_MS})`,
    options: {
      maxWorkers: MAX_WORKERS,
      idleTimeout: IDLE_TIMEOUT_MS,
      scaling: { rampInterval: RAMP_INTERVAL_MS },
    },
  },
  {
    name:
      `ramp + retire step (rampInterval ${RAMP_INTERVAL_MS}, retireStep ${RETIRE_STEP})`,
    options: {
      maxWorkers: MAX_WORKERS,
      idleTimeout: IDLE_TIMEOUT_MS,
      scaling: { rampInterval: RAMP_INTERVAL_MS, retireStep: RETIRE_STEP },
    },
  },
];

const repetitions = Number(process.argv[2] ?? DEFAULT_REPETITIONS);
if (!Number.isInteger(repetitions) || repetitions < 1) {
  throw new RangeError(
    `Cannot run bench: the repetition count must be an integer >= 1, received ${
      process.argv[2]
    }`,
  );
}

for (const contender of CONTENDERS) await runOnce(contender, 1);
const runs: RunResult[][] = CONTENDERS.map(() => []);
for (let repetition = 0; repetition < repetitions; repetition++) {
  const order = CONTENDERS.map((_, index) => index);
  if (repetition % 2 === 1) order.reverse();
  for (const index of order) {
    runs[index].push(await runOnce(CONTENDERS[index], BURSTS));
  }
}
console.log(report());

/**
 * One run of one pool over the first `bursts` bursts.
 *
 * @throws {Error} A result was lost or duplicated.
 */
async function runOnce(
  contender: Contender,
  bursts: number,
): Promise<RunResult> {
  const jobs = bursts * BURST_JOBS;
  const latencyMs = new Float64Array(jobs);
  const isDelivered = new Uint8Array(jobs);
  const changes: CountChange[] = [];
  let scaleEvents = 0;
  let workersStarted = 0;

  const pool = autoScale(waitJob, contender.options);
  pool.addEventListener("scale", (event: ScaleEvent) => {
    changes.push({ atMs: performance.now(), workers: event.to });
    if (event.reason === "start" || event.reason === "shutdown") return;
    scaleEvents++;
    if (event.reason === "pressure") workersStarted += event.to - event.from;
  });
  const startMs = performance.now();
  const reader = arrivals(startMs, jobs).pipeThrough(pool).getReader();
  let delivered = 0;
  let lastResultMs = startMs;
  while (true) {
    const { done, value: seq } = await reader.read();
    if (done) break;
    lastResultMs = performance.now();
    if (isDelivered[seq] === 1) {
      throw new Error(`Bench run failed: job ${seq} delivered twice`);
    }
    isDelivered[seq] = 1;
    latencyMs[seq] = lastResultMs - (startMs + ARRIVAL_MS[seq]);
    delivered++;
  }
  await pool.closed;
  const closedMs = performance.now();

  if (delivered !== jobs) {
    throw new Error(
      `Bench run failed: expected ${jobs} results, received ${delivered}`,
    );
  }
  latencyMs.sort();
  return {
    completionMs: lastResultMs - startMs,
    p50Ms: percentile(latencyMs, 0.5),
    p99Ms: percentile(latencyMs, 0.99),
    workerSeconds: workerMs(changes, closedMs) / 1000,
    scaleEvents,
    workersStarted,
    workersAtBurstStart: meanWorkersAtBurstStart(changes, startMs, bursts),
    peakWorkers: pool.stats().peakWorkers,
  };
}

/** Worker-milliseconds: each count held until the next change or the end. */
function workerMs(changes: readonly CountChange[], endMs: number): number {
  let total = 0;
  for (const [i, { atMs, workers }] of changes.entries()) {
    total += workers * ((changes[i + 1]?.atMs ?? endMs) - atMs);
  }
  return total;
}

/**
 * The workers alive when each burst after the first begins, on average:
 * what the quiet gap before it left of the pool.
 */
function meanWorkersAtBurstStart(
  changes: readonly CountChange[],
  startMs: number,
  bursts: number,
): number {
  if (bursts < 2) return NaN;
  let total = 0;
  for (let burst = 1; burst < bursts; burst++) {
    const atMs = startMs + burstStartMs(burst);
    total += changes.findLast((change) => change.atMs <= atMs)?.workers ?? 0;
  }
  return total / (bursts - 1);
}

function report(): string {
  const fixed = runs[0];
  const lines = [
    `### Bursty input on ${runtimeName()}`,
    "",
    `${BURSTS} bursts of ${BURST_JOBS} jobs, each over ${BURST_SPAN_MS} ms, ` +
    `${GAP_MS} ms apart; jobs wait ${MIN_JOB_MS}-${MAX_JOB_MS} ms; ` +
    `maxWorkers ${MAX_WORKERS}, idleTimeout ${IDLE_TIMEOUT_MS} ms. ` +
    `${repetitions} repetitions after a one-burst warm-up, alternating the ` +
    "order of the pools; medians (min-max). Latency: from a job's " +
    "scheduled arrival to its result. Ratios: to the fixed pool of the " +
    "same repetition.",
    "",
    "| pool | completion ms | p50 ms | p99 ms | p99 / fixed | worker-s | worker-s / fixed | scale events | workers started | workers at burst start | peak |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const [index, contender] of CONTENDERS.entries()) {
    const series = runs[index];
    const pick = (field: keyof RunResult): number[] =>
      series.map((run) => run[field]);
    const toFixed = (field: keyof RunResult): number[] =>
      series.map((run, i) => run[field] / fixed[i][field]);
    lines.push(`| ${
      [
        contender.name,
        medianWithSpread(pick("completionMs"), formatCount),
        medianWithSpread(pick("p50Ms"), formatFixed(1)),
        medianWithSpread(pick("p99Ms"), formatFixed(1)),
        index === 0
          ? "1 (baseline)"
          : medianWithSpread(toFixed("p99Ms"), formatFixed(2)),
        medianWithSpread(pick("workerSeconds"), formatFixed(1)),
        index === 0
          ? "1 (baseline)"
          : medianWithSpread(toFixed("workerSeconds"), formatFixed(2)),
        medianWithSpread(pick("scaleEvents"), formatCount),
        medianWithSpread(pick("workersStarted"), formatCount),
        formatFixed(1)(median(pick("workersAtBurstStart"))),
        medianWithSpread(pick("peakWorkers"), formatCount),
      ].join(" | ")
    } |`);
  }
  return lines.join("\n");
}
