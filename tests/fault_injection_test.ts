/**
 * Faults injected at random into real runs on real timers: jobs that
 * throw, hang, ignore their signal, or run slow or fast; readers that lag
 * or cancel; sources that error; aborts and drains at random moments. What
 * ever happens, every run ends, and every accepted job is accounted for.
 * A failure prints its seed; `FC_SEED=<seed>` replays the same faults,
 * though real timers may order them differently.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  autoScale,
  type AutoScaleOptions,
  type JobContext,
  type SettledResult,
} from "../mod.ts";
import { test } from "./_harness.ts";
import { range, readToEnd, seedFromEnv, sleep } from "./_helpers.ts";

// Generous next to a run's tens of milliseconds: past it, a run hangs.
const SETTLE_WITHIN_MS = 3_000;
// Longer than any timeout a run gets, so that the pool gives these up.
const IGNORED_SIGNAL_MS = 30;

/** How one job misbehaves. */
type Fault =
  /** Settles after `ms`, or rejects as soon as its signal aborts. */
  | { readonly kind: "timer"; readonly ms: number }
  /** Returns at once. */
  | { readonly kind: "sync" }
  /** Throws (at once, or after a tick) on its first `failures` attempts. */
  | {
    readonly kind: "throw";
    readonly sync: boolean;
    readonly failures: number;
  }
  /** Never settles unless its signal aborts. */
  | { readonly kind: "hang" }
  /** Ignores its signal and settles long after any timeout. */
  | { readonly kind: "ignore" };

/** A job's own failure. */
class JobError extends Error {
  constructor(job: number, attempt: number) {
    super(`job ${job} failed on attempt ${attempt}`);
  }
}

/** Everything that goes wrong in one run, and when. */
interface Scenario {
  readonly faults: readonly Fault[];
  readonly options: AutoScaleOptions<number>;
  /** Pauses after each read, in turn, in milliseconds. */
  readonly readPausesMs: readonly number[];
  readonly cancelAfterReads: number | undefined;
  /** The source errors instead of handing out this job. */
  readonly sourceErrorAt: number | undefined;
  /** Pauses before each job the source hands out, in turn. */
  readonly sourceGapsMs: readonly number[];
  readonly abortAtMs: number | undefined;
  readonly drain: { atMs: number; deadlineMs: number | undefined } | undefined;
}

const fault: fc.Arbitrary<Fault> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("timer" as const),
      ms: fc.integer({ min: 0, max: 5 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: "sync" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("throw" as const),
      sync: fc.boolean(),
      failures: fc.constantFrom(1, 2, 9),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "hang" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "ignore" as const }) },
);

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  faults: fc.array(fault, { maxLength: 24 }),
  minWorkers: fc.integer({ min: 0, max: 2 }),
  extraWorkers: fc.integer({ min: 0, max: 3 }),
  idleTimeout: fc.constantFrom(0, 1, 5),
  ordered: fc.boolean(),
  highWaterMark: fc.integer({ min: 0, max: 4 }),
  timeout: fc.option(fc.constantFrom(3, 8), { nil: undefined }),
  retry: fc.option(
    fc.record({
      attempts: fc.integer({ min: 1, max: 3 }),
      delay: fc.integer({ min: 0, max: 2 }),
    }),
    { nil: undefined },
  ),
  settled: fc.boolean(),
  // A synchronous setup readies a fresh worker inside the step that made
  // it, an async one a turn later: each orders the pool's steps its way.
  setup: fc.constantFrom(undefined, "sync", "async"),
  readPausesMs: fc.array(fc.constantFrom(0, 0, 1, 3), { maxLength: 4 }),
  cancelAfterReads: sometimes(fc.nat(12)),
  sourceErrorAt: sometimes(fc.nat(24)),
  sourceGapsMs: fc.array(fc.constantFrom(0, 0, 1, 2), { maxLength: 4 }),
  abortAtMs: sometimes(fc.nat(20)),
  drain: sometimes(
    fc.record({
      atMs: fc.nat(20),
      deadlineMs: fc.option(fc.nat(10), { nil: undefined }),
    }),
  ),
}).map((raw) => {
  const has = (kind: Fault["kind"]) => raw.faults.some((f) => f.kind === kind);
  // A job that ignores its signal only ends the pool's wait by timing out;
  // one that hangs but heeds its signal needs a timeout or an abort.
  const timeout = has("ignore") ? raw.timeout ?? 8 : raw.timeout;
  const needsAbort = has("hang") && timeout === undefined &&
    raw.drain?.deadlineMs === undefined;
  return {
    faults: raw.faults,
    options: {
      minWorkers: raw.minWorkers,
      maxWorkers: Math.max(1, raw.minWorkers + raw.extraWorkers),
      idleTimeout: raw.idleTimeout,
      ordered: raw.ordered,
      highWaterMark: raw.highWaterMark,
      timeout,
      retry: raw.retry,
      settled: raw.settled,
      setup: raw.setup === undefined
        ? undefined
        : raw.setup === "sync"
        ? (workerId: number) => workerId
        : (workerId: number) => Promise.resolve(workerId),
    },
    readPausesMs: raw.readPausesMs,
    cancelAfterReads: raw.cancelAfterReads,
    sourceErrorAt: raw.sourceErrorAt,
    sourceGapsMs: raw.sourceGapsMs,
    abortAtMs: needsAbort ? raw.abortAtMs ?? 20 : raw.abortAtMs,
    drain: raw.drain,
  };
});

