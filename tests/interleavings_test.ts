/**
 * Races explored deterministically. fast-check's scheduler decides the
 * order in which everything asynchronous lands: job results, source pulls,
 * reader pauses, timers, aborts, drains and cancels. The pool's timers run
 * on a virtual clock driven by the same scheduler, so a failing order
 * replays exactly from its seed (`FC_SEED=<seed>`), and no run waits for
 * real time.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type JobContext,
  type PoolStats,
  ScaleEvent,
  type SettledResult,
} from "../mod.ts";
import type { Clock, TimerHandle } from "../src/clock.ts";
import { Controller } from "../src/controller.ts";
import { type AutoScaleOptions, resolveOptions } from "../src/options.ts";
import { test } from "./_harness.ts";
import { range, seedFromEnv } from "./_helpers.ts";

// Far more steps than any generated run needs: past it, a run is looping.
const MAX_STEPS = 20_000;

/** How one job behaves, attempt after attempt. */
interface JobPlan {
  /**
   * `"sync"` returns or throws at once, `"scheduled"` settles when the
   * scheduler says, `"slow"` after `durationMs` of virtual time, `"hang"`
   * never settles unless its signal aborts.
   */
  readonly pace: "sync" | "scheduled" | "slow" | "hang";
  /** How long a `"slow"` attempt takes, in virtual milliseconds. */
  readonly durationMs?: number;
  /** How many attempts fail before one succeeds. */
  readonly failures: number;
  /** Whether it rejects with its signal's reason as soon as that aborts. */
  readonly heedsSignal: boolean;
}

/** A job's own failure, naming the job and the attempt. */
class JobError extends Error {
  readonly job: number;
  constructor(job: number, attempt: number) {
    super(`job ${job} failed on attempt ${attempt}`);
    this.job = job;
  }
}

/** What the jobs of one run did. */
interface WorkLog {
  /** Attempts started, per job. */
  readonly starts: number[];
  /** Jobs started after the test asked the pool to stop. */
  readonly startedLate: number[];
  /** Each abort a job's signal saw, in the order they came. */
  readonly aborts: SeenAbort[];
  /** Set by the test when it aborts the pool. */
  stopped: boolean;
}

/** An abort as a job saw it. */
interface SeenAbort {
  readonly job: number;
  readonly reason: unknown;
  /** How long the attempt had run, in virtual milliseconds. */
  readonly afterMs: number;
}

/** Plans with one of `paces`, failing one of `failures` times first. */
function jobPlan(
  paces: readonly JobPlan["pace"][],
  failures: readonly number[] = [0],
): fc.Arbitrary<JobPlan> {
  return fc.record({
    pace: fc.constantFrom(...paces),
    durationMs: fc.integer({ min: 0, max: 8 }),
    failures: fc.constantFrom(...failures),
    heedsSignal: fc.boolean(),
  });
}

/** Jobs that succeed, at once, when the scheduler says, or in time. */
const plainPlan = jobPlan(["sync", "scheduled", "slow"]);

/** Jobs that may also hang, and fail a few times or for good. */
const faultyPlan = jobPlan(
  ["sync", "scheduled", "scheduled", "slow", "hang"],
  [0, 0, 0, 1, 2, 9],
);

const poolOptions = fc.record({
  minWorkers: fc.integer({ min: 0, max: 3 }),
  extraWorkers: fc.integer({ min: 0, max: 4 }),
  idleTimeout: fc.constantFrom(0, 1, 4, 50),
  ordered: fc.boolean(),
  highWaterMark: fc.integer({ min: 0, max: 5 }),
}).map(({ extraWorkers, ...options }) => ({
  ...options,
  maxWorkers: Math.max(1, options.minWorkers + extraWorkers),
}));

const retryOptions = fc.record({
  attempts: fc.integer({ min: 1, max: 3 }),
  delaysMs: fc.array(fc.integer({ min: 0, max: 4 }), {
    minLength: 1,
    maxLength: 3,
  }),
  retryTimeouts: fc.boolean(),
}).map(({ attempts, delaysMs, retryTimeouts }) => ({
  attempts,
  // A delay function keeps backoff off `Math.random()`, so runs replay.
  delay: (attempt: number) => delaysMs[attempt % delaysMs.length],
  retryIf: (error: unknown) => retryTimeouts || !isTimeout(error),
}));

