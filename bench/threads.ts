/**
 * Worker threads: the thread backend (a module URL as `work`) against an
 * in-thread pool, bare workers, and three peers, tinypool, workerpool and
 * piscina, as a plain script that runs the same under Deno and Bun. Every
 * side runs in this process, on 2 threads.
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
 * - the peers (see `_thread_peers.ts`), each on 2 threads loading the
 *   job's module, warmed the same way, every job submitted, then all
 *   awaited;
 * - and cold: (a) with `minWorkers: 0`, and (c) with its workers started,
 *   inside the timing. Their first result, against the warm rows', shows
 *   the cost of starting a thread and loading the module in it.
 *
 * Part 2, per-job overhead: 20,000 jobs of `n => n + 1` (`tiny_job.ts`)
 * on 2 threads, through the thread backend fed from
 * `ReadableStream.from(jobs)` and read to the end, the peers (again every
 * job submitted, then all awaited), each at one job per thread (every
 * library's default) and again at two (`jobsPerThread: 2` for ours,
 * `concurrentTasksPerWorker: 2` for tinypool and piscina; workerpool has
 * no such setting), and four references: bare workers
 * with one job in flight per thread (a round trip per job, the shape of
 * every pool here), as Web `Worker`s like ours and as
 * `node:worker_threads` workers like the peers', bare Web `Worker`s with
 * every job posted at once (what batching could reach), and the in-thread
 * pool on the same job (the pool's own cost, with no thread). Every side
 * with threads is started and warmed with 1,000 jobs before its timing,
 * and closed after it, except ours: its output ends only once its threads
 * have exited, so its timing includes that.
 *
 * Run it with (the repetition count is optional, 7 by default):
 *
 *     deno task bench:threads [repetitions]
 *     deno run --allow-read bench/threads.ts [repetitions]
 *     bun bench/threads.ts [repetitions]
 *
 * Deno needs `--allow-read` for the modules the threads load. The peers
 * need more there (`--allow-sys=cpus` for workerpool,
 * `--allow-env=PISCINA_DISABLE_ATOMICS` for tinypool and piscina,
 * `PISCINA_ENABLE_ASYNC_ATOMICS` too for piscina); the task grants them,
 * and without them the peers are left out and the report says so. The
 * tables are worded in `_thread_tables.ts`.
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
import { median } from "./_summary.ts";
import { loadPeers, type Peer } from "./_thread_peers.ts";
import {
  cpuTable,
  type Measured,
  type Side,
  type ThreadCount,
  threadCountSentence,
  tinyTable,
} from "./_thread_tables.ts";
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
// The sides of part 1 other than the peers, by the names their rows show.
const WARM = "(a) thread backend, warm: `autoScale(moduleUrl, " +
  `{ minWorkers: ${THREADS}, maxWorkers: ${THREADS} })\``;
const CPU_IN_THREAD =
  `(b) in-thread pool: \`autoScale(cpuJob, { maxWorkers: ${THREADS} })\``;
const BARE = `(c) bare workers, warm: ${THREADS} \`Worker\`s, ` +
  `${CPU_JOBS / THREADS} jobs each posted at once`;
const COLD = "(a) thread backend, cold: `autoScale(moduleUrl, " +
  `{ minWorkers: 0, maxWorkers: ${THREADS} })\``;
const BARE_COLD = "(c) bare workers, cold: started inside the timing";
// The sides of part 2 other than the peers.
const OURS = "thread backend: `autoScale(moduleUrl, " +
  `{ minWorkers: ${THREADS}, maxWorkers: ${THREADS} })\`, ` +
  "fed from a stream, read to the end";
const SHARED = 2;
const OURS_SHARED = "thread backend, two jobs per thread: " +
  `\`autoScale(moduleUrl, { minWorkers: ${THREADS * SHARED}, ` +
  `maxWorkers: ${THREADS * SHARED}, jobsPerThread: ${SHARED} })\``;
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
  /** When the first result came in, on the `performance.now()` clock. */
  readonly firstResultAtMs: number;
}

const repetitions = Number(process.argv[2] ?? DEFAULT_REPETITIONS);
if (!Number.isInteger(repetitions) || repetitions < 1) {
  throw new RangeError(
    `Cannot run bench: the repetition count must be an integer >= 1, received ${
      process.argv[2]
    }`,
  );
}

const threadCounts: ThreadCount[] = [
  { when: "at start", count: osThreadCount() },
];
const { peers, leftOut } = await loadPeers();
const sharedPeers = peers.flatMap((peer) =>
  peer.withJobsPerThread === undefined ? [] : [peer.withJobsPerThread(SHARED)]
);
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

const peerSides = (measured: Map<string, Measured>): Side[] =>
  peers.map(({ name }) => sideOf(measured, name));