test("any mix of faults ends the pool with every accepted job accounted for", async () => {
  await fc.assert(
    fc.asyncProperty(scenarios, async (scenario) => {
      const jobs = faultyJobs(scenario.faults);
      const sourceError = new Error("the source failed");
      const source = gappedSource(
        scenario.faults.length,
        scenario.sourceGapsMs,
        scenario.sourceErrorAt,
        sourceError,
      );
      const stop = new AbortController();
      const pool = autoScale(jobs.work, {
        ...scenario.options,
        signal: stop.signal,
      });
      const pausesMs = scenario.readPausesMs;
      const reading = readToEnd(source.stream.pipeThrough(pool), {
        cancelAfterReads: scenario.cancelAfterReads,
        pause: (read) => {
          const pauseMs = pausesMs[read % Math.max(1, pausesMs.length)];
          return pauseMs ? sleep(pauseMs) : undefined;
        },
      });
      const timers = [
        scenario.abortAtMs === undefined
          ? undefined
          : setTimeout(() => stop.abort(new Error("stop")), scenario.abortAtMs),
        scenario.drain === undefined ? undefined : setTimeout(
          () => pool.drain(scenario.drain?.deadlineMs),
          scenario.drain.atMs,
        ),
      ];

      try {
        await within(pool.closed, () => `closed; stats: ${show(pool.stats())}`);
        const { items, ending, error } = await within(
          reading,
          () => `the output to end; stats: ${show(pool.stats())}`,
        );
        const stats = pool.stats();
        const unfinished = pool.unfinished();

        assert.equal(
          stats.completed + stats.failed + unfinished.length,
          stats.accepted,
          `stats: ${show(stats)}, unfinished: ${unfinished}`,
        );
        assert.equal(stats.workers, 0);
        assert.equal(stats.busy, 0);
        const delivered = items.map(jobOf);
        assert.equal(new Set(delivered).size, delivered.length, `${delivered}`);
        assert.ok(
          !delivered.some((job) => unfinished.includes(job)),
          `delivered ${delivered}, unfinished ${unfinished}`,
        );
        assert.deepEqual(unfinished, unfinished.toSorted((a, b) => a - b));
        const maxAttempts = scenario.options.retry?.attempts ?? 1;
        assert.ok(
          jobs.starts.every((starts) => starts <= maxAttempts),
          `starts: ${jobs.starts}`,
        );
        if (ending !== "cancelled") {
          const rejected = items.filter((item) =>
            (item as SettledResult<number, number>).status === "rejected"
          );
          const missing = range(stats.accepted).filter((job) =>
            !delivered.includes(job) && !unfinished.includes(job)
          );
          assert.equal(missing.length, stats.failed - rejected.length);
          assert.ok(missing.length <= 1, `missing: ${missing}`);
        }
        if (ending === "errored") {
          // An input error, or the failure of a job that failed for good.
          assert.ok(
            error === sourceError || error instanceof JobError ||
              (error instanceof DOMException && error.name === "TimeoutError"),
            `the output errored with ${error}`,
          );
        }
      } finally {
        for (const timer of timers) clearTimeout(timer);
        // Jobs that ignored their signal, and a source pausing when it was
        // cancelled, still hold timers: let them run out.
        await within(
          Promise.all([...jobs.running, source.pausing]),
          () => "every job and the source to settle",
        );
      }
    }),
    { numRuns: 80, seed: seedFromEnv() },
  );
});

