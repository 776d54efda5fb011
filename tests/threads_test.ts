import assert from "node:assert/strict";
import fc from "fast-check";
import { autoScale, autoScalePool } from "../mod.ts";
import type { Held, ThreadJob } from "./fixtures/thread_jobs.ts";
import { threadsWanted } from "../src/thread_group.ts";
import { WorkerThread } from "../src/worker_thread.ts";
import { RunningJobContext } from "../src/job_context.ts";
import { test } from "./_harness.ts";
import { collect, range, seedFromEnv, settle, waitFor } from "./_helpers.ts";

const MODULE = new URL("./fixtures/thread_jobs.ts", import.meta.url);
const double = (n: number): ThreadJob => ({ kind: "double", n });

test("a module URL runs every job in a worker thread", async () => {
  const pool = autoScale<ThreadJob, number>(MODULE, { maxWorkers: 2 });
  const results = await collect(
    ReadableStream.from(range(20).map(double)).pipeThrough(pool),
  );
  await pool.closed;
  assert.deepEqual(results.sort((a, b) => a - b), range(20).map((n) => n * 2));
  const where = autoScale<ThreadJob, boolean>(MODULE.href, { maxWorkers: 1 });
  assert.deepEqual(
    await collect(
      ReadableStream.from([{ kind: "where" } as const]).pipeThrough(where),
    ),
    [true],
  );
  await where.closed;
});

test("a thread job sees its worker's id and its attempt, and may be async", async () => {
  type Seen = { workerId: number; attempt: number };
  const pool = autoScale<ThreadJob, Seen | number>(MODULE, {
    maxWorkers: 1,
    retry: { attempts: 2, delay: 0 },
    ordered: true,
  });
  const results = await collect(
    ReadableStream.from<ThreadJob>([
      { kind: "context", failFirst: true },
      { kind: "async-double", n: 4 },
    ]).pipeThrough(pool),
  );
  await pool.closed;
  // The pool's first worker is 1, whichever thread it runs on.
  assert.deepEqual(results, [{ workerId: 1, attempt: 2 }, 8]);
});

test("a thread job that throws fails like any job, with its error's name and message", async () => {
  const pool = autoScale<ThreadJob, number>(MODULE, {
    settled: true,
    maxWorkers: 1,
  });
  const [record] = await collect(
    ReadableStream.from([{ kind: "throw", message: "bad input" } as const])
      .pipeThrough(pool),
  );
  await pool.closed;
  assert.equal(record.status, "rejected");
  const reason = (record as { reason: Error }).reason;
  assert.equal(reason.name, "RangeError");
  assert.equal(reason.message, "bad input");
});

test("each job in a thread sees the worker id and attempt it was sent with, after a restart too", async () => {
  const thread = new WorkerThread(MODULE.href, undefined, () => {});
  const run = (workerId: number, attempt: number) =>
    thread.run(
      { kind: "context", failFirst: false },
      new RunningJobContext(workerId, attempt, undefined),
      workerId,
      undefined,
    );
  for (const [workerId, attempt] of [[1, 1], [1, 1], [2, 1], [2, 3], [1, 2]]) {
    assert.deepEqual(await run(workerId, attempt), { workerId, attempt });
  }
  assert.deepEqual(
    await Promise.all([run(3, 1), run(3, 1), run(4, 2), run(3, 1)]),
    [
      { workerId: 3, attempt: 1 },
      { workerId: 3, attempt: 1 },
      { workerId: 4, attempt: 2 },
      { workerId: 3, attempt: 1 },
    ],
  );
  thread.terminate();
  // The next job starts a fresh thread, which knows no worker yet.
  assert.deepEqual(await run(3, 1), { workerId: 3, attempt: 1 });
  thread.terminate();
});

test("a thread job's error keeps its own properties and its cause", async () => {
  const pool = autoScale<ThreadJob, number>(MODULE, {
    settled: true,
    ordered: true,
    maxWorkers: 1,
  });
  const [detailed, withHandle] = await collect(
    ReadableStream.from<ThreadJob>([
      { kind: "throw-detailed" },
      { kind: "throw-with-handle" },
    ]).pipeThrough(pool),
  );
  await pool.closed;
  const error = (detailed as { reason: Error }).reason;
  assert.ok(error instanceof Error);
  assert.equal(error.message, "cannot reach the store");
  assert.deepEqual(
    { ...error },
    { code: "E_STORE", status: 503 },
    "own properties, and no others",
  );
  const cause = error.cause as Error;
  assert.ok(cause instanceof TypeError);
  assert.equal(cause.message, "connection refused");
  assert.equal((cause as Error & { code: string }).code, "ECONNREFUSED");
  // What cannot be cloned falls back to the name, message and stack.
  const bare = (withHandle as { reason: Error }).reason;
  assert.ok(bare instanceof RangeError);
  assert.equal(bare.message, "out of slots");
  assert.equal("release" in bare, false);
  assert.equal("code" in bare, false);
});

