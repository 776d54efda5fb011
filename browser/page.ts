/**
 * The browser checks' page script. `scripts/browser_test.ts` bundles it,
 * with the library, for the browser and serves it beside `jobs.js`, the
 * module that thread pools get by URL. Each scenario runs a pool as a
 * page would and returns what it saw as plain data: the runner reads it
 * through `globalThis.runScenario` and checks it on its side.
 * @module
 */

import {
  autoScale,
  type AutoScaleOptions,
  type SettledResult,
} from "../mod.ts";
import { collect, range, settle, sleep, waitFor } from "../tests/_helpers.ts";

/** A job for `jobs.js`. */
export type Job =
  | { kind: "primes"; below: number }
  | { kind: "where" }
  | { kind: "await-abort" }
  | { kind: "throw"; message: string }
  | { kind: "uncloneable-result" };

/** What an in-thread pool did. */
export interface InThreadReport {
  readonly results: number[];
  readonly expected: number[];
  readonly peakWorkers: number;
  readonly workersAfter: number;
}

/** What a thread pool with the default bounds did. */
export interface ThreadPoolReport {
  /** In input order (`ordered`), one per job. */
  readonly results: unknown[];
  /** The module's default export run on the page's own thread, per job. */
  readonly expected: unknown[];
  readonly hardwareConcurrency: number;
  readonly peakWorkers: number;
  readonly workersAfter: number;
}

/** What an abort in the middle of a thread pool's run did. */
export interface AbortReport {
  readonly busyAtAbort: number;
  readonly errored: boolean;
  readonly delivered: number;
  readonly accepted: number;
  readonly completed: number;
  readonly failed: number;
  readonly unfinished: number;
  readonly workersAfter: number;
  readonly busyAfter: number;
}

/** What thread pools did under a policy that forbids `blob:` workers. */
export interface StrictPageReport {
  /** How the pool on the built-in host failed, causes included. */
  readonly refused: string;
  /** The pool on the served host's results, in input order. */
  readonly results: unknown[];
  /** The module's default export run on the page's own thread, per job. */
  readonly expected: unknown[];
  readonly workersAfter: number;
}

/** A failure reduced to what crosses to the runner. */
export interface PlainReason {
  readonly isError: boolean;
  readonly name: string;
  readonly message: string;
}

/** A settled record with its reason reduced to what crosses to the runner. */
export type PlainRecord =
  | { job: Job; status: "fulfilled"; value: unknown }
  | { job: Job; status: "rejected"; reason: PlainReason };

/** A settled record without its job, for jobs that cannot cross. */
export type PlainOutcome =
  | { status: "fulfilled"; value: unknown }
  | { status: "rejected"; reason: PlainReason };

/** The scenarios, by name, that the runner calls through `runScenario`. */
export interface Scenarios {
  inThreadPool(): Promise<InThreadReport>;
  threadPool(): Promise<ThreadPoolReport>;
  sharedThreadPool(): Promise<ThreadPoolReport>;
  abortThreadPool(): Promise<AbortReport>;
  throwingThreadJob(): Promise<PlainRecord[]>;
  uncloneableThreadJobs(): Promise<PlainOutcome[]>;
  strictPageThreadPool(): Promise<StrictPageReport>;
}

type JobsModule = {
  default: (job: Job, context: { signal: AbortSignal }) => Promise<unknown>;
};

// Resolved against the bundle's own URL, as a page would name its module.
const JOBS = new URL("./jobs.js", import.meta.url);

