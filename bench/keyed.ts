/**
 * Per-key ordering: the pool's `key` option against the same guarantee
 * built by hand on p-queue (see `_keyed_p_queue.ts`), as a plain script
 * that runs the same under Deno and Bun.
 *
 * The workload: jobs on skewed keys, a fifth of them on one hot key and
 * the rest spread evenly over 500 cold keys (the same keys every run, from
 * a seeded generator). Two kinds of job: 20,000 I/O-shaped waits (a 1 ms
 * timer), and 200,000 jobs that settle after a microtask hop, where the
 * pair's own overhead is all there is to measure (fewer would make runs
 * too short to time). Both sides run with concurrency 32 and hold writes
 * while more than 1,024 accepted jobs have not started:
 *
 * - pool: `autoScale(work, { key, minWorkers: 32, maxWorkers: 32,
 *   highWaterMark: 1024 })`;
 * - p-queue: one `PQueue({ concurrency: 32 })`, with each key's jobs
 *   chained on a `Map<key, Promise>` before they enter the queue, so a job
 *   waiting for its key holds no slot.
 *
 * Both read the same pull-based `ReadableStream` through `pipeThrough` and
 * feed the same reader loop. A job's latency runs from the moment the
 * source hands it to the pipe to the moment the reader receives its
 * result, so it includes the wait for its key and for a slot.
 *
 * Every run checks per-key order twice and throws at the first violation:
 * in the job (a key never runs two jobs at once, and starts them in
 * arrival order) and at the reader (each key's results arrive in arrival
 * order, every job exactly once).
 *
 * Run it with (the repetition count is optional, 5 by default):
 *
 *     deno task bench:keyed [repetitions]
 *     deno run bench/keyed.ts [repetitions]
 *     bun bench/keyed.ts [repetitions]
 *
 * What the numbers mean: with timer jobs the hot key bounds the total time
 * on both sides, since its 4,000 jobs run one at a time (4,000 timers in a
 * row, and a "1 ms" timer fires after 1 to 2 ms depending on the runtime);
 * once the intake bound is full of its parked jobs, the source itself
 * slows to the hot key's pace. Its throughput is shown against the serial
 * bound, the same job awaited back to back with nothing else running: a
 * ratio near 1 means the pair adds next to nothing between one hot job and
 * the next. With microtask jobs the pair's own cost is the bound instead,
 * and the hot key's throughput is just its share. The ratio pool/p-queue
 * is the median of per-repetition ratios of jobs/s; above 1 the pool is
 * faster. p99 latency is dominated by hot jobs, which wait behind up to
 * 1,024 others of their key, so it measures the intake bound more than the
 * pair; the cold keys' p99 shows how long the other keys wait, mostly
 * while the first 1,024 jobs accepted at once drain.
 *
 * Built for a noisy shared machine: a warm-up round first, then
 * repetitions that alternate which side runs first; medians with min-max.
 * @module
 */

import process from "node:process";
import { autoScale } from "../mod.ts";
import { keyedPQueue } from "./_keyed_p_queue.ts";
import { seededRandom } from "./_random.ts";
import { runtimeName } from "./_runtime.ts";
import {
  formatCount,
  formatFixed,
  median,
  medianWithSpread,
  percentile,
} from "./_summary.ts";

// Timer jobs take a while, so fewer of them; microtask jobs need more to
// make a run long enough to time on a noisy machine.
const TIMER_JOBS = 20_000;
const MICROTASK_JOBS = 200_000;
const HOT_SHARE = 0.2;
const COLD_KEYS = 500;
// Keys are numbers: the hot key is 0, cold keys 1 to COLD_KEYS.
const HOT_KEY = 0;
const CONCURRENCY = 32;
const HIGH_WATER_MARK = 1_024;
const TIMER_MS = 1;
const SEED = 0x6b6579;
const DEFAULT_REPETITIONS = 5;
// Hot jobs run back to back for the serial bound: enough timers to average
// out their jitter, few enough to keep the bench short.
const SERIAL_SAMPLES = 500;

/** Which implementation of per-key ordering runs. */
type Side = "pool" | "p-queue";

/** One kind of job, measured on both sides. */
interface Variant {
  readonly name: string;
  /** Jobs per run. */
  readonly jobs: number;
  readonly run: (seq: number) => Promise<number>;
  /** The unit latencies are shown in, to keep small ones readable. */
  readonly latencyUnit: "ms" | "µs";
  /** What the hot key's column means for this job, under the table. */
  readonly hotKeyNote: string;
}

/** What one run of one side measured. */
interface RunResult {
  readonly totalMs: number;
  readonly jobsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** p99 of the cold keys' jobs alone. */
  readonly coldP99Ms: number;
  readonly hotJobsPerSecond: number;
}

/** Every repetition of one side of one variant. */
interface Series {
  readonly side: Side;
  readonly runs: RunResult[];
}