test("every job runs once and its result arrives once, in any interleaving", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(plainPlan, { maxLength: 20 }),
      poolOptions,
      async (s, plans, options) => {
        const run = startRun(s, plans, options);
        const { items, ending } = await run.settle();

        const expected = range(plans.length).map(resultOf);
        if (options.ordered) assert.deepEqual(items, expected);
        else assert.deepEqual(sortNumbers(items), expected);
        assert.equal(ending, "closed");
        assert.deepEqual(run.log.starts, plans.map(() => 1));
        assert.deepEqual(run.pool.unfinished(), []);
        const stats = run.pool.stats();
        assert.equal(stats.accepted, plans.length);
        assert.equal(stats.completed, plans.length);
        assert.equal(stats.failed, 0);
      },
    ),
    { numRuns: 150, seed: seedFromEnv() },
  );
});

test("the worker count stays within bounds and every change is reported, in any interleaving", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(
        faultyPlan,
        { maxLength: 15 },
      ),
      poolOptions,
      fc.constantFrom(1, 3),
      retryOptions,
      async (s, plans, options, timeoutMs, retry) => {
        // The timeout ends every hanging attempt; records keep failures
        // from ending the pool, so it scales through the whole run.
        const run = startRun(s, plans, {
          ...options,
          timeout: timeoutMs,
          retry,
          settled: true,
        });
        await run.settle();

        assertScaleEvents(run.events, run.pool.stats(), options);
        assert.equal(run.pool.stats().workers, 0);
      },
    ),
    { numRuns: 150, seed: seedFromEnv() },
  );
});

test("every accepted job is completed, failed or unfinished, whatever ends the pool and whenever", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(
        faultyPlan,
        { maxLength: 15 },
      ),
      poolOptions,
      fc.record({
        timeout: fc.option(fc.constantFrom(1, 3, 10), { nil: undefined }),
        retry: fc.option(retryOptions, { nil: undefined }),
        settled: fc.boolean(),
      }),
      fc.record({
        abortAfterSteps: sometimes(fc.nat(40)),
        drain: sometimes(
          fc.record({
            afterSteps: fc.nat(40),
            deadlineMs: fc.option(fc.constantFrom(0, 1, 5), {
              nil: undefined,
            }),
          }),
        ),
        cancelAfterReads: sometimes(fc.nat(8)),
        sourceErrorAt: sometimes(fc.nat(15)),
      }),
      async (s, rawPlans, options, reliability, endings) => {
        // A job that ignores its signal and never settles only ends by
        // timing out; one that hangs but heeds its signal needs something
        // to abort it.
        const plans = rawPlans.map((plan) =>
          plan.pace === "hang" && reliability.timeout === undefined
            ? { ...plan, heedsSignal: true }
            : plan
        );
        const hangs = plans.some((plan) => plan.pace === "hang");
        const abortAfterSteps = hangs && reliability.timeout === undefined
          ? endings.abortAfterSteps ?? 40
          : endings.abortAfterSteps;
        const maxAttempts = reliability.retry?.attempts ?? 1;
        const sourceError = new Error("the source failed");
        const run = startRun(s, plans, { ...options, ...reliability }, {
          abortAfterSteps,
          drain: endings.drain,
          cancelAfterReads: endings.cancelAfterReads,
          sourceErrorAt: endings.sourceErrorAt,
          sourceError,
        });
        const { items, ending, error } = await run.settle();
        const statsAtClose = run.pool.stats();
        const unfinished = run.pool.unfinished();

        assertAccounted(run.pool.stats(), unfinished);
        assert.equal(statsAtClose.workers, 0);
        assert.equal(statsAtClose.busy, 0);
        assert.equal(statsAtClose.queued, 0);
        assert.equal(statsAtClose.retrying, 0);
        assert.ok(
          run.log.starts.every((starts) => starts <= maxAttempts),
          `starts: ${run.log.starts}`,
        );
        const delivered = items.map((item) => jobOf(item));
        assertDistinct(delivered, "delivered jobs");
        assertDistinct(unfinished, "unfinished jobs");
        assert.deepEqual(unfinished, sortNumbers(unfinished), "input order");
        const accepted = range(statsAtClose.accepted);
        for (const job of [...delivered, ...unfinished]) {
          assert.ok(job < accepted.length, `job ${job} was never accepted`);
        }
        assert.ok(
          !delivered.some((job) => unfinished.includes(job)),
          "no job is both delivered and unfinished",
        );
        if (ending !== "cancelled") {
          // Read to the end, the output shows every delivered job; what is
          // neither read nor unfinished is the job whose failure ended it.
          const rejected = items.filter((item) => isRejectedRecord(item));
          const missing = accepted.filter((job) =>
            !delivered.includes(job) && !unfinished.includes(job)
          );
          assert.equal(missing.length, statsAtClose.failed - rejected.length);
          assert.ok(missing.length <= 1, `missing: ${missing}`);
        }
        if (ending === "errored") {
          assert.ok(
            error instanceof JobError || isTimeout(error) ||
              error === sourceError,
            `the output errored with ${error}`,
          );
        }
        assertScaleEvents(run.events, statsAtClose, options);
      },
    ),
    { numRuns: 200, seed: seedFromEnv() },
  );
});