test("a thread that dies fails the job it held and is replaced", async () => {
  const pool = autoScale<ThreadJob, number>(MODULE, {
    settled: true,
    maxWorkers: 1,
  });
  const records = await collect(
    ReadableStream.from<ThreadJob>([{ kind: "die" }, double(4)]).pipeThrough(
      pool,
    ),
  );
  await pool.closed;
  assert.equal(records[0].status, "rejected");
  assert.match(
    (records[0] as { reason: Error }).reason.message,
    /^The worker thread died/,
  );
  assert.deepEqual(records[1], {
    job: double(4),
    status: "fulfilled",
    value: 8,
  });
});

test("a thread that closes itself fails the job it held and is replaced", async () => {
  const pool = autoScale<ThreadJob, number>(MODULE, {
    settled: true,
    maxWorkers: 1,
  });
  const records = await collect(
    ReadableStream.from<ThreadJob>([{ kind: "close" }, double(1)]).pipeThrough(
      pool,
    ),
  );
  await pool.closed;
  assert.match(
    (records[0] as { reason: Error }).reason.message,
    /^The worker thread (closed itself|exited)$/,
  );
  assert.equal(records[1].status, "fulfilled");
});

test("a module that cannot load fails the pool once, with the cause", async () => {
  const missing = new URL("./fixtures/missing_module.ts", import.meta.url);
  const pool = autoScale<ThreadJob, number>(missing, {
    minWorkers: 1,
    maxWorkers: 1,
  });
  const result = await settle(
    ReadableStream.from(range(5).map(double)).pipeThrough(pool),
  );
  await pool.closed;
  assert.match((result.error as Error).message, /^Cannot start worker 1: /);
  assert.match(
    ((result.error as Error).cause as Error).message,
    /^Cannot load the module .*missing_module\.ts in a worker$/,
  );
  assert.equal(pool.stats().workers, 0);
  assert.equal(pool.stats().peakWorkers, 1, "no respawning");
});

test("a job's signal aborts in its thread", async () => {
  assert.deepEqual(await abortWhileAJobWaits(undefined), {
    sawAbort: true,
    threadsAfter: 0,
  });
});

test("an abort whose reason cannot be cloned still reaches the job in its thread", async () => {
  const reason = { code: 7, describe: () => "a reason with a method" };
  assert.deepEqual(await abortWhileAJobWaits(reason), {
    sawAbort: true,
    threadsAfter: 0,
  });
});

/**
 * Aborts a one-thread pool with `reason` while its job waits for its
 * signal, and tells whether the job saw it and how many threads outlived
 * the pool.
 */
async function abortWhileAJobWaits(
  reason: unknown,
): Promise<{ sawAbort: boolean; threadsAfter: number }> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const controller = new AbortController();
  const pool = autoScale<ThreadJob, number>(MODULE, {
    maxWorkers: 1,
    signal: controller.signal,
  });
  const output = settle(
    ReadableStream.from<ThreadJob>([{ kind: "await-abort", flag }]).pipeThrough(
      pool,
    ),
  );
  await waitFor(() => pool.stats().busy === 1, () => pool.stats());
  controller.abort(reason);
  await pool.closed;
  await output;
  return {
    sawAbort: Atomics.load(flag, 0) === 1,
    threadsAfter: pool.stats().threads,
  };
}