const MICROTASK: Variant = {
  name: "microtask job (await Promise.resolve())",
  jobs: MICROTASK_JOBS,
  run: async (seq) => {
    await Promise.resolve();
    return seq;
  },
  latencyUnit: "µs",
  hotKeyNote: "Here the hot key is not what limits a run: its jobs are " +
    "cheaper than the pair's work per job, so its throughput is its " +
    `${HOT_SHARE * 100}% share of the pair's, far below the serial bound.`,
};
const TIMER: Variant = {
  name: `timer job (setTimeout ${TIMER_MS} ms)`,
  jobs: TIMER_JOBS,
  run: (seq) => new Promise((resolve) => setTimeout(resolve, TIMER_MS, seq)),
  latencyUnit: "ms",
  hotKeyNote: "Here the hot key bounds every run: its jobs run one after " +
    "the other, so its throughput can only approach the serial bound.",
};

// One key sequence for every run: a run of n jobs takes its first n.
const KEYS: Int32Array = makeKeys(Math.max(TIMER_JOBS, MICROTASK_JOBS));

const repetitions = Number(process.argv[2] ?? DEFAULT_REPETITIONS);
if (!Number.isInteger(repetitions) || repetitions < 1) {
  throw new RangeError(
    `Cannot run bench: the repetition count must be an integer >= 1, received ${
      process.argv[2]
    }`,
  );
}

// The pool's and the pair's code is the same whatever the job, so one
// round of the quick variant warms both up for every variant.
await runOnce("pool", MICROTASK);
await runOnce("p-queue", MICROTASK);
const sections: string[] = [];
for (const variant of [TIMER, MICROTASK]) {
  sections.push(await measure(variant));
}
console.log(
  [
    `### Per-key ordering on ${runtimeName()}`,
    "",
    `${formatCount(TIMER_JOBS)} timer jobs or ${
      formatCount(MICROTASK_JOBS)
    } microtask jobs, ${HOT_SHARE * 100}% on one hot key, ` +
    `the rest uniform over ${COLD_KEYS} cold keys; ` +
    `concurrency ${CONCURRENCY}, writes held past ${
      formatCount(HIGH_WATER_MARK)
    } jobs not started, on both sides. ` +
    `${repetitions} repetitions after a warm-up round, alternating which ` +
    "side runs first; medians (min-max). Latency: from the source handing " +
    "the job over to the reader receiving its result. Per-key order was " +
    "checked in every run (in the job and at the reader).",
    "",
    ...sections,
  ].join("\n"),
);

async function measure(variant: Variant): Promise<string> {
  const pool: Series = { side: "pool", runs: [] };
  const pQueue: Series = { side: "p-queue", runs: [] };
  const serialJobsPerSecond: number[] = [];
  for (let repetition = 0; repetition < repetitions; repetition++) {
    const order = repetition % 2 === 0 ? [pool, pQueue] : [pQueue, pool];
    for (const series of order) {
      series.runs.push(await runOnce(series.side, variant));
    }
    serialJobsPerSecond.push(await serialRate(variant));
  }
  return table(variant, pool, pQueue, serialJobsPerSecond);
}

/**
 * One run: streams every job through one side and reads every result,
 * checking per-key order on the way.
 *
 * @throws {Error} A key ran two jobs at once or out of order, or a result
 * was lost, duplicated or delivered out of its key's order.
 */
async function runOnce(side: Side, variant: Variant): Promise<RunResult> {
  const jobs = variant.jobs;
  const readAtMs = new Float64Array(jobs);
  const latencyMs = new Float64Array(jobs);
  const coldLatencyMs: number[] = [];
  let hotJobs = 0;
  const work = checkedWork(variant.run);
  const lastDelivered = new Int32Array(COLD_KEYS + 1).fill(-1);
  let firstHotReadMs = Infinity;
  let lastHotDeliveredMs = 0;
  let delivered = 0;

  const startMs = performance.now();
  const source = jobSource(readAtMs, jobs);
  const results = side === "pool"
    ? source.pipeThrough(
      autoScale(work, {
        key: (seq) => KEYS[seq],
        minWorkers: CONCURRENCY,
        maxWorkers: CONCURRENCY,
        highWaterMark: HIGH_WATER_MARK,
      }),
    )
    : source.pipeThrough(
      keyedPQueue(work, {
        key: (seq) => KEYS[seq],
        concurrency: CONCURRENCY,
        highWaterMark: HIGH_WATER_MARK,
      }),
    );
  const reader = results.getReader();
  while (true) {
    const { done, value: seq } = await reader.read();
    if (done) break;
    const nowMs = performance.now();
    const key = KEYS[seq];
    if (seq <= lastDelivered[key]) {
      throw new Error(
        `Per-key order violated (${side}): job ${seq} of key ${key} delivered after job ${
          lastDelivered[key]
        }`,
      );
    }
    lastDelivered[key] = seq;
    latencyMs[seq] = nowMs - readAtMs[seq];
    if (key === HOT_KEY) {
      firstHotReadMs = Math.min(firstHotReadMs, readAtMs[seq]);
      lastHotDeliveredMs = nowMs;
      hotJobs++;
    } else {
      coldLatencyMs.push(latencyMs[seq]);
    }
    delivered++;
  }
  const totalMs = performance.now() - startMs;

  // Deliveries rise strictly per key, so `jobs` of them mean each job
  // exactly once.
  if (delivered !== jobs) {
    throw new Error(
      `Bench run failed (${side}): expected ${jobs} results, received ${delivered}`,
    );
  }
  latencyMs.sort();
  coldLatencyMs.sort((a, b) => a - b);
  return {
    totalMs,
    jobsPerSecond: jobs / (totalMs / 1000),
    p50Ms: percentile(latencyMs, 0.5),
    p99Ms: percentile(latencyMs, 0.99),
    coldP99Ms: percentile(coldLatencyMs, 0.99),
    hotJobsPerSecond: hotJobs / ((lastHotDeliveredMs - firstHotReadMs) / 1000),
  };
}

