/**
 * Soak: ten million jobs through one pool with every reliability feature
 * switched on, to show that a long-lived pool holds no memory per job and
 * loses no job. Not run in CI: it takes about 15 s on a shared 2-core
 * machine, a third of that in the pauses between bursts.
 *
 * Jobs are the numbers 0 to N - 1, made on demand by a pull-based
 * `ReadableStream` in bursts of 5,000, with a 1 ms pause between bursts
 * and a 40 ms one every 25th burst, long enough for idle workers to be
 * retired (`idleTimeout` 20 ms) and started again. The pool runs with
 * `maxWorkers` 64, `timeout` 50 ms, `retry` (3 attempts, 1 ms backoff) and
 * `settled: true`. Most jobs are cheap, returning at once or through a
 * resolved promise; 1% fail on their first attempt only (retried, then
 * fulfilled), 0.1% fail on every attempt (delivered as rejected records)
 * and 0.001% hang on every attempt until the pool times them out (they
 * listen to their signal and clear their timer, so a rejected record with
 * a `TimeoutError` comes out).
 *
 * It prints, as Markdown: heap used (before and after a full collection)
 * and RSS at the start, at 25%, 50% and 75% of the results and at the end;
 * the growth from 50% to the end; RSS at every tenth of the results; the
 * throughput, with and without the pauses; the final `stats()`; and
 * a list of checks, each against a plain count of which jobs should do
 * what: `completed + failed + unfinished().length === accepted`, nothing
 * unfinished, the expected completed, failed, retried and timed-out
 * counts, every record read once, and no hanging job left with a timer.
 * It exits non-zero when a check fails.
 *
 * Run it with (the job count is optional, 10,000,000 by default):
 *
 *     deno task bench:soak [jobs]
 *     deno run --v8-flags=--expose-gc bench/soak.ts [jobs]
 *     bun bench/soak.ts [jobs]
 *
 * What good looks like: every check passes, and the heap after a full
 * collection grows by well under 1 MB from 50% to the end, since nothing
 * the pool keeps should scale with the jobs it has run. RSS is coarser:
 * an engine may enlarge its young generation once, well into the run, and
 * allocators keep pages they freed, so RSS can step up once and then stay
 * level; a leak shows as a climb from one tenth to the next.
 *
 * A soak measures growth over its own run, so, unlike the other benches,
 * it runs no baseline. Without a collection exposed (Deno without
 * `--expose-gc`), the heap figures include garbage and the table says so.
 * 1 MB here is 2^20 bytes.
 * @module
 */

import process from "node:process";
import { autoScale, type JobContext, type PoolStats } from "../mod.ts";
import {
  canCollectGarbage,
  collectGarbage,
  type MemorySample,
  runtimeName,
  sampleMemory,
} from "./_runtime.ts";

const DEFAULT_JOBS = 10_000_000;
const BURST_JOBS = 5_000;
const SHORT_GAP_MS = 1;
const LONG_GAP_MS = 40;
const LONG_GAP_EVERY_BURSTS = 25;
// Jobs the source may make ahead of the pool's demand: enough to fill the
// pool's intake in one pull, few enough to stay a lazy stream.
const SOURCE_HIGH_WATER_MARK = 256;

const MAX_WORKERS = 64;
const IDLE_TIMEOUT_MS = 20;
const TIMEOUT_MS = 50;
const ATTEMPTS = 3;
const RETRY_DELAY_MS = 1;

// Which jobs misbehave, by residue; the residues differ modulo 100, so no
// job falls in two groups.
const FAIL_ONCE_EVERY = 100;
const FAIL_ONCE_RESIDUE = 1;
const ALWAYS_FAIL_EVERY = 1_000;
const ALWAYS_FAIL_RESIDUE = 500;
const HANG_EVERY = 100_000;
const HANG_RESIDUE = 99_999;
// Far past the timeout: only an abort from the pool ends a hang in time.
const HANG_MS = 10 * TIMEOUT_MS;

const BYTES_PER_MB = 1024 * 1024;

/** What a job does, decided by its number alone. */
type JobKind = "sync" | "async" | "failOnce" | "alwaysFail" | "hang";

/** One memory sample, labelled with how far the run had got. */
interface Checkpoint {
  readonly label: string;
  readonly results: number;
  readonly elapsedMs: number;
  /** Before the collection. */
  readonly raw: MemorySample;
  /** After a full collection, where the runtime allows one. */
  readonly collected: MemorySample;
}

/** The records read from the output, by outcome. */
interface RecordsRead {
  fulfilled: number;
  rejected: number;
  /** Rejected records whose reason is a `TimeoutError`. */
  timedOut: number;
}