const scenarios: Scenarios = {
  async inThreadPool(): Promise<InThreadReport> {
    const jobs = range(50);
    const pool = autoScale(async (n: number) => {
      await sleep(1);
      return n * 2;
    }, { maxWorkers: 4 });
    const results = await collect(streamOf(jobs).pipeThrough(pool));
    await pool.closed;
    const stats = pool.stats();
    return {
      results: results.sort((a, b) => a - b),
      expected: jobs.map((n) => n * 2),
      peakWorkers: stats.peakWorkers,
      workersAfter: stats.workers,
    };
  },

  threadPool(): Promise<ThreadPoolReport> {
    return runThreadPool({ ordered: true });
  },

  sharedThreadPool(): Promise<ThreadPoolReport> {
    return runThreadPool({ ordered: true, maxWorkers: 4, jobsPerThread: 2 });
  },

  async abortThreadPool(): Promise<AbortReport> {
    const stop = new AbortController();
    const pool = autoScale<Job, unknown>(JOBS, {
      maxWorkers: 2,
      signal: stop.signal,
    });
    const jobs = range(10).map(() => ({ kind: "await-abort" } as const));
    const reading = settle(streamOf<Job>(jobs).pipeThrough(pool));
    await waitFor(() => pool.stats().busy === 2, () => pool.stats());
    const busyAtAbort = pool.stats().busy;
    stop.abort(new Error("stopped by the page"));
    const { errored, items } = await reading;
    await pool.closed;
    const stats = pool.stats();
    return {
      busyAtAbort,
      errored,
      delivered: items.length,
      accepted: stats.accepted,
      completed: stats.completed,
      failed: stats.failed,
      unfinished: pool.unfinished().length,
      workersAfter: stats.workers,
      busyAfter: stats.busy,
    };
  },

  async strictPageThreadPool(): Promise<StrictPageReport> {
    const jobs = range(6).map((i): Job => ({
      kind: "primes",
      below: 1_000 + i,
    }));
    const blocked = autoScale<Job, unknown>(JOBS, { maxWorkers: 1 });
    const { error } = await settle(streamOf(jobs).pipeThrough(blocked));
    await blocked.closed;
    const pool = autoScale<Job, unknown>(JOBS, {
      ordered: true,
      maxWorkers: 2,
      // Served beside the bundle, from the page's own origin.
      threadHost: new URL("./host.js", import.meta.url),
    });
    const results = await collect(streamOf(jobs).pipeThrough(pool));
    await pool.closed;
    const { default: work } = await import(JOBS.href) as JobsModule;
    const signal = new AbortController().signal;
    return {
      refused: explain(error),
      results,
      expected: await Promise.all(jobs.map((job) => work(job, { signal }))),
      workersAfter: pool.stats().workers,
    };
  },

  async throwingThreadJob(): Promise<PlainRecord[]> {
    const records = await settleOnOneThread([
      { kind: "primes", below: 100 },
      { kind: "throw", message: "bad input" },
      { kind: "primes", below: 10 },
    ]);
    return records.map(toPlainRecord);
  },

  async uncloneableThreadJobs(): Promise<PlainOutcome[]> {
    const records = await settleOnOneThread([
      Object.assign({ kind: "primes", below: 10 } as const, {
        onDone: () => {},
      }),
      { kind: "uncloneable-result" },
      { kind: "primes", below: 10 },
    ]);
    return records.map((record) =>
      record.status === "fulfilled"
        ? { status: "fulfilled", value: record.value }
        : { status: "rejected", reason: toPlainReason(record.reason) }
    );
  },
};

/**
 * Runs the scenario `name`. A failure comes back with its causes in its
 * message, since `evaluate` keeps only an error's message and stack.
 */
export type RunScenario = (name: keyof Scenarios) => Promise<unknown>;

const runScenario: RunScenario = async (name) => {
  try {
    return await scenarios[name]();
  } catch (error) {
    throw new Error(explain(error));
  }
};
(globalThis as { runScenario?: RunScenario }).runScenario = runScenario;

/** Runs `jobs` in order on one thread, each to a settled record. */
async function settleOnOneThread(
  jobs: readonly Job[],
): Promise<SettledResult<Job, unknown>[]> {
  const pool = autoScale<Job, unknown>(JOBS, {
    settled: true,
    ordered: true,
    maxWorkers: 1,
  });
  const records = await collect(streamOf(jobs).pipeThrough(pool));
  await pool.closed;
  return records;
}

/**
 * Runs CPU jobs, then one that asks where it runs, through a thread pool
 * with `options`, and compares the results with the module run here.
 */
async function runThreadPool(
  options: AutoScaleOptions<Job, never> & { settled?: false },
): Promise<ThreadPoolReport> {
  const primes = range(12).map((i): Job => ({
    kind: "primes",
    below: 100_000 + i,
  }));
  const jobs: Job[] = [...primes, { kind: "where" }];
  const pool = autoScale<Job, unknown>(JOBS, options);
  const results = await collect(streamOf(jobs).pipeThrough(pool));
  await pool.closed;
  const stats = pool.stats();
  const { default: work } = await import(JOBS.href) as JobsModule;
  const signal = new AbortController().signal;
  const expected = await Promise.all(
    jobs.map((job) => work(job, { signal })),
  );
  return {
    results,
    expected,
    hardwareConcurrency: navigator.hardwareConcurrency,
    peakWorkers: stats.peakWorkers,
    workersAfter: stats.workers,
  };
}

/** A stream over `items`: Chromium has no `ReadableStream.from` yet. */
function streamOf<T>(items: readonly T[]): ReadableStream<T> {
  let next = 0;
  return new ReadableStream<T>({
    pull(controller) {
      if (next < items.length) controller.enqueue(items[next++]);
      else controller.close();
    },
  }, { highWaterMark: 0 });
}

// An Error does not survive `evaluate`; its name and message do.
function toPlainRecord(record: SettledResult<Job, unknown>): PlainRecord {
  if (record.status === "fulfilled") return record;
  return {
    job: record.job,
    status: "rejected",
    reason: toPlainReason(record.reason),
  };
}

function toPlainReason(reason: unknown): PlainReason {
  const error = reason as Partial<Error> | undefined;
  return {
    isError: reason instanceof Error,
    name: String(error?.name),
    message: String(error?.message),
  };
}

function explain(error: unknown): string {
  const lines: string[] = [];
  for (let e = error; e !== undefined; e = (e as Error).cause) {
    lines.push(lines.length === 0 ? label(e) : `caused by ${label(e)}`);
    if (!(e instanceof Error)) break;
  }
  return lines.join("\n");
}

function label(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name === "Error"
    ? error.message
    : `${error.name}: ${error.message}`;
}