test("retire vs take: a worker retiring as a job arrives loses no job and keeps the bounds", async () => {
  let retiredThenScaledUp = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(plainPlan, { minLength: 1, maxLength: 20 }),
      fc.record({
        minWorkers: fc.integer({ min: 0, max: 2 }),
        extraWorkers: fc.integer({ min: 1, max: 3 }),
        idleTimeout: fc.constantFrom(0, 1, 2),
        ordered: fc.boolean(),
      }).map(({ extraWorkers, ...options }) => ({
        ...options,
        maxWorkers: options.minWorkers + extraWorkers,
      })),
      async (s, plans, options) => {
        const run = startRun(s, plans, options);
        const { items, ending } = await run.settle();

        const expected = range(plans.length).map(resultOf);
        if (options.ordered) assert.deepEqual(items, expected);
        else assert.deepEqual(sortNumbers(items), expected);
        assert.equal(ending, "closed");
        assert.deepEqual(run.log.starts, plans.map(() => 1));
        assertScaleEvents(run.events, run.pool.stats(), options);
        const firstRetire = run.events.findIndex((e) => e.reason === "idle");
        if (
          firstRetire >= 0 &&
          run.events.slice(firstRetire).some((e) => e.reason === "pressure")
        ) {
          retiredThenScaledUp++;
        }
      },
    ),
    { numRuns: 150, seed: seedFromEnv() },
  );
  assert.ok(retiredThenScaledUp > 0, "some runs retire, then scale up again");
});

test("abort vs complete: a result landing as the pool aborts is delivered or unfinished, never both", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(plainPlan, { minLength: 1, maxLength: 15 }),
      poolOptions,
      fc.nat(30),
      async (s, plans, options, abortAfterSteps) => {
        const reason = new Error("stop");
        const run = startRun(s, plans, options, {
          abortAfterSteps,
          abortReason: reason,
        });
        const { items, ending } = await run.settle();
        const unfinished = run.pool.unfinished();

        // Aborting closes the output and leaves delivered results readable.
        assert.equal(ending, "closed");
        const delivered = items.map((item) => jobOf(item));
        assertDistinct(delivered, "delivered jobs");
        const accounted = sortNumbers([...delivered, ...unfinished]);
        assert.deepEqual(accounted, range(run.pool.stats().accepted));
        assertAccounted(run.pool.stats(), unfinished);
        assert.deepEqual(run.log.startedLate, [], "no job starts after abort");
        assert.ok(run.log.aborts.every((seen) => seen.reason === reason));
        assert.ok(run.log.starts.every((starts) => starts <= 1));
      },
    ),
    { numRuns: 150, seed: seedFromEnv() },
  );
});

