/**
 * Worker threads: the thread backend (a module URL as `work`) against an
 * in-thread pool, bare workers, tinypool and workerpool, as a plain script
 * that runs the same under Deno and Bun. Every side runs in this process,
 * on 2 threads.
 *
 * Part 1, CPU-bound speedup: 64 jobs of about 20 ms of pure computation
 * each (`cpu_job.ts`; its loop length is calibrated once at start so that
 * one job takes 20 ms in this thread, and every side gets that same input)
 * through:
 *
 * - (a) the thread backend, `autoScale(moduleUrl, { minWorkers: 2,
 *   maxWorkers: 2 })`, warm: before the timing, both threads are up and
 *   have run one job each (written to the same pool, whose streams are
 *   then released and piped);
 * - (b) an in-thread pool, `autoScale(cpuJob, { maxWorkers: 2 })`, the
 *   same function imported directly, which can only run the jobs one
 *   after another;
 * - (c) the floor, two bare workers (`_raw_worker.ts`) with 32 jobs each
 *   posted at once, warmed the same way;
 * - and cold: (a) with `minWorkers: 0`, and (c) with its workers started,
 *   inside the timing. Their first result, against the warm rows', shows
 *   the cost of starting a thread and loading the module in it.
 *
 * Part 2, per-job overhead: 20,000 jobs of `n => n + 1` (`tiny_job.ts`)
 * on 2 threads, through the thread backend fed from
 * `ReadableStream.from(jobs)` and read to the end, tinypool and workerpool
 * (see `_thread_peers.ts`: every job submitted, then all awaited), and
 * four references: bare workers with one job in flight per thread (a
 * round trip per job, the shape of every pool here), as Web `Worker`s like
 * ours and as `node:worker_threads` workers like tinypool's, bare Web
 * `Worker`s with every job posted at once (what batching could reach),
 * and the in-thread pool on the same job (the pool's own cost, with no
 * thread). Every side with threads is started and warmed with 1,000 jobs
 * before its timing, and closed after it, except ours: its output ends
 * only once its threads have exited, so its timing includes that.
 *
 * Run it with (the repetition count is optional, 7 by default):
 *
 *     deno task bench:threads [repetitions]
 *     deno run --allow-read bench/threads.ts [repetitions]
 *     bun bench/threads.ts [repetitions]
 *
 * Deno needs `--allow-read` for the modules the threads load. The peers
 * need more there (`--allow-sys=cpus` for workerpool,
 * `--allow-env=PISCINA_DISABLE_ATOMICS` for tinypool); the task grants
 * both, and without them the peers are left out and the report says so.
 *
 * Every result is checked. Each run has a deadline, so a side that hangs
 * fails the bench with its name instead of stalling it, and on Linux the
 * process's OS thread count is printed before and after each part, so a
 * thread left running by a closed pool shows up.
 *
 * Built for a noisy shared machine: a warm-up round of every side first,
 * then repetitions that rotate the order of the sides; medians with
 * min-max, and ratios taken within each repetition.
 * @module
 */

import { readdirSync } from "node:fs";
import process from "node:process";
import { autoScale, type AutoScaleStream } from "../mod.ts";
import cpuJob from "./cpu_job.ts";
import {
  type RawJobKind,
  RawThreads,
  type RawTransport,
} from "./_raw_threads.ts";
import { runtimeName } from "./_runtime.ts";
import {
  formatCount,
  formatFixed,
  median,
  medianWithSpread,
} from "./_summary.ts";
import { loadPeers } from "./_thread_peers.ts";
import increment from "./tiny_job.ts";