/** The work for a list of faults, with a record of what it started. */
interface FaultyJobs {
  readonly work: (job: number, context: JobContext) => unknown;
  /** Attempts started, per job. */
  readonly starts: number[];
  /** Every attempt that returned a promise, settled or not. */
  readonly running: Promise<unknown>[];
}

function faultyJobs(faults: readonly Fault[]): FaultyJobs {
  const starts = faults.map(() => 0);
  const running: Promise<unknown>[] = [];
  const work = (job: number, { signal, attempt }: JobContext) => {
    starts[job]++;
    const fault = faults[job];
    if (fault.kind === "sync") return job * 10;
    if (fault.kind === "throw" && fault.sync && attempt <= fault.failures) {
      throw new JobError(job, attempt);
    }
    const attemptDone = runFault(job, attempt, fault, signal);
    running.push(attemptDone.catch(() => {}));
    return attemptDone;
  };
  return { work, starts, running };
}

function runFault(
  job: number,
  attempt: number,
  fault: Fault,
  signal: AbortSignal,
): Promise<number> {
  if (fault.kind === "ignore") {
    return sleep(IGNORED_SIGNAL_MS).then(() => job * 10);
  }
  const ms = fault.kind === "timer" ? fault.ms : 0;
  const fails = fault.kind === "throw" && attempt <= fault.failures;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = fault.kind === "hang" ? undefined : setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      if (fails) reject(new JobError(job, attempt));
      else resolve(job * 10);
    }, ms);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A source of jobs `0..count - 1` that pauses between them. */
interface GappedSource {
  readonly stream: ReadableStream<number>;
  /** Settles once no pause of the source is running. */
  readonly pausing: Promise<void>;
}

function gappedSource(
  count: number,
  gapsMs: readonly number[],
  errorAt: number | undefined,
  error: unknown,
): GappedSource {
  let next = 0;
  let cancelled = false;
  let pausing = Promise.resolve();
  const stream = new ReadableStream<number>({
    pull: async (controller) => {
      const gapMs = gapsMs[next % Math.max(1, gapsMs.length)] ?? 0;
      if (gapMs > 0) {
        pausing = sleep(gapMs);
        await pausing;
      }
      if (cancelled) return;
      if (next === errorAt) controller.error(error);
      else if (next === count) controller.close();
      else controller.enqueue(next++);
    },
    cancel: () => {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    get pausing() {
      return pausing;
    },
  };
}

/** `promise`, or a failure naming what did not happen in time. */
async function within<T>(
  promise: Promise<T>,
  waitingFor: () => string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`waited ${SETTLE_WITHIN_MS} ms for ${waitingFor()}`),
        ),
      SETTLE_WITHIN_MS,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The job a result or a settled record belongs to. */
function jobOf(item: unknown): number {
  if (typeof item === "number") return item / 10;
  return (item as SettledResult<number, number>).job;
}

function show(value: unknown): string {
  return JSON.stringify(value);
}

/** `arbitrary`'s values half of the time, `undefined` the other half. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arbitrary, { nil: undefined, freq: 2 });
}