console.log(
  [
    `### Worker threads on ${runtimeName()}`,
    "",
    `${THREADS} threads on every side, navigator.hardwareConcurrency ` +
    `${navigator.hardwareConcurrency}. ${repetitions} repetitions after a ` +
    "warm-up round, rotating the order of the sides; medians (min-max), " +
    "ratios taken within each repetition. " +
    threadCountSentence(threadCounts),
    "",
    cpuTable({
      threads: THREADS,
      jobs: CPU_JOBS,
      targetJobMs: CPU_JOB_MS,
      iterations: calibration.iterations,
      jobMs: calibration.jobMs,
      speedupTarget: SPEEDUP_TARGET,
      warm: sideOf(cpu, WARM),
      inThread: sideOf(cpu, CPU_IN_THREAD),
      bare: sideOf(cpu, BARE),
      peers: peerSides(cpu),
      cold: sideOf(cpu, COLD),
      bareCold: sideOf(cpu, BARE_COLD),
    }),
    tinyTable({
      jobs: TINY_JOBS,
      ours: sideOf(tiny, OURS),
      peers: peerSides(tiny),
      jobsPerThread: SHARED,
      oursShared: sideOf(tiny, OURS_SHARED),
      sharedPeers: sharedPeers.map(({ name }) => sideOf(tiny, name)),
      roundTrip: sideOf(tiny, ROUND_TRIP),
      nodeRoundTrip: sideOf(tiny, NODE_ROUND_TRIP),
      pipelined: sideOf(tiny, PIPELINED),
      inThread: sideOf(tiny, IN_THREAD),
      leftOut,
    }),
  ].join("\n"),
);

function cpuContenders(): Contender[] {
  const warmupJobs = cpuJobs.slice(0, THREADS);
  return [
    { name: WARM, prepare: () => warmThreadPool(CPU_JOB_URL, warmupJobs) },
    { name: CPU_IN_THREAD, prepare: () => Promise.resolve(poolSide(cpuJob)) },
    {
      name: BARE,
      prepare: () => warmRawThreads("cpu", "pipelined", warmupJobs, "web"),
    },
    ...peers.map((peer) => peerContender(peer, "cpu", warmupJobs)),
    {
      name: COLD,
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
      name: BARE_COLD,
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
    { name: OURS, prepare: () => warmThreadPool(TINY_JOB_URL, tinyWarmupJobs) },
    ...peers.map((peer) => peerContender(peer, "tiny", tinyWarmupJobs)),
    {
      name: OURS_SHARED,
      prepare: () => warmThreadPool(TINY_JOB_URL, tinyWarmupJobs, SHARED),
    },
    ...sharedPeers.map((peer) => peerContender(peer, "tiny", tinyWarmupJobs)),
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
    { name: IN_THREAD, prepare: () => Promise.resolve(poolSide(increment)) },
  ];
}

/** A peer's pool on `THREADS` threads, warmed by `warmupJobs`. */
function peerContender(
  peer: Peer,
  job: RawJobKind,
  warmupJobs: readonly number[],
): Contender {
  return {
    name: peer.name,
    prepare: async () => {
      const pool = await peer.start(THREADS, job);
      await pool.run(warmupJobs);
      return { run: (jobs) => pool.run(jobs), close: () => pool.close() };
    },
  };
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
  const measured = new Map<
    string,
    { wallMs: number[]; firstResultMs: number[] }
  >(contenders.map(({ name }) => [name, { wallMs: [], firstResultMs: [] }]));
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
 * A thread pool with both threads up, each shared by `jobsPerThread`
 * workers, warmed by `warmupJobs` written to its own streams, which are
 * then released for the timed pipe.
 */
async function warmThreadPool(
  moduleUrl: URL,
  warmupJobs: readonly number[],
  jobsPerThread = 1,
): Promise<Prepared> {
  const workers = THREADS * jobsPerThread;
  const pool = autoScale<number, number>(moduleUrl, {
    minWorkers: workers,
    maxWorkers: workers,
    jobsPerThread,
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
    close: () => closeThreadPool(pool, workers),
  };
}

/**
 * Waits for a thread pool to end and checks that it kept its bounds and
 * left no worker or thread behind.
 *
 * @throws {Error} It did not.
 */
async function closeThreadPool(
  pool: AutoScaleStream<number, number>,
  maxWorkers = THREADS,
): Promise<void> {
  await pool.closed;
  const { workers, threads, peakWorkers } = pool.stats();
  if (workers !== 0 || threads !== 0 || peakWorkers > maxWorkers) {
    throw new Error(
      `Bench run failed: the thread pool ended with ${workers} workers and ${threads} threads after a peak of ${peakWorkers} workers`,
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

/**
 * `name`'s measurements as a side of a table.
 *
 * @throws {Error} No contender of that name was measured.
 */
function sideOf(measured: Map<string, Measured>, name: string): Side {
  const record = measured.get(name);
  if (record === undefined) {
    throw new Error(`Bench run failed: no side was measured as ${name}`);
  }
  return { name, ...record };
}
