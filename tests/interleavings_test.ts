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
import type { SettledResult } from "../mod.ts";
import { test } from "./_harness.ts";
import {
  assertAccounted,
  assertDistinct,
  assertScaleEvents,
  flushMicrotasks,
  isRejectedRecord,
  isTimeout,
  JobError,
  jobOf,
  jobPlan,
  resultOf,
  sometimes,
  sortNumbers,
  startRun,
  virtualPool,
  VirtualTime,
} from "./_scheduled.ts";
import { range, seedFromEnv } from "./_helpers.ts";

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