const THREADS = 2;
const CPU_JOBS = 64;
const CPU_JOB_MS = 20;
const TINY_JOBS = 20_000;
const TINY_WARMUP_JOBS = 1_000;
const SPEEDUP_TARGET = 1.9;
const DEFAULT_REPETITIONS = 7;
// Far above any run here (the slowest takes about 1.5 s), so only a side
// that stopped making progress reaches it.
const RUN_DEADLINE_MS = 60_000;
const CPU_JOB_URL = new URL("./cpu_job.ts", import.meta.url);
const TINY_JOB_URL = new URL("./tiny_job.ts", import.meta.url);
// The references of part 2, by the names their rows show.
const ROUND_TRIP =
  "bare Web `Worker`s, one job in flight per thread (a round trip per job)";
const NODE_ROUND_TRIP =
  "bare `node:worker_threads` workers, one job in flight per thread";
const PIPELINED = "bare Web `Worker`s, every job posted at once (pipelined)";
const IN_THREAD = "in-thread pool, no threads: " +
  `\`autoScale(increment, { maxWorkers: ${THREADS} })\``;

/** One side of a comparison. */
interface Contender {
  readonly name: string;
  /** The untimed part: starting and warming threads. */
  prepare(): Promise<Prepared>;
}

/** A side ready to be timed. */
interface Prepared {
  /** The timed part: every job in, every result out. */
  run(jobs: readonly number[]): Promise<Run>;
  /** The untimed part after it: ending the pool. */
  close(): Promise<void>;
}

/** What one timed run returns. */
interface Run {
  /** Every result, in any order. */
  readonly results: number[];
  /**
   * When the first result came in, on the `performance.now()` clock; NaN
   * where a side's API does not show it.
   */
  readonly firstResultAtMs: number;
}

/** What {@linkcode measure} records of one contender, one entry a run. */
interface Measured {
  readonly wallMs: number[];
  readonly firstResultMs: number[];
}

const repetitions = Number(process.argv[2] ?? DEFAULT_REPETITIONS);
if (!Number.isInteger(repetitions) || repetitions < 1) {
  throw new RangeError(
    `Cannot run bench: the repetition count must be an integer >= 1, received ${
      process.argv[2]
    }`,
  );
}

const threadCounts = [{ when: "at start", count: osThreadCount() }];
const calibration = calibrate();
const cpuJobs = new Array<number>(CPU_JOBS).fill(calibration.iterations);
const cpuExpected = cpuJob(calibration.iterations);
const cpu = await measure(cpuContenders(), cpuJobs, (results) => {
  if (
    results.length !== CPU_JOBS ||
    results.some((value) => value !== cpuExpected)
  ) {
    throw new Error("Bench run failed: the CPU jobs returned wrong results");
  }
});
threadCounts.push({ when: "after part 1", count: await settledThreadCount() });

const { peers, leftOut } = await loadPeers();
const tinyJobs = Array.from({ length: TINY_JOBS }, (_, i) => i);
const tinyWarmupJobs = tinyJobs.slice(0, TINY_WARMUP_JOBS);
const tiny = await measure(tinyContenders(), tinyJobs, (results) => {
  // Each of 1 to TINY_JOBS exactly once, in whatever order.
  const seen = new Uint8Array(TINY_JOBS + 1);
  for (const value of results) {
    if (!(value >= 1 && value <= TINY_JOBS) || seen[value] === 1) {
      throw new Error(`Bench run failed: a tiny job returned ${value}`);
    }
    seen[value] = 1;
  }
  if (results.length !== TINY_JOBS) {
    throw new Error(
      `Bench run failed: expected ${TINY_JOBS} tiny results, received ${results.length}`,
    );
  }
});
threadCounts.push({ when: "after part 2", count: await settledThreadCount() });

console.log(
  [
    `### Worker threads on ${runtimeName()}`,
    "",
    `${THREADS} threads on every side, navigator.hardwareConcurrency ` +
    `${navigator.hardwareConcurrency}. ${repetitions} repetitions after a ` +
    "warm-up round, rotating the order of the sides; medians (min-max), " +
    `ratios taken within each repetition. ${threadCountSentence()}`,
    "",
    cpuTable(),
    tinyTable(),
  ].join("\n"),
);