test("a job, result or error that cannot be cloned fails that job alone with a DataCloneError", async () => {
  const pool = autoScale<ThreadJob, number>(MODULE, {
    maxWorkers: 1,
    settled: true,
    ordered: true,
  });
  const records = await collect(
    ReadableStream.from<ThreadJob>([
      Object.assign(double(1), { callback: () => 1 }),
      { kind: "uncloneable-result" },
      { kind: "uncloneable-throw" },
      double(5),
    ]).pipeThrough(pool),
  );
  await pool.closed;
  const reasons = records.slice(0, 3).map((record) => {
    assert.equal(record.status, "rejected");
    return (record as { reason: DOMException }).reason;
  });
  for (const reason of reasons) assert.equal(reason.name, "DataCloneError");
  assert.match(reasons[0].message, /^Cannot send the job to its worker thread/);
  assert.match(reasons[1].message, /^Cannot send the job's result from/);
  assert.match(reasons[2].message, /^Cannot send the job's error from/);
  assert.equal(records[3].status, "fulfilled");
  assert.equal((records[3] as { value: number }).value, 10);
  assert.equal(pool.stats().failed, 3);
  assert.equal(pool.stats().threads, 0, "no job is left pending in a thread");
});

test("a job that cannot be cloned while its thread starts fails alone", async () => {
  const thread = new WorkerThread(MODULE.href, undefined, () => {});
  const context = () => new RunningJobContext(1, 1, undefined);
  const unsendable = thread.run(
    Object.assign(double(1), { callback: () => 1 }),
    context(),
    1,
    undefined,
  );
  const sendable = thread.run(double(2), context(), 1, undefined);
  assert.ok(thread.starting, "both jobs wait for the module to load");
  await assert.rejects(unsendable, { name: "DataCloneError" });
  assert.equal(await sendable, 4);
  assert.equal(thread.load, 0);
  thread.terminate();
});

test("a timeout terminates a thread that spins past it", async () => {
  const pool = autoScale<ThreadJob, number>(MODULE, {
    maxWorkers: 1,
    timeout: 100,
    settled: true,
  });
  const startedAt = Date.now();
  const records = await collect(
    ReadableStream.from<ThreadJob>([{ kind: "spin", ms: 60_000 }, double(2)])
      .pipeThrough(pool),
  );
  await pool.closed;
  assert.ok(Date.now() - startedAt < 30_000);
  assert.equal(
    (records[0] as { reason: DOMException }).reason.name,
    "TimeoutError",
  );
  assert.equal(records[1].status, "fulfilled");
});

test("transfer moves a job's buffer to the thread instead of copying it", async () => {
  const buffer = new ArrayBuffer(1024);
  const pool = autoScale<ThreadJob, number>(MODULE, {
    maxWorkers: 1,
    transfer: (job) => job.kind === "buffer" ? [job.buffer] : [],
  });
  const results = await collect(
    ReadableStream.from<ThreadJob>([{ kind: "buffer", buffer }]).pipeThrough(
      pool,
    ),
  );
  await pool.closed;
  assert.deepEqual(results, [1024]);
  assert.equal(buffer.byteLength, 0, "detached here");
});

test("a transferred buffer is gone from this thread, so a retry of its job fails with a DataCloneError", async () => {
  const buffer = new ArrayBuffer(16);
  const pool = autoScale<ThreadJob, number>(MODULE, {
    maxWorkers: 1,
    settled: true,
    retry: { attempts: 2, delay: 0 },
    transfer: (job) => job.kind === "buffer" ? [job.buffer] : [],
  });
  const [record] = await collect(
    ReadableStream.from<ThreadJob>([
      { kind: "buffer", buffer, failFirst: true },
    ]).pipeThrough(pool),
  );
  await pool.closed;
  assert.equal(record.status, "rejected");
  const reason = (record as { reason: DOMException }).reason;
  assert.equal(reason.name, "DataCloneError");
  assert.match(reason.message, /^Cannot send the job to its worker thread/);
  assert.equal(pool.stats().retried, 1);
  assert.equal(pool.stats().threads, 0);
});

test("threads default to one per core, and none outlive the pool", async () => {
  const pool = autoScale<ThreadJob, number>(MODULE, {
    minWorkers: 0,
    idleTimeout: 10,
  });
  const results = await collect(
    ReadableStream.from(range(8).map(double)).pipeThrough(pool),
  );
  assert.equal(results.length, 8);
  assert.ok(pool.stats().peakWorkers <= navigator.hardwareConcurrency);
  await pool.closed;
  assert.equal(pool.stats().workers, 0);
});

test("a module URL must be absolute, and brings no setup or teardown", () => {
  assert.throws(
    () => autoScale("./fixtures/thread_jobs.ts"),
    new TypeError(
      'Cannot create pool: "work" must be a function or an absolute module URL, received "./fixtures/thread_jobs.ts"',
    ),
  );
  assert.throws(
    () => autoScale(MODULE, { setup: () => 1 } as never),
    TypeError,
  );
  assert.throws(
    () => autoScale((n: number) => n, { transfer: () => [] }),
    TypeError,
  );
  assert.throws(
    () => autoScalePool(new AbortController().signal, 1, 2, [], "nope"),
    TypeError,
  );
});

test("a module URL is refused at once where the runtime has no Worker", () => {
  const original = Object.getOwnPropertyDescriptor(globalThis, "Worker");
  assert.ok(original?.configurable);
  Object.defineProperty(globalThis, "Worker", {
    value: undefined,
    configurable: true,
  });
  try {
    assert.throws(
      () => autoScale(MODULE),
      new TypeError(
        `Cannot create pool: "work" is a module URL, to run in Web Worker threads, and this runtime has no global Worker (Node.js has none); pass a work function instead, received ${MODULE.href}`,
      ),
    );
  } finally {
    Object.defineProperty(globalThis, "Worker", original);
  }
  assert.equal(typeof Worker, "function");
});

test("a module URL pool whose settled is known only at run time may deliver either", async () => {
  const settled = Math.random() < 2;
  // That this type-checks is half the test: the output is a value or a
  // settled record, and the code below must handle both.
  const pool = autoScale<ThreadJob, number>(MODULE, { settled, maxWorkers: 1 });
  const [first] = await collect(
    ReadableStream.from([double(3)]).pipeThrough(pool),
  );
  await pool.closed;
  assert.deepEqual(
    typeof first === "number" ? first : first.status === "fulfilled" && first,
    { job: double(3), status: "fulfilled", value: 6 },
  );
});

test("autoScalePool() takes a module URL in place of the work function", async () => {
  const results = await collect(
    autoScalePool<ThreadJob, number>(
      new AbortController().signal,
      0,
      2,
      range(6).map(double),
      MODULE,
    ),
  );
  assert.deepEqual(results.sort((a, b) => a - b), [0, 2, 4, 6, 8, 10]);
});

test(
  "threads, shared or not, run every job once and end cleanly at any abort moment",
  async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 20 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
        async (numbers, maxWorkers, jobsPerThread, abortAfterMs) => {
          const controller = new AbortController();
          const pool = autoScale<ThreadJob, number>(MODULE, {
            minWorkers: 0,
            maxWorkers,
            jobsPerThread,
            signal: controller.signal,
          });
          const timer = abortAfterMs === undefined
            ? undefined
            : setTimeout(() => controller.abort(), abortAfterMs);
          const result = await settle(
            ReadableStream.from(numbers.map(double)).pipeThrough(pool),
          );
          await pool.closed;
          clearTimeout(timer);
          assert.equal(result.errored, false);
          assert.equal(pool.stats().workers, 0);
          const { completed, failed, accepted } = pool.stats();
          assert.equal(completed + failed + pool.unfinished().length, accepted);
          if (abortAfterMs === undefined) {
            assert.deepEqual(
              result.items.sort((a, b) => a - b),
              numbers.map((n) => n * 2).sort((a, b) => a - b),
            );
          }
        },
      ),
      { numRuns: 15, seed: seedFromEnv() },
    );
  },
  { deadlineMs: 60_000 },
);