test("drain vs enqueue: a job arriving as the pool starts draining is finished or refused, never lost", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(plainPlan, { maxLength: 15 }),
      poolOptions,
      fc.nat(30),
      fc.option(fc.constantFrom(0, 1, 3), { nil: undefined }),
      async (s, plans, options, afterSteps, deadlineMs) => {
        const run = startRun(s, plans, options, {
          drain: { afterSteps, deadlineMs },
        });
        const { items, ending } = await run.settle();
        const unfinished = run.pool.unfinished();
        const { accepted } = run.pool.stats();

        assert.equal(ending, "closed");
        const delivered = items.map((item) => jobOf(item));
        if (deadlineMs === undefined) {
          if (options.ordered) assert.deepEqual(delivered, range(accepted));
          else assert.deepEqual(sortNumbers(delivered), range(accepted));
          assert.deepEqual(unfinished, []);
        } else {
          assertDistinct(delivered, "delivered jobs");
          const accounted = sortNumbers([...delivered, ...unfinished]);
          assert.deepEqual(accounted, range(accepted));
        }
        assertAccounted(run.pool.stats(), unfinished);
        const refused = run.log.starts.slice(accepted);
        assert.ok(refused.every((starts) => starts === 0), "refused jobs");
        if (run.source.cancelled) {
          const reason = run.source.cancelReason;
          assert.ok(reason instanceof DOMException, `cancelled: ${reason}`);
          assert.equal(reason.name, "AbortError");
        }
      },
    ),
    { numRuns: 150, seed: seedFromEnv() },
  );
});

test("timeout vs result: an attempt counts once, as its result within its timeout and as a timeout past it", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      fc.array(jobPlan(["scheduled", "slow"]), { minLength: 1, maxLength: 12 }),
      poolOptions,
      fc.constantFrom(1, 3, 5),
      retryOptions,
      async (s, plans, options, timeoutMs, retry) => {
        const run = startRun(s, plans, {
          ...options,
          timeout: timeoutMs,
          retry: { ...retry, retryIf: undefined },
          settled: true,
        });
        const { items, ending } = await run.settle();
        const records = items as SettledResult<number, number>[];

        assert.equal(ending, "closed");
        assert.deepEqual(sortNumbers(records.map(jobOf)), range(plans.length));
        let timedOut = 0;
        for (const record of records) {
          const starts = run.log.starts[record.job];
          const { pace, durationMs = 0 } = plans[record.job];
          if (record.status === "fulfilled") {
            assert.equal(record.value, resultOf(record.job));
            timedOut += starts - 1;
          } else {
            assert.ok(isTimeout(record.reason), `${record.reason}`);
            assert.equal(starts, retry.attempts);
            timedOut += starts;
          }
          // Virtual time decides a slow job's race with its timeout; only
          // a tie may go either way.
          if (pace === "slow" && durationMs < timeoutMs) {
            assert.equal(record.status, "fulfilled", `job ${record.job}`);
          }
          if (pace === "slow" && durationMs > timeoutMs) {
            assert.equal(record.status, "rejected", `job ${record.job}`);
          }
        }
        const timeouts = run.log.aborts.filter(({ reason }) =>
          isTimeout(reason)
        );
        assert.equal(timeouts.length, timedOut);
        for (const { job, afterMs } of timeouts) {
          assert.equal(afterMs, timeoutMs, `job ${job} timed out late`);
        }
        const stats = run.pool.stats();
        assert.equal(stats.timedOut, timedOut);
        assert.equal(
          stats.retried,
          run.log.starts.reduce((sum, starts) => sum + starts - 1, 0),
        );
        assertAccounted(stats, run.pool.unfinished());
      },
    ),
    { numRuns: 150, seed: seedFromEnv() },
  );
});

// Fixed orders the properties above found, reduced by hand to the few
// steps that matter. Each drives a pool on virtual time it moves itself.

test("timeout vs start: an attempt started as a timeout fires leaves the other attempts' timeouts on time", async () => {
  // A times out while B runs; C, waiting for a worker, starts from inside
  // that timer. B must still time out 10 ms after it began.
  const time = new VirtualTime();
  const abortedAtMs = new Map<string, number>();
  const pool = virtualPool<string>(
    (job, { signal }) =>
      new Promise((_, reject) => {
        signal.addEventListener("abort", () => {
          abortedAtMs.set(job, time.now());
          reject(signal.reason);
        }, { once: true });
      }),
    { minWorkers: 0, maxWorkers: 2, timeout: 10, settled: true },
    time,
  );
  const reading = Array.fromAsync(pool.readable);
  const writer = pool.writable.getWriter();
  await writer.write("A");
  time.advance(5);
  await writer.write("B");
  await writer.write("C");
  time.advance(5);
  await flushMicrotasks();
  assert.equal(abortedAtMs.get("A"), 10);
  assert.equal(pool.stats().busy, 2, "C took A's slot");

  time.advance(5);
  await flushMicrotasks();
  assert.equal(abortedAtMs.get("B"), 15, "B times out 10 ms after it began");

  time.advance(20);
  writer.close();
  await flushMicrotasks();
  time.advance(20);
  assert.equal((await reading).length, 3);
  await pool.closed;
});