function cpuContenders(): Contender[] {
  const warmupJobs = cpuJobs.slice(0, THREADS);
  return [
    {
      name: "(a) thread backend, warm: `autoScale(moduleUrl, " +
        `{ minWorkers: ${THREADS}, maxWorkers: ${THREADS} })\``,
      prepare: () => warmThreadPool(CPU_JOB_URL, warmupJobs),
    },
    {
      name:
        `(b) in-thread pool: \`autoScale(cpuJob, { maxWorkers: ${THREADS} })\``,
      prepare: () => Promise.resolve(poolSide(cpuJob)),
    },
    {
      name: `(c) bare workers, warm: ${THREADS} \`Worker\`s, ` +
        `${CPU_JOBS / THREADS} jobs each posted at once`,
      prepare: () => warmRawThreads("cpu", "pipelined", warmupJobs, "web"),
    },
    {
      name: "(a) thread backend, cold: `autoScale(moduleUrl, " +
        `{ minWorkers: 0, maxWorkers: ${THREADS} })\``,
      prepare: () =>
        Promise.resolve({
          run: async (jobs) => {
            const pool = autoScale<number, number>(CPU_JOB_URL, {
              minWorkers: 0,
              maxWorkers: THREADS,
            });
            const run = await pipeAll(pool, jobs);
            await closeThreadPool(pool);
            return run;
          },
          close: () => Promise.resolve(),
        }),
    },
    {
      name: "(c) bare workers, cold: started inside the timing",
      prepare: () =>
        Promise.resolve({
          run: async (jobs) => {
            const raw = await RawThreads.start("cpu", THREADS);
            try {
              return await raw.runPipelined(jobs);
            } finally {
              raw.terminate();
            }
          },
          close: () => Promise.resolve(),
        }),
    },
  ];
}

function tinyContenders(): Contender[] {
  return [
    {
      name: "thread backend: `autoScale(moduleUrl, " +
        `{ minWorkers: ${THREADS}, maxWorkers: ${THREADS} })\`, ` +
        "fed from a stream, read to the end",
      prepare: () => warmThreadPool(TINY_JOB_URL, tinyWarmupJobs),
    },
    ...peers.map((peer): Contender => ({
      name: peer.name,
      prepare: async () => {
        const pool = await peer.start(THREADS);
        await pool.run(tinyWarmupJobs);
        return {
          run: async (jobs) => ({
            results: await pool.run(jobs),
            firstResultAtMs: NaN,
          }),
          close: () => pool.close(),
        };
      },
    })),
    {
      name: ROUND_TRIP,
      prepare: () =>
        warmRawThreads("tiny", "round trip", tinyWarmupJobs, "web"),
    },
    {
      name: NODE_ROUND_TRIP,
      prepare: () =>
        warmRawThreads("tiny", "round trip", tinyWarmupJobs, "node"),
    },
    {
      name: PIPELINED,
      prepare: () => warmRawThreads("tiny", "pipelined", tinyWarmupJobs, "web"),
    },
    {
      name: IN_THREAD,
      prepare: () => Promise.resolve(poolSide(increment)),
    },
  ];
}

/**
 * Runs a warm-up round of every contender, then `repetitions` rounds in a
 * rotating order, and returns what each one's runs measured, by name.
 */
async function measure(
  contenders: readonly Contender[],
  jobs: readonly number[],
  check: (results: readonly number[]) => void,
): Promise<Map<string, Measured>> {
  const measured = new Map<string, Measured>(
    contenders.map(({ name }) => [name, { wallMs: [], firstResultMs: [] }]),
  );
  for (let round = -1; round < repetitions; round++) {
    const offset = Math.max(0, round);
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + offset) % contenders.length];
      const prepared = await withDeadline(
        contender.prepare(),
        `${contender.name} start`,
      );
      const startMs = performance.now();
      const run = await withDeadline(prepared.run(jobs), contender.name);
      const elapsedMs = performance.now() - startMs;
      await withDeadline(prepared.close(), `${contender.name} close`);
      check(run.results);
      const record = measured.get(contender.name);
      if (round >= 0 && record !== undefined) {
        record.wallMs.push(elapsedMs);
        record.firstResultMs.push(run.firstResultAtMs - startMs);
      }
    }
  }
  return measured;
}