test("jobsPerThread puts that many workers on each thread, and their jobs run there together", async () => {
  const jobsPerThread = 2;
  const cores = navigator.hardwareConcurrency;
  const pool = autoScale<ThreadJob, Held>(MODULE, {
    minWorkers: 0,
    jobsPerThread,
  });
  const jobs = range(cores * jobsPerThread * 3).map(() => ({
    kind: "hold" as const,
    ms: 200,
  }));
  const held = await collect(ReadableStream.from(jobs).pipeThrough(pool));
  await pool.closed;
  assert.equal(held.length, jobs.length);
  // By default as many threads as cores, each shared by jobsPerThread.
  assert.equal(pool.stats().peakWorkers, cores * jobsPerThread);
  assert.equal(new Set(held.map(({ thread }) => thread)).size, cores);
  assert.ok(held.every(({ together }) => together <= jobsPerThread));
  assert.ok(held.some(({ together }) => together === jobsPerThread));
  const workerIds = new Set(held.map(({ workerId }) => workerId));
  assert.ok(workerIds.size > cores, "each job sees its own worker's id");
  assert.equal(pool.stats().workers, 0);
});

test("with jobsPerThread, workers take a thread each before any thread is shared", async () => {
  const pool = autoScale<ThreadJob, Held>(MODULE, {
    minWorkers: 2,
    maxWorkers: 4,
    jobsPerThread: 2,
  });
  const held = await collect(
    ReadableStream.from(
      range(2).map(() => ({ kind: "hold", ms: 200 }) as const),
    )
      .pipeThrough(pool),
  );
  await pool.closed;
  assert.equal(new Set(held.map(({ thread }) => thread)).size, 2);
  assert.deepEqual(held.map(({ together }) => together), [1, 1]);
});