test("deliver vs pull: a result delivered from inside another's delivery keeps its place, so an error ending lists the unread one", async () => {
  // Job 0's result goes straight to a waiting read; the stream then pulls
  // at once, and job 1, waiting for the one worker, runs and delivers
  // synchronously from inside that first delivery. The reader has job 0's
  // result, so when the input aborts, job 1's is the one discarded.
  const time = new VirtualTime();
  let finishJob0!: (value: number) => void;
  const pool = virtualPool<number>(
    (job) =>
      job === 0
        ? new Promise<number>((resolve) => finishJob0 = resolve)
        : resultOf(job),
    { maxWorkers: 1 },
    time,
  );
  const writer = pool.writable.getWriter();
  const reader = pool.readable.getReader();
  await writer.write(0);
  writer.write(1).catch(() => {});
  const first = reader.read();
  await flushMicrotasks();
  finishJob0(resultOf(0));
  assert.deepEqual(await first, { done: false, value: resultOf(0) });

  const reason = new Error("the input failed");
  await writer.abort(reason);
  await pool.closed;
  await assert.rejects(reader.read(), (error) => error === reason);
  assert.deepEqual(pool.unfinished(), [1]);
  assert.equal(pool.stats().completed, 1);
});

test("retry vs lagging reader: retries of the oldest jobs wait for the room an unread result holds, and an error ending lists every unread result", async () => {
  // One worker, input order, a reader that reads nothing: every job fails
  // its first attempt, then each retry in turn is the oldest job's. The
  // reader never frees room, so at most one result may wait unread, and
  // when the input aborts no result has been read: all three jobs are
  // unfinished and none counts as completed.
  const time = new VirtualTime();
  const pool = virtualPool<number>(
    (job, { attempt }) => {
      if (attempt === 1) throw new JobError(job, attempt);
      return resultOf(job);
    },
    {
      maxWorkers: 1,
      ordered: true,
      highWaterMark: 4,
      retry: { attempts: 2, delay: () => 1 },
    },
    time,
  );
  const writer = pool.writable.getWriter();
  for (const job of [0, 1, 2]) await writer.write(job);
  await flushMicrotasks();
  assert.equal(pool.stats().retrying, 3);
  time.advance(1);
  await flushMicrotasks();

  const reason = new Error("the input failed");
  await writer.abort(reason);
  await pool.closed;
  await assert.rejects(pool.readable.getReader().read());
  assert.deepEqual(pool.unfinished(), [0, 1, 2]);
  assert.equal(pool.stats().completed, 0);
});

test("retry vs held results: the oldest job's retry may pass results held for order, and an error ending still lists every unread result", async () => {
  // One worker, input order, a reader that reads nothing. Job 0 fails its
  // first attempt; job 1 runs meanwhile and its result is held for order,
  // taking all the room. Job 0's retry passes it, as it must for the output
  // to move, and both results then wait unread: one more than the budget.
  // When the input aborts, no result has been read, so neither job counts
  // as completed and both are unfinished.
  const time = new VirtualTime();
  const pool = virtualPool<number>(
    (job, { attempt }) => {
      if (job === 0 && attempt === 1) throw new JobError(job, attempt);
      return resultOf(job);
    },
    {
      maxWorkers: 1,
      ordered: true,
      highWaterMark: 4,
      retry: { attempts: 2, delay: () => 1 },
    },
    time,
  );
  const writer = pool.writable.getWriter();
  for (const job of [0, 1]) await writer.write(job);
  await flushMicrotasks();
  time.advance(1);
  await flushMicrotasks();
  assert.equal(pool.stats().completed, 2);

  await writer.abort(new Error("the input failed"));
  await pool.closed;
  await assert.rejects(pool.readable.getReader().read());
  assert.deepEqual(pool.unfinished(), [0, 1]);
  assert.equal(pool.stats().completed, 0);
});

/** What can end a run early, and when. */
interface Endings {
  /** Aborts the pool's signal after this many scheduler steps. */
  readonly abortAfterSteps?: number;
  readonly abortReason?: unknown;
  /** Drains the pool after this many scheduler steps. */
  readonly drain?: { afterSteps: number; deadlineMs: number | undefined };
  /** Cancels the output once this many results were read. */
  readonly cancelAfterReads?: number;
  /** Errors the source instead of handing out this job. */
  readonly sourceErrorAt?: number;
  readonly sourceError?: unknown;
}