/** What the hanging jobs did; every hang should end by abort. */
const hangs = { started: 0, aborted: 0, overran: 0, timersOpen: 0 };

async function main(): Promise<void> {
  const jobs = jobCount(process.argv.slice(2));
  // Sampled before any stream exists, as the baseline of the run.
  const checkpoints = [checkpoint("start", 0, 0)];
  const source = new BurstySource(jobs);
  const pool = autoScale(work, {
    maxWorkers: MAX_WORKERS,
    idleTimeout: IDLE_TIMEOUT_MS,
    timeout: TIMEOUT_MS,
    retry: { attempts: ATTEMPTS, delay: RETRY_DELAY_MS },
    settled: true,
  });

  const startMs = performance.now();
  const read: RecordsRead = { fulfilled: 0, rejected: 0, timedOut: 0 };
  const reader = source.readable.pipeThrough(pool).getReader();
  let quarter = 1;
  let mark = quarterMark(jobs, quarter);
  // RSS every tenth of the results, between the checkpoints and without
  // a collection, to tell a one-off step from a steady climb.
  const rssByTenth: number[] = [];
  let nextTenth = tenthMark(jobs, 1);
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    if (value.status === "fulfilled") read.fulfilled++;
    else {
      read.rejected++;
      if (isTimeout(value.reason)) read.timedOut++;
    }
    // Loops, since tiny runs put several marks on one result.
    while (nextTenth > 0 && read.fulfilled + read.rejected >= nextTenth) {
      rssByTenth.push(sampleMemory().rssBytes);
      nextTenth = tenthMark(jobs, rssByTenth.length + 1);
    }
    while (quarter < 4 && read.fulfilled + read.rejected >= mark) {
      const elapsedMs = performance.now() - startMs;
      checkpoints.push(checkpoint(`${quarter * 25}%`, mark, elapsedMs));
      quarter++;
      mark = quarterMark(jobs, quarter);
    }
  }
  await pool.closed;
  const elapsedMs = performance.now() - startMs;
  checkpoints.push(
    checkpoint("end", read.fulfilled + read.rejected, elapsedMs),
  );

  const stats = pool.stats();
  const unfinished = pool.unfinished().length;
  const checks = runChecks(jobs, stats, unfinished, read);
  console.log(report({
    jobs,
    elapsedMs,
    pausedMs: source.pausedMs,
    checkpoints,
    rssByTenth,
    stats,
    unfinished,
    checks,
  }));
  const failedChecks = checks.filter((check) => !check.ok);
  if (failedChecks.length > 0) {
    throw new Error(
      `Soak failed: ${failedChecks.map((check) => check.name).join("; ")}`,
    );
  }
}

/**
 * The job count from the command line, 10,000,000 when absent;
 * underscores and commas are allowed as separators.
 *
 * @throws {RangeError} The count is not an integer >= 1.
 */
function jobCount(args: string[]): number {
  if (args.length === 0) return DEFAULT_JOBS;
  const count = Number(args[0].replaceAll(/[_,]/g, ""));
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new RangeError(
      `Cannot run soak: "jobs" must be an integer >= 1, received ${
        JSON.stringify(args[0])
      }`,
    );
  }
  return count;
}

/** The result count at which `quarter` quarters of the results are in. */
function quarterMark(total: number, quarter: number): number {
  return Math.max(1, Math.floor(total * quarter / 4));
}

/** The result count at which `tenth` tenths are in; -1 past the last. */
function tenthMark(total: number, tenth: number): number {
  return tenth <= 10 ? Math.max(1, Math.floor(total * tenth / 10)) : -1;
}

function kindOf(n: number): JobKind {
  if (n % HANG_EVERY === HANG_RESIDUE) return "hang";
  if (n % ALWAYS_FAIL_EVERY === ALWAYS_FAIL_RESIDUE) return "alwaysFail";
  if (n % FAIL_ONCE_EVERY === FAIL_ONCE_RESIDUE) return "failOnce";
  return n % 2 === 0 ? "sync" : "async";
}

/**
 * The job: cheap for almost every number. Only hangs read
 * `context.signal`, since the pool makes a job's signal on first use.
 */
function work(n: number, context: JobContext): number | Promise<number> {
  switch (kindOf(n)) {
    case "sync":
      return n;
    case "async":
      return Promise.resolve(n);
    case "failOnce":
      if (context.attempt === 1) {
        throw new Error(`Job ${n} failed on its first attempt`);
      }
      return n;
    case "alwaysFail":
      return Promise.reject(
        new Error(`Job ${n} failed on attempt ${context.attempt}`),
      );
    case "hang":
      return hang(context.signal);
  }
}