test("a job given up at its timeout ends its thread, failing the jobs that shared it", async () => {
  // One thread for both workers: the hanging job's and the sleeping one's.
  const pool = autoScale<ThreadJob, unknown>(MODULE, {
    minWorkers: 2,
    maxWorkers: 2,
    jobsPerThread: 2,
    timeout: 2_000,
    settled: true,
  });
  const input = new ReadableStream<ThreadJob>({
    async start(controller) {
      controller.enqueue({ kind: "hang" });
      // Well inside the hanging job's timeout, and far from its own.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      controller.enqueue({ kind: "hold", ms: 60_000 });
      controller.close();
    },
  });
  const records = await collect(input.pipeThrough(pool));
  await pool.closed;
  const [hang, hold] = records;
  assert.equal(hang.status, "rejected");
  assert.equal((hang as { reason: Error }).reason.name, "TimeoutError");
  assert.equal(hold.status, "rejected");
  assert.equal(
    (hold as { reason: Error }).reason.message,
    "The worker thread was terminated: a job in it timed out",
  );
  assert.equal(pool.stats().timedOut, 1);
});

test("jobsPerThread must be an integer >= 1, and needs a module URL", () => {
  assert.throws(
    () => autoScale(MODULE, { jobsPerThread: 0 }),
    new RangeError(
      'Cannot create pool: "jobsPerThread" must be an integer >= 1, received 0',
    ),
  );
  assert.throws(
    () => autoScale(MODULE, { jobsPerThread: 1.5 }),
    new RangeError(
      'Cannot create pool: "jobsPerThread" must be an integer >= 1, received 1.5',
    ),
  );
  assert.throws(
    () => autoScale(MODULE, { jobsPerThread: "2" as never }),
    new TypeError(
      'Cannot create pool: "jobsPerThread" must be a number, received "2"',
    ),
  );
  assert.throws(
    () => autoScale((n: number) => n, { jobsPerThread: 2 }),
    /^TypeError: Cannot create pool: "jobsPerThread" needs a module URL as "work", received /,
  );
});

test("threads wanted: one per worker up to the spread, then shared, never more than workers", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 200 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 64 }),
      (workers, jobsPerThread, spread) => {
        const threads = threadsWanted(workers, jobsPerThread, spread);
        assert.ok(threads <= workers);
        assert.ok(threads * jobsPerThread >= workers, "no thread overfull");
        if (workers <= spread) assert.equal(threads, workers);
        else {
          assert.equal(
            threads,
            Math.max(spread, Math.ceil(workers / jobsPerThread)),
          );
        }
        assert.ok(threadsWanted(workers + 1, jobsPerThread, spread) >= threads);
      },
    ),
    { seed: seedFromEnv() },
  );
});

test(
  "shared threads settle every job exactly once while threads end, throw and time out",
  async () => {
    // Threads end themselves with close(): an uncaught error would do the
    // same, but Deno prints each one, which would bury the test's output.
    const kinds = ["double", "double", "throw", "close", "spin"] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...kinds), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 2 }),
        async (picked, maxWorkers, jobsPerThread, attempts) => {
          const jobs = picked.map((kind, n): ThreadJob =>
            kind === "double"
              ? double(n)
              : kind === "throw"
              ? { kind: "throw", message: `job ${n}` }
              : kind === "spin"
              ? { kind: "spin", ms: 60_000 }
              : { kind: "close" }
          );
          const pool = autoScale<ThreadJob, number>(MODULE, {
            minWorkers: 0,
            maxWorkers,
            jobsPerThread,
            settled: true,
            timeout: 300,
            retry: { attempts, delay: 0 },
          });
          const records = await collect(
            ReadableStream.from(jobs).pipeThrough(pool),
          );
          await pool.closed;
          // One record per job, each job once.
          assert.equal(records.length, jobs.length);
          assert.equal(
            new Set(records.map(({ job }) => job)).size,
            jobs.length,
          );
          for (const record of records) {
            if (record.status === "fulfilled") {
              const job = record.job as { kind: "double"; n: number };
              assert.equal(job.kind, "double");
              assert.equal(record.value, job.n * 2);
            } else {
              assert.notEqual((record.job as ThreadJob).kind, undefined);
            }
          }
          // A job that cannot succeed never does.
          for (const record of records) {
            if ((record.job as ThreadJob).kind !== "double") {
              assert.equal(record.status, "rejected");
            }
          }
          const stats = pool.stats();
          assert.equal(stats.workers, 0);
          assert.equal(stats.completed + stats.failed, stats.accepted);
          assert.deepEqual(pool.unfinished(), []);
        },
      ),
      { numRuns: 8, seed: seedFromEnv() },
    );
  },
  { deadlineMs: 120_000 },
);