/**
 * Wraps a job so that it throws if its key is already running a job, or
 * has started a later one: the two ways per-key order can break inside.
 * Both sides run the same wrapper, so its cost cancels out in the ratio.
 */
function checkedWork(
  run: (seq: number) => Promise<number>,
): (seq: number) => Promise<number> {
  const isRunning = new Uint8Array(COLD_KEYS + 1);
  const lastStarted = new Int32Array(COLD_KEYS + 1).fill(-1);
  return async (seq) => {
    const key = KEYS[seq];
    if (isRunning[key] === 1 || seq <= lastStarted[key]) {
      throw new Error(
        `Per-key order violated: job ${seq} of key ${key} started while job ${
          lastStarted[key]
        } ${isRunning[key] === 1 ? "was running" : "had started"}`,
      );
    }
    isRunning[key] = 1;
    lastStarted[key] = seq;
    try {
      return await run(seq);
    } finally {
      isRunning[key] = 0;
    }
  };
}

/**
 * The jobs 0 to `jobs` - 1, made on demand. With a high-water mark of 0
 * the stream pulls only when the pipe reads, so the time stamped at the
 * enqueue is when the pipe took the job.
 */
function jobSource(
  readAtMs: Float64Array,
  jobs: number,
): ReadableStream<number> {
  let next = 0;
  return new ReadableStream<number>({
    pull: (controller) => {
      readAtMs[next] = performance.now();
      controller.enqueue(next++);
      if (next === jobs) controller.close();
    },
  }, { highWaterMark: 0 });
}

/** Jobs per second of one key running alone: its job back to back. */
async function serialRate(variant: Variant): Promise<number> {
  const startMs = performance.now();
  for (let i = 0; i < SERIAL_SAMPLES; i++) await variant.run(i);
  return SERIAL_SAMPLES / ((performance.now() - startMs) / 1000);
}

function makeKeys(count: number): Int32Array {
  const random = seededRandom(SEED);
  const keys = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    keys[i] = random() < HOT_SHARE
      ? HOT_KEY
      : 1 + Math.floor(random() * COLD_KEYS);
  }
  return keys;
}

function table(
  variant: Variant,
  pool: Series,
  pQueue: Series,
  serialJobsPerSecond: readonly number[],
): string {
  const serial = median(serialJobsPerSecond);
  const ratios = pool.runs.map((run, i) =>
    run.jobsPerSecond / pQueue.runs[i].jobsPerSecond
  );
  const p99Ratios = pool.runs.map((run, i) => run.p99Ms / pQueue.runs[i].p99Ms);
  const latency = variant.latencyUnit === "ms"
    ? formatFixed(2)
    : (ms: number) => formatCount(ms * 1000);
  const unit = variant.latencyUnit;
  const row = (name: string, series: Series, ratioCells: string[]): string => {
    const pick = (field: keyof RunResult): number[] =>
      series.runs.map((run) => run[field]);
    return `| ${
      [
        name,
        medianWithSpread(pick("totalMs"), formatCount),
        medianWithSpread(pick("jobsPerSecond"), formatCount),
        ratioCells[0],
        medianWithSpread(pick("p50Ms"), latency),
        medianWithSpread(pick("p99Ms"), latency),
        ratioCells[1],
        medianWithSpread(pick("coldP99Ms"), latency),
        medianWithSpread(pick("hotJobsPerSecond"), formatCount),
        formatFixed(3)(median(pick("hotJobsPerSecond")) / serial),
      ].join(" | ")
    } |`;
  };
  return [
    `#### ${variant.name}, ${formatCount(variant.jobs)} jobs`,
    "",
    `| side | total ms | jobs/s | jobs/s ratio pool/p-queue | p50 latency ${unit} | p99 latency ${unit} | p99 ratio pool/p-queue | cold keys p99 ${unit} | hot key jobs/s | hot key / serial bound |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    row("pool (`key`)", pool, [
      medianWithSpread(ratios, formatFixed(2)),
      medianWithSpread(p99Ratios, formatFixed(2)),
    ]),
    row("p-queue + per-key chains", pQueue, ["1 (baseline)", "1 (baseline)"]),
    "",
    `Serial bound: the job awaited back to back with nothing else running, ${
      medianWithSpread(serialJobsPerSecond, formatCount)
    } jobs/s. ${variant.hotKeyNote}`,
    "",
  ].join("\n");
}
