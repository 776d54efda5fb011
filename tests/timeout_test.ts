import assert from "node:assert/strict";
import { autoScale } from "../mod.ts";
import { test } from "./_harness.ts";
import {
  collect,
  deferred,
  range,
  settle,
  sleep,
  waitFor,
} from "./_helpers.ts";

/** Resolves after `ms`, or rejects with the signal's reason on abort. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

test("a job past its timeout sees its signal abort with a TimeoutError", async () => {
  let reason: unknown;
  const pool = autoScale(async (_: number, { signal }) => {
    await abortableSleep(10_000, signal).catch((error) => {
      reason = error;
      throw error;
    });
  }, { timeout: 20 });
  const result = await settle(ReadableStream.from([1]).pipeThrough(pool));
  await pool.closed;
  assert.ok(reason instanceof DOMException);
  assert.equal((reason as DOMException).name, "TimeoutError");
  assert.equal(result.error, reason, "the same error fails the pool");
  assert.equal(pool.stats().timedOut, 1);
  assert.equal(pool.stats().failed, 1);
});

test("a job that finishes within its timeout is not affected by it", async () => {
  const pool = autoScale(async (n: number, { signal }) => {
    await abortableSleep(2, signal);
    return n;
  }, { timeout: 5_000, maxWorkers: 4 });
  const results = await collect(
    ReadableStream.from(range(20)).pipeThrough(pool),
  );
  assert.deepEqual(results.sort((a, b) => a - b), range(20));
  await pool.closed;
  assert.equal(pool.stats().timedOut, 0);
});

test("a timed-out attempt is retried like any failure", async () => {
  const pool = autoScale(async (n: number, { signal, attempt }) => {
    if (attempt === 1) await abortableSleep(10_000, signal);
    return n;
  }, { timeout: 20, retry: { attempts: 2, delay: 0 } });
  assert.deepEqual(await collect(ReadableStream.from([5]).pipeThrough(pool)), [
    5,
  ]);
  await pool.closed;
  assert.equal(pool.stats().timedOut, 1);
  assert.equal(pool.stats().retried, 1);
});

test("a job that ignores its signal is given up at its timeout, and its worker moves on", async () => {
  const ignored = deferred<number>();
  const pool = autoScale((n: number) => n === 0 ? ignored.promise : n, {
    maxWorkers: 1,
    timeout: 30,
    settled: true,
  });
  const results = await collect(
    ReadableStream.from([0, 1, 2]).pipeThrough(pool),
  );
  await pool.closed;
  assert.deepEqual(results.map((r) => r.status), [
    "rejected",
    "fulfilled",
    "fulfilled",
  ]);
  // The given-up job settles later; the pool ignores it.
  ignored.resolve(0);
  await sleep(5);
  assert.equal(pool.stats().completed, 2);
  assert.equal(pool.stats().failed, 1);
});

test("a shutdown waits at most the timeout for a job that ignores its signal", async () => {
  const controller = new AbortController();
  const ignored = deferred<void>();
  const pool = autoScale(() => ignored.promise, {
    timeout: 40,
    signal: controller.signal,
  });
  const output = settle(ReadableStream.from([1]).pipeThrough(pool));
  await waitFor(() => pool.stats().busy === 1, () => pool.stats());
  const abortedAt = Date.now();
  controller.abort();
  await pool.closed;
  assert.ok(Date.now() - abortedAt < 5_000);
  assert.deepEqual(await output, { items: [], errored: false });
  assert.deepEqual(pool.unfinished(), [1]);
  ignored.resolve();
});

test("without a timeout, a shutdown waits for a job that ignores its signal", async () => {
  const controller = new AbortController();
  const ignored = deferred<void>();
  const pool = autoScale(() => ignored.promise, { signal: controller.signal });
  const output = settle(ReadableStream.from([1]).pipeThrough(pool));
  await waitFor(() => pool.stats().busy === 1, () => pool.stats());
  controller.abort();
  let closed = false;
  pool.closed.then(() => closed = true);
  await sleep(30);
  assert.equal(closed, false);
  ignored.resolve();
  await pool.closed;
  await output;
});

test("a timeout uses one timer, cleared once the pool ends", async () => {
  const pool = autoScale((n: number) => Promise.resolve(n), {
    timeout: 60_000,
    maxWorkers: 8,
  });
  await collect(ReadableStream.from(range(100)).pipeThrough(pool));
  // Deno's op sanitizer fails this test if a timer were left behind.
  await pool.closed;
});

test("the last job given up at its timeout is delivered before the output closes, with a synchronous setup", async () => {
  // The fresh worker that takes the slot sets up at once; the pool must not
  // take the moment for the end of its work and close before the failure.
  const pool = autoScale((_n: number) => new Promise<number>(() => {}), {
    maxWorkers: 1,
    timeout: 20,
    settled: true,
    setup: () => "resource",
  });
  const records = await collect(ReadableStream.from([1]).pipeThrough(pool));
  await pool.closed;
  assert.equal(records.length, 1);
  assert.equal(records[0].status, "rejected");
  assert.equal(
    (records[0] as { reason: DOMException }).reason.name,
    "TimeoutError",
  );
  assert.equal(pool.stats().workers, 0);
});

test("a retry after the last job's timeout runs before the pool ends, with a synchronous setup", async () => {
  let calls = 0;
  const pool = autoScale((n: number) => {
    calls++;
    return calls === 1 ? new Promise<number>(() => {}) : n * 2;
  }, {
    maxWorkers: 1,
    timeout: 20,
    retry: { attempts: 2, delay: 0 },
    setup: () => "resource",
  });
  const results = await collect(ReadableStream.from([4]).pipeThrough(pool));
  await pool.closed;
  assert.deepEqual(results, [8]);
  assert.equal(pool.stats().workers, 0);
});