test("threadHost starts threads from the host module it names", async () => {
  const pool = autoScale<ThreadJob, unknown>(MODULE, {
    maxWorkers: 1,
    threadHost: new URL("./fixtures/marked_host.ts", import.meta.url),
  });
  const results = await collect(
    ReadableStream.from<ThreadJob>([
      { kind: "global", name: "threadHostMark" },
      double(5),
    ]).pipeThrough(pool),
  );
  await pool.closed;
  assert.deepEqual(results, ["marked_host.ts", 10]);
});

test("threadHost must be an absolute URL, and needs a module URL as the work", () => {
  assert.throws(
    () => autoScale(MODULE, { threadHost: "./host.js" }),
    new TypeError(
      'Cannot create pool: "threadHost" must be an absolute module URL, received "./host.js"',
    ),
  );
  assert.throws(
    () => autoScale(MODULE, { threadHost: 5 as never }),
    new TypeError(
      'Cannot create pool: "threadHost" must be an absolute module URL, received 5',
    ),
  );
  assert.throws(
    () =>
      autoScale((n: number) => n, {
        threadHost: new URL("./fixtures/marked_host.ts", import.meta.url),
      }),
    /^TypeError: Cannot create pool: "threadHost" needs a module URL as "work", received /,
  );
});

test("a threadHost that cannot load fails the pool once, with the cause", async () => {
  const pool = autoScale<ThreadJob, number>(MODULE, {
    minWorkers: 1,
    maxWorkers: 1,
    threadHost: new URL("./fixtures/missing_host.ts", import.meta.url),
  });
  const result = await settle(
    ReadableStream.from(range(3).map(double)).pipeThrough(pool),
  );
  await pool.closed;
  assert.equal(result.errored, true);
  assert.match((result.error as Error).message, /^Cannot start worker 1: /);
  assert.match(
    ((result.error as Error).cause as Error).message,
    /^The worker thread (died|exited)/,
  );
  assert.equal(pool.stats().peakWorkers, 1, "no respawning");
});

test("resizing a pool of shared threads keeps every job exactly once", async () => {
  const pool = autoScale<ThreadJob, Held>(MODULE, {
    minWorkers: 0,
    maxWorkers: 2,
    jobsPerThread: 2,
    idleTimeout: 5,
  });
  const jobs = range(24).map(() => ({ kind: "hold", ms: 20 }) as const);
  const input = new ReadableStream<ThreadJob>({
    async start(controller) {
      for (const [i, job] of jobs.entries()) {
        controller.enqueue(job);
        if (i === 6) pool.resize({ maxWorkers: 6 });
        if (i === 14) pool.resize({ maxWorkers: 1 });
        if (i % 4 === 3) await new Promise((r) => setTimeout(r, 15));
      }
      controller.close();
    },
  });
  const held = await collect(input.pipeThrough(pool));
  await pool.closed;
  assert.equal(held.length, jobs.length);
  assert.ok(held.every(({ together }) => together <= 2));
  assert.equal(pool.stats().workers, 0);
  assert.ok(pool.stats().peakWorkers <= 6);
});

test("stats().threads counts the threads running or starting, shared or not", async () => {
  const shared = autoScale<ThreadJob, number>(MODULE, {
    minWorkers: 4,
    maxWorkers: 4,
    jobsPerThread: 2,
  });
  const own = autoScale<ThreadJob, number>(MODULE, {
    minWorkers: 2,
    maxWorkers: 2,
  });
  await waitFor(
    () => shared.stats().starting === 0 && own.stats().starting === 0,
    () => [shared.stats(), own.stats()],
  );
  assert.equal(shared.stats().workers, 4);
  assert.equal(shared.stats().threads, 2);
  assert.equal(own.stats().threads, 2);
  await Promise.all([shared.writable.close(), own.writable.close()]);
  await Promise.all([shared.closed, own.closed]);
  assert.equal(shared.stats().threads, 0);
  assert.equal(own.stats().threads, 0);
  const inThread = autoScale((n: number) => n, { minWorkers: 3 });
  assert.equal(inThread.stats().threads, 0);
  await inThread.writable.close();
  await inThread.closed;
});