/**
 * A thread pool with both threads up, warmed by `warmupJobs` written to
 * its own streams, which are then released for the timed pipe.
 */
async function warmThreadPool(
  moduleUrl: URL,
  warmupJobs: readonly number[],
): Promise<Prepared> {
  const pool = autoScale<number, number>(moduleUrl, {
    minWorkers: THREADS,
    maxWorkers: THREADS,
  });
  const writer = pool.writable.getWriter();
  const reader = pool.readable.getReader();
  // Written without waiting, so that backpressure cannot hold a write
  // while nothing reads; the pool queues them.
  const writes = Promise.all(warmupJobs.map((job) => writer.write(job)));
  for (let i = 0; i < warmupJobs.length; i++) await reader.read();
  await writes;
  writer.releaseLock();
  reader.releaseLock();
  return {
    run: (jobs) => pipeAll(pool, jobs),
    close: () => closeThreadPool(pool),
  };
}

/**
 * Waits for a thread pool to end and checks that it kept its bounds and
 * left no thread behind.
 *
 * @throws {Error} It did not.
 */
async function closeThreadPool(
  pool: AutoScaleStream<number, number>,
): Promise<void> {
  await pool.closed;
  const { workers, peakWorkers } = pool.stats();
  if (workers !== 0 || peakWorkers > THREADS) {
    throw new Error(
      `Bench run failed: the thread pool ended with ${workers} threads after a peak of ${peakWorkers}`,
    );
  }
}

/** An in-thread pool of `work`, with nothing to warm. */
function poolSide(work: (n: number) => number): Prepared {
  const pool = autoScale(work, { maxWorkers: THREADS });
  return { run: (jobs) => pipeAll(pool, jobs), close: () => pool.closed };
}

/** Streams `jobs` through `pool` and reads every result. */
async function pipeAll(
  pool: AutoScaleStream<number, number>,
  jobs: readonly number[],
): Promise<Run> {
  const results: number[] = [];
  let firstResultAtMs = NaN;
  for await (const value of ReadableStream.from(jobs).pipeThrough(pool)) {
    if (results.length === 0) firstResultAtMs = performance.now();
    results.push(value);
  }
  return { results, firstResultAtMs };
}

async function warmRawThreads(
  kind: RawJobKind,
  feed: "pipelined" | "round trip",
  warmupJobs: readonly number[],
  transport: RawTransport,
): Promise<Prepared> {
  const raw = await RawThreads.start(kind, THREADS, transport);
  const run = (jobs: readonly number[]): Promise<Run> =>
    feed === "pipelined" ? raw.runPipelined(jobs) : raw.runRoundTrip(jobs);
  await run(warmupJobs);
  return { run, close: () => Promise.resolve(raw.terminate()) };
}

/**
 * The loop length that takes `CPU_JOB_MS` here: doubled until one run is
 * long enough to time, then scaled from the median of a few runs, which
 * also leaves the loop optimised.
 */
function calibrate(): { iterations: number; jobMs: number } {
  let iterations = 1 << 16;
  while (timeCpuJob(iterations) < CPU_JOB_MS / 4) iterations *= 2;
  const msPerIteration = median(
    Array.from({ length: 5 }, () => timeCpuJob(iterations) / iterations),
  );
  iterations = Math.round(CPU_JOB_MS / msPerIteration);
  const jobMs = median(
    Array.from({ length: 5 }, () => timeCpuJob(iterations)),
  );
  return { iterations, jobMs };
}