/** What the reader saw. */
interface ReadOutcome {
  readonly items: unknown[];
  readonly ending: "closed" | "errored" | "cancelled";
  readonly error?: unknown;
}

/** One pool fed by a scheduled source and read by a scheduled reader. */
interface Run {
  readonly pool: Controller<number, unknown>;
  readonly events: ScaleEvent[];
  readonly log: WorkLog;
  readonly source: ScheduledSource;
  /** Runs the scheduler until the pool has closed and the reader is done. */
  settle(): Promise<ReadOutcome>;
}

function startRun(
  s: fc.Scheduler,
  plans: readonly JobPlan[],
  options: AutoScaleOptions<number>,
  endings: Endings = {},
): Run {
  const log: WorkLog = {
    starts: plans.map(() => 0),
    startedLate: [],
    aborts: [],
    stopped: false,
  };
  const events: ScaleEvent[] = [];
  const clock = scheduledClock(s);
  const stop = new AbortController();
  const resolved = resolveOptions(
    { ...options, signal: stop.signal } as AutoScaleOptions<unknown>,
    "Cannot create pool",
  );
  const pool = new Controller<number, unknown>(
    scheduledWork(s, clock, plans, log),
    { ...resolved, clock },
    (event: Event) => {
      if (event instanceof ScaleEvent) events.push(event);
    },
  );
  const source = scheduledSource(
    s,
    plans.length,
    endings.sourceErrorAt,
    endings.sourceError,
  );
  const reading = scheduledRead(
    s,
    source.stream.pipeThrough(pool),
    endings.cancelAfterReads,
  );
  if (endings.abortAfterSteps !== undefined) {
    afterSteps(s, endings.abortAfterSteps, "abort", () => {
      log.stopped = true;
      stop.abort(endings.abortReason);
    });
  }
  const drain = endings.drain;
  if (drain !== undefined) {
    afterSteps(s, drain.afterSteps, "drain", () => {
      pool.drain(drain.deadlineMs);
    });
  }
  return {
    pool,
    events,
    log,
    source,
    settle: async () => {
      await runScheduled(
        s,
        Promise.all([pool.closed, reading]),
        () => {
          const stats = pool.stats();
          assert.ok(stats.workers <= resolved.maxWorkers, "workers <= max");
          assert.ok(stats.busy <= stats.workers, "busy <= workers");
          assert.equal(stats.workers, events.at(-1)?.to ?? 0);
          return stats;
        },
      );
      return await reading;
    },
  };
}

/**
 * Virtual time and its pending timers. Someone else decides when time
 * passes: a timer fires only through `fireNext` or `advance`, and always
 * the one due soonest, moving the time up to its due time, never back. So
 * timers fire in due order and never early, as real ones do.
 */
class VirtualTime implements Clock {
  #nowMs = 0;
  #lastId = 0;
  #pending = new Map<number, { dueMs: number; callback: () => void }>();
  #onSet: (delayMs: number) => void;

  /** @param onSet Told of every timer set, to arrange for it to fire. */
  constructor(onSet: (delayMs: number) => void = () => {}) {
    this.#onSet = onSet;
  }

  now = (): number => this.#nowMs;

  setTimeout = (callback: () => void, delayMs: number): TimerHandle => {
    const id = ++this.#lastId;
    this.#pending.set(id, { dueMs: this.#nowMs + delayMs, callback });
    this.#onSet(delayMs);
    return id as unknown as TimerHandle;
  };

  clearTimeout = (handle: TimerHandle | undefined): void => {
    this.#pending.delete(handle as unknown as number);
  };

  /** Fires the timer due soonest, if one is due by `untilMs`. */
  fireNext(untilMs = Infinity): boolean {
    let soonest: [number, { dueMs: number; callback: () => void }] | undefined;
    for (const entry of this.#pending) {
      if (soonest === undefined || entry[1].dueMs < soonest[1].dueMs) {
        soonest = entry;
      }
    }
    if (soonest === undefined || soonest[1].dueMs > untilMs) return false;
    const [id, { dueMs, callback }] = soonest;
    this.#pending.delete(id);
    this.#nowMs = Math.max(this.#nowMs, dueMs);
    callback();
    return true;
  }