/**
 * Waits far longer than the pool's timeout, as a stuck request would, but
 * gives up when `signal` aborts and leaves no timer or listener behind.
 */
function hang(signal: AbortSignal): Promise<number> {
  return new Promise((_, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    hangs.started++;
    hangs.timersOpen++;
    const onAbort = (): void => {
      clearTimeout(timer);
      hangs.timersOpen--;
      hangs.aborted++;
      reject(signal.reason);
    };
    const timer: ReturnType<typeof setTimeout> = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      hangs.timersOpen--;
      hangs.overran++;
      reject(new Error(`A hanging job ran its full ${HANG_MS} ms`));
    }, HANG_MS);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function isTimeout(reason: unknown): boolean {
  return reason instanceof DOMException && reason.name === "TimeoutError";
}

/**
 * Jobs `0` to `total - 1`, made only when the stream is pulled, in bursts
 * separated by pauses. It counts how long it paused, so the throughput can
 * be given with and without those pauses.
 */
class BurstySource {
  readonly readable: ReadableStream<number>;
  #total: number;
  #next = 0;
  #pausedMs = 0;

  constructor(total: number) {
    this.#total = total;
    this.readable = new ReadableStream<number>(
      { pull: (controller) => this.#pull(controller) },
      { highWaterMark: SOURCE_HIGH_WATER_MARK },
    );
  }

  /** Milliseconds spent pausing between bursts. */
  get pausedMs(): number {
    return this.#pausedMs;
  }

  /** The pauses the schedule asks for, in milliseconds. */
  static scheduledPauseMs(total: number): number {
    const pauses = Math.ceil(total / BURST_JOBS) - 1;
    const long = Math.floor(pauses / LONG_GAP_EVERY_BURSTS);
    return long * LONG_GAP_MS + (pauses - long) * SHORT_GAP_MS;
  }

  async #pull(
    controller: ReadableStreamDefaultController<number>,
  ): Promise<void> {
    // A pull only comes with room to fill, so a pull that starts on a
    // burst boundary is the first of the next burst.
    if (this.#next > 0 && this.#next % BURST_JOBS === 0) {
      const burst = this.#next / BURST_JOBS;
      const gapMs = burst % LONG_GAP_EVERY_BURSTS === 0
        ? LONG_GAP_MS
        : SHORT_GAP_MS;
      const pauseStartMs = performance.now();
      await new Promise((resolve) => setTimeout(resolve, gapMs));
      this.#pausedMs += performance.now() - pauseStartMs;
    }
    const burstEnd = Math.min(
      this.#total,
      (Math.floor(this.#next / BURST_JOBS) + 1) * BURST_JOBS,
    );
    while (this.#next < burstEnd && (controller.desiredSize ?? 0) > 0) {
      controller.enqueue(this.#next++);
    }
    if (this.#next === this.#total) controller.close();
  }
}

function checkpoint(
  label: string,
  results: number,
  elapsedMs: number,
): Checkpoint {
  const raw = sampleMemory();
  collectGarbage();
  return { label, results, elapsedMs, raw, collected: sampleMemory() };
}

/** What a pool that loses nothing must report, counted job by job. */
interface Expected {
  readonly fulfilled: number;
  readonly rejected: number;
  readonly hangs: number;
  readonly retried: number;
  readonly timedOut: number;
}

function expectedCounts(total: number): Expected {
  const count: Record<JobKind, number> = {
    sync: 0,
    async: 0,
    failOnce: 0,
    alwaysFail: 0,
    hang: 0,
  };
  for (let n = 0; n < total; n++) count[kindOf(n)]++;
  const neverSucceed = count.alwaysFail + count.hang;
  return {
    fulfilled: count.sync + count.async + count.failOnce,
    rejected: neverSucceed,
    hangs: count.hang,
    retried: count.failOnce + (ATTEMPTS - 1) * neverSucceed,
    timedOut: ATTEMPTS * count.hang,
  };
}

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

function runChecks(
  jobs: number,
  stats: PoolStats,
  unfinished: number,
  read: RecordsRead,
): Check[] {
  const expected = expectedCounts(jobs);
  const equal = (name: string, actual: number, wanted: number): Check => ({
    name,
    ok: actual === wanted,
    detail: `${fmt(actual)}, expected ${fmt(wanted)}`,
  });
  const { completed, failed, accepted } = stats;
  return [
    {
      name: "completed + failed + unfinished === accepted",
      ok: completed + failed + unfinished === accepted,
      detail: `${fmt(completed)} + ${fmt(failed)} + ${fmt(unfinished)} = ${
        fmt(completed + failed + unfinished)
      }, accepted ${fmt(accepted)}`,
    },
    equal("accepted", accepted, jobs),
    equal("unfinished", unfinished, 0),
    equal("completed", completed, expected.fulfilled),
    equal("failed", failed, expected.rejected),
    equal("retried", stats.retried, expected.retried),
    equal("timedOut", stats.timedOut, expected.timedOut),
    equal("fulfilled records read", read.fulfilled, completed),
    equal("rejected records read", read.rejected, failed),
    equal("TimeoutError records read", read.timedOut, expected.hangs),
    equal(
      "workers + busy + queued + retrying after closed",
      stats.workers + stats.busy + stats.queued + stats.retrying,
      0,
    ),
    equal("hang attempts ended by abort", hangs.aborted, expected.timedOut),
    equal("hang timers still open", hangs.timersOpen, 0),
    equal("hangs that ran their full time", hangs.overran, 0),
  ];
}

/** Everything the report prints. */
interface SoakResult {
  readonly jobs: number;
  readonly elapsedMs: number;
  /** Of `elapsedMs`, the time the source spent pausing between bursts. */
  readonly pausedMs: number;
  readonly checkpoints: readonly Checkpoint[];
  /** RSS in bytes at each tenth of the results, before any collection. */
  readonly rssByTenth: readonly number[];
  readonly stats: PoolStats;
  readonly unfinished: number;
  readonly checks: readonly Check[];
}

function report(result: SoakResult): string {
  const { jobs, elapsedMs, pausedMs, checkpoints, stats, unfinished, checks } =
    result;
  const rssTrace = result.rssByTenth.map((bytes) => mb(bytes)).join(", ");
  const collected = canCollectGarbage();
  const middle = checkpoints.find((c) => c.label === "50%") ?? checkpoints[0];
  const end = checkpoints[checkpoints.length - 1];
  const seconds = elapsedMs / 1000;
  const busySeconds = (elapsedMs - pausedMs) / 1000;
  const heapGrowth = end.collected.heapUsedBytes -
    middle.collected.heapUsedBytes;
  const rssGrowth = end.raw.rssBytes - middle.raw.rssBytes;
  const lines = [
    `### Soak on ${runtimeName()}`,
    "",
    `${fmt(jobs)} jobs in bursts of ${fmt(BURST_JOBS)}, maxWorkers ` +
    `${MAX_WORKERS}, idleTimeout ${IDLE_TIMEOUT_MS} ms, timeout ` +
    `${TIMEOUT_MS} ms, retry ${ATTEMPTS} attempts (${RETRY_DELAY_MS} ms ` +
    `backoff), settled. ` +
    (collected
      ? "Heap after GC is sampled after a full collection."
      : "No GC is exposed, so heap after GC equals heap before GC, garbage included."),
    "",
    "| point | results | time, s | heap before GC, MB | heap after GC, MB | RSS, MB |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...checkpoints.map((c) =>
      `| ${c.label} | ${fmt(c.results)} | ${
        (c.elapsedMs / 1000).toFixed(1)
      } | ${mb(c.raw.heapUsedBytes)} | ${mb(c.collected.heapUsedBytes)} | ${
        mb(c.raw.rssBytes)
      } |`
    ),
    "",
    `Growth from 50% to the end: heap after GC ${signedMb(heapGrowth)} MB, ` +
    `RSS ${signedMb(rssGrowth)} MB.`,
    "",
    `RSS at each tenth of the results, no GC, MB: ${rssTrace}.`,
    "",
    `Throughput: ${fmt(Math.round(jobs / seconds))} jobs/s over ` +
    `${seconds.toFixed(1)} s; ${
      fmt(Math.round(jobs / busySeconds))
    } jobs/s without the ${(pausedMs / 1000).toFixed(1)} s the ` +
    `source paused between bursts (${
      (BurstySource.scheduledPauseMs(jobs) / 1000).toFixed(1)
    } s scheduled).`,
    "",
    "Final stats:",
    "",
    "| stat | value |",
    "| --- | ---: |",
    ...Object.entries(stats).map(([key, value]) =>
      `| ${key} | ${fmt(value)} |`
    ),
    `| unfinished().length | ${fmt(unfinished)} |`,
    "",
    "Checks:",
    "",
    ...checks.map((check) =>
      `- ${check.ok ? "ok" : "FAILED"}: ${check.name} (${check.detail})`
    ),
  ];
  return lines.join("\n");
}

function fmt(value: number): string {
  return value.toLocaleString("en-US");
}

function mb(bytes: number): string {
  return (bytes / BYTES_PER_MB).toFixed(2);
}

function signedMb(bytes: number): string {
  const text = mb(bytes);
  return bytes >= 0 ? `+${text}` : text;
}

await main();