function timeCpuJob(iterations: number): number {
  const startMs = performance.now();
  cpuJob(iterations);
  return performance.now() - startMs;
}

/** Rejects with the side's name if `promise` has not settled in time. */
async function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `Bench run hung: ${what} did not finish within ${RUN_DEADLINE_MS} ms`,
          ),
        ),
      RUN_DEADLINE_MS,
    );
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The OS threads of this process, from Linux's `/proc`; undefined
 * elsewhere, and under Deno without `--allow-all`, which it asks for any
 * read there.
 */
function osThreadCount(): number | undefined {
  try {
    return readdirSync("/proc/self/task").length;
  } catch {
    return undefined;
  }
}

/** The thread count once terminated threads have had time to exit. */
async function settledThreadCount(): Promise<number | undefined> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  return osThreadCount();
}

function threadCountSentence(): string {
  if (threadCounts.some(({ count }) => count === undefined)) {
    return "OS thread count: not readable here (Deno reads `/proc` only " +
      "with `--allow-all`).";
  }
  return `OS threads of the process: ${
    threadCounts.map(({ when, count }) => `${count} ${when}`).join(", ")
  }.`;
}

function cpuTable(): string {
  const [warm, inThread, raw, cold, rawCold] = [...cpu.values()];
  const names = [...cpu.keys()];
  const ratio = (numerator: Measured, denominator: Measured): number[] =>
    numerator.wallMs.map((ms, i) => ms / denominator.wallMs[i]);
  const ms = (values: number[]): string =>
    medianWithSpread(values, formatCount);
  const x = (values: number[]): string =>
    medianWithSpread(values, formatFixed(2));
  const row = (name: string, side: Measured, cells: string[]): string =>
    `| ${
      [name, ms(side.wallMs), ms(side.firstResultMs), ...cells].join(" | ")
    } |`;
  const startUpMs = (coldSide: Measured, warmSide: Measured): string =>
    formatCount(
      median(coldSide.firstResultMs) - median(warmSide.firstResultMs),
    );
  const speedups = ratio(inThread, warm);
  const isMet = median(speedups) >= SPEEDUP_TARGET;
  return [
    `#### Part 1: CPU-bound, ${CPU_JOBS} jobs of ${CPU_JOB_MS} ms`,
    "",
    `The job: ${formatCount(calibration.iterations)} loop steps, ` +
    `${formatFixed(1)(calibration.jobMs)} ms in this thread ` +
    `(median of 5), so ${CPU_JOBS} of them take about ` +
    `${formatCount(CPU_JOBS * calibration.jobMs)} ms serially and ` +
    `${formatCount((CPU_JOBS * calibration.jobMs) / THREADS)} ms on ` +
    `${THREADS} threads. First result: from the start of the timing to ` +
    "the first result, one job's time plus, cold, the threads' start-up. " +
    "Speedup: (b)'s wall time over the row's, in the same repetition. " +
    "Speed of bare workers: the bare workers' wall time over the row's " +
    "(1 is as fast as bare workers; cold rows against the cold bare " +
    "workers).",
    "",
    "| side | wall ms | first result ms | speedup over (b) | speed of bare workers (c) |",
    "| --- | ---: | ---: | ---: | ---: |",
    row(names[0], warm, [x(speedups), x(ratio(raw, warm))]),
    row(names[1], inThread, ["1 (baseline)", "-"]),
    row(names[2], raw, [x(ratio(inThread, raw)), "1 (baseline)"]),
    row(names[3], cold, [x(ratio(inThread, cold)), x(ratio(rawCold, cold))]),
    row(names[4], rawCold, [x(ratio(inThread, rawCold)), "1 (baseline)"]),
    "",
    "Thread start-up, the first result cold minus warm (medians): thread " +
    `backend ${startUpMs(cold, warm)} ms, bare workers ` +
    `${startUpMs(rawCold, raw)} ms; as wall time, cold minus warm: thread ` +
    `backend ${formatCount(median(cold.wallMs) - median(warm.wallMs))} ms, ` +
    `bare workers ${
      formatCount(median(rawCold.wallMs) - median(raw.wallMs))
    } ms.`,
    "",
    `Target (speedup of (a) over (b) >= ${SPEEDUP_TARGET}): ${
      isMet ? "met" : "missed"
    }, median ${formatFixed(2)(median(speedups))}.`,
    "",
  ].join("\n");
}