  /** Moves time `ms` forward, firing timers as they come due. */
  advance(ms: number): void {
    const untilMs = this.#nowMs + ms;
    while (this.fireNext(untilMs));
    this.#nowMs = untilMs;
  }
}

/** A pool whose timers run on `time`. */
function virtualPool<I>(
  work: (job: I, context: JobContext) => unknown,
  options: AutoScaleOptions<I>,
  time: VirtualTime,
): Controller<I, unknown> {
  const resolved = resolveOptions(
    options as AutoScaleOptions<unknown>,
    "Cannot create pool",
  );
  return new Controller<I, unknown>(
    work,
    { ...resolved, clock: time },
    () => {},
  );
}

/**
 * A virtual clock whose time passes when the scheduler says: each timer
 * set schedules one step, and each such step fires the timer due soonest.
 * The scheduler so picks when time passes relative to everything else.
 */
function scheduledClock(s: fc.Scheduler): VirtualTime {
  const time: VirtualTime = new VirtualTime((delayMs) => {
    s.schedule(Promise.resolve(), `timer +${delayMs} ms`).then(() => {
      time.fireNext();
    });
  });
  return time;
}

/**
 * Runs each job by its plan: scheduled outcomes land when `s` says, slow
 * ones when `clock` gets there. Every abort a job sees is logged with the
 * virtual time its attempt had run; only jobs that heed their signal stop.
 */
function scheduledWork(
  s: fc.Scheduler,
  clock: Clock,
  plans: readonly JobPlan[],
  log: WorkLog,
): (job: number, context: JobContext) => number | Promise<number> {
  return (job, context) => {
    log.starts[job]++;
    if (log.stopped) log.startedLate.push(job);
    const plan = plans[job];
    const fails = context.attempt <= plan.failures;
    const settle = () => {
      if (fails) throw new JobError(job, context.attempt);
      return resultOf(job);
    };
    if (plan.pace === "sync") return settle();
    const label = `job ${job} try ${context.attempt}`;
    // Outcomes settle inside a scheduled step or a timer, never before,
    // so no rejection waits unhandled.
    const outcome = plan.pace === "scheduled"
      ? s.schedule(Promise.resolve(), label).then(settle)
      : plan.pace === "slow"
      ? new Promise<void>((resolve) => {
        clock.setTimeout(resolve, plan.durationMs ?? 0);
      }).then(settle)
      : new Promise<number>(() => {});
    const { signal } = context;
    const startedAtMs = clock.now();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const afterMs = clock.now() - startedAtMs;
        log.aborts.push({ job, reason: signal.reason, afterMs });
        if (plan.heedsSignal) reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      outcome.then(resolve, reject).finally(() => {
        signal.removeEventListener("abort", onAbort);
      });
    });
  };
}

/** A source of jobs `0..count - 1` whose every pull waits for `s`. */
interface ScheduledSource {
  readonly stream: ReadableStream<number>;
  readonly cancelled: boolean;
  readonly cancelReason: unknown;
}