function tinyTable(): string {
  const entries = [...tiny.entries()].map((
    [name, { wallMs }],
  ): [string, number[]] => [name, wallMs]);
  const [[, ours]] = entries;
  const perJobUs = (values: number[]): number[] =>
    values.map((ms) => (ms * 1000) / TINY_JOBS);
  const jobsPerSecond = (values: number[]): number[] =>
    values.map((ms) => TINY_JOBS / (ms / 1000));
  const lines = [
    `#### Part 2: per-job overhead, ${formatCount(TINY_JOBS)} jobs of ` +
    "`n => n + 1`",
    "",
    "µs/job: wall time over the job count, with both threads working. " +
    "Ours ÷ side: our jobs/s over the side's, in the same repetition; " +
    "above 1 we are faster.",
    "",
    "| side | wall ms | jobs/s | µs/job | ours ÷ side (jobs/s) |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const [index, [name, wallMs]] of entries.entries()) {
    const ratios = ours.map((ms, i) => wallMs[i] / ms);
    lines.push(
      `| ${
        [
          name,
          medianWithSpread(wallMs, formatCount),
          medianWithSpread(jobsPerSecond(wallMs), formatCount),
          medianWithSpread(perJobUs(wallMs), formatFixed(1)),
          index === 0
            ? "1 (baseline)"
            : medianWithSpread(ratios, formatFixed(2)),
        ].join(" | ")
      } |`,
    );
  }
  const verdicts = peers.map(({ name }) => {
    const ratios = ours.map((ms, i) => (tiny.get(name)?.wallMs ?? [])[i] / ms);
    const library = name.split(" (")[0];
    return `${library}: ${median(ratios) >= 1 ? "met" : "missed"} (median ${
      formatFixed(2)(median(ratios))
    })`;
  });
  const us = (name: string): number =>
    median(perJobUs(tiny.get(name)?.wallMs ?? []));
  const roundTripUs = us(ROUND_TRIP);
  const inThreadUs = us(IN_THREAD);
  const oursUs = median(perJobUs(ours));
  const fixed = formatFixed(1);
  lines.push(
    "",
    `Where our ${fixed(oursUs)} µs/job go (medians): a bare round trip ` +
      `between Web \`Worker\`s, one number each way per job, takes ` +
      `${fixed(roundTripUs)}; the pool's own work, measured with no thread, ` +
      `${fixed(inThreadUs)}; the rest, ` +
      `${fixed(oursUs - roundTripUs - inThreadUs)}, is what the thread ` +
      "backend adds to a bare message, give or take this machine's noise: " +
      "an object envelope cloned each way " +
      "instead of a number, an id, a pending promise and an abort listener " +
      "per job, and the thread's async handler. The same bare round trip on " +
      `\`node:worker_threads\`, tinypool's channel, takes ` +
      `${fixed(us(NODE_ROUND_TRIP))}. Posted all at once, the messages take ` +
      `${fixed(us(PIPELINED))} µs/job: waiting for each reply before ` +
      "sending the next job, as every pool here does, costs far more than " +
      "copying the messages.",
    "",
    verdicts.length === 0
      ? "Target (no slower than the peers): not checked, no peer ran."
      : `Target (no slower than the peers): ${verdicts.join("; ")}.`,
    ...leftOut.map((sentence) => `\n${sentence}`),
    "",
  );
  return lines.join("\n");
}