function scheduledSource(
  s: fc.Scheduler,
  count: number,
  errorAt: number | undefined,
  error: unknown,
): ScheduledSource {
  let next = 0;
  const state = { cancelled: false, cancelReason: undefined as unknown };
  const stream = new ReadableStream<number>({
    pull: async (controller) => {
      await s.schedule(Promise.resolve(), `pull ${next}`);
      if (state.cancelled) return;
      if (next === errorAt) controller.error(error);
      else if (next === count) controller.close();
      else controller.enqueue(next++);
    },
    cancel: (reason) => {
      state.cancelled = true;
      state.cancelReason = reason;
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    get cancelled() {
      return state.cancelled;
    },
    get cancelReason() {
      return state.cancelReason;
    },
  };
}

/** Reads to the end with a scheduled pause after each result. */
async function scheduledRead(
  s: fc.Scheduler,
  readable: ReadableStream<unknown>,
  cancelAfterReads: number | undefined,
): Promise<ReadOutcome> {
  const items: unknown[] = [];
  const reader = readable.getReader();
  try {
    while (true) {
      if (items.length === cancelAfterReads) {
        await reader.cancel(new Error("the reader cancelled"));
        return { items, ending: "cancelled" };
      }
      const { done, value } = await reader.read();
      if (done) return { items, ending: "closed" };
      items.push(value);
      await s.schedule(Promise.resolve(), `read pause ${items.length}`);
    }
  } catch (error) {
    return { items, ending: "errored", error };
  }
}

/** Runs `action` once `steps` scheduled steps of its own have run. */
function afterSteps(
  s: fc.Scheduler,
  steps: number,
  label: string,
  action: () => void,
): void {
  let chain = s.schedule(Promise.resolve(), `${label} in ${steps}`);
  for (let left = steps - 1; left >= 0; left--) {
    chain = chain.then(() =>
      s.schedule(Promise.resolve(), `${label} in ${left}`)
    );
  }
  chain.then(action);
}

/**
 * Runs scheduled steps until none is left, checking `check` between
 * steps. If `ended` has not settled by then, nothing can move the pool any
 * more: it hangs, and the run fails with what `check` last saw.
 */
async function runScheduled(
  s: fc.Scheduler,
  ended: Promise<unknown>,
  check: () => unknown,
): Promise<void> {
  let isEnded = false;
  ended.then(() => isEnded = true);
  let seen: unknown = undefined;
  for (let step = 0;; step++) {
    if (s.count() === 0) {
      // Let every microtask and stream hop run: they may schedule more.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (s.count() === 0) {
        if (isEnded) return;
        throw new Error(
          `the pool hangs: nothing is left to schedule, yet it has not closed; last stats: ${
            JSON.stringify(seen)
          }`,
        );
      }
    }
    if (step === MAX_STEPS) {
      throw new Error(
        `the run did not settle within ${MAX_STEPS} steps; last stats: ${
          JSON.stringify(seen)
        }`,
      );
    }
    await s.waitNext(1);
    seen = check();
  }
}

/**
 * Checks the scale events against the bounds and against each other: the
 * first starts from no worker, each starts where the last one ended, the
 * last leaves no worker, and the counters in `stats` add them up.
 */
function assertScaleEvents(
  events: readonly ScaleEvent[],
  stats: PoolStats,
  bounds: { minWorkers: number; maxWorkers: number },
): void {
  const log = events.map(({ from, to, reason }) => `${from}->${to} ${reason}`);
  let workers = 0;
  let peak = 0;
  let scaleUps = 0;
  let scaleDowns = 0;
  for (const { from, to, reason } of events) {
    assert.equal(
      from,
      workers,
      `each event starts where the last ended: ${log}`,
    );
    assert.ok(to <= bounds.maxWorkers, `above maxWorkers: ${log}`);
    if (reason !== "shutdown") {
      assert.ok(to >= bounds.minWorkers, `below minWorkers: ${log}`);
    }
    if (reason === "pressure") scaleUps += to - from;
    if (reason === "idle") scaleDowns += from - to;
    peak = Math.max(peak, to);
    workers = to;
  }
  assert.equal(workers, 0, `workers left: ${log}`);
  assert.equal(stats.peakWorkers, peak);
  assert.equal(stats.scaleUps, scaleUps);
  assert.equal(stats.scaleDowns, scaleDowns);
}

/** `completed + failed + unfinished().length === accepted`. */
function assertAccounted(
  stats: PoolStats,
  unfinished: readonly number[],
): void {
  assert.equal(
    stats.completed + stats.failed + unfinished.length,
    stats.accepted,
    `stats: ${JSON.stringify(stats)}, unfinished: ${unfinished}`,
  );
}

/** Lets every pending microtask run, stream hops included. */
async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

function assertDistinct(values: readonly number[], what: string): void {
  assert.equal(new Set(values).size, values.length, `${what}: ${values}`);
}

function resultOf(job: number): number {
  return job * 10;
}

/** The job a result or a settled record belongs to. */
function jobOf(item: unknown): number {
  if (typeof item === "number") return item / 10;
  return (item as SettledResult<number, number>).job;
}

function isRejectedRecord(item: unknown): boolean {
  return typeof item === "object" &&
    (item as SettledResult<number, number>).status === "rejected";
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}

function sortNumbers(values: readonly unknown[]): number[] {
  return (values as number[]).toSorted((a, b) => a - b);
}

/** `arbitrary`'s values half of the time, `undefined` the other half. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arbitrary, { nil: undefined, freq: 2 });
}
