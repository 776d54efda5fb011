// Jobs declared async without awaiting anything are the point in these
// tests: they return promises, as real jobs do.
// deno-lint-ignore-file require-await
import assert from "node:assert/strict";
import fc from "fast-check";
import { autoScale } from "../mod.ts";
import { retryDelayMs, shouldRetry, withRetryDefaults } from "../src/retry.ts";
import { test } from "./_harness.ts";
import {
  collect,
  countingSource,
  range,
  seedFromEnv,
  settle,
  turns,
  waitFor,
} from "./_helpers.ts";

test("shouldRetry() allows attempts up to the limit and no more", () => {
  const retry = withRetryDefaults({ attempts: 3 });
  assert.equal(shouldRetry(retry, 1, new Error(), "job"), true);
  assert.equal(shouldRetry(retry, 2, new Error(), "job"), true);
  assert.equal(shouldRetry(retry, 3, new Error(), "job"), false);
  assert.equal(shouldRetry(undefined, 1, new Error(), "job"), false);
});

test("shouldRetry() asks retryIf with the error and the job", () => {
  const seen: unknown[] = [];
  const retry = withRetryDefaults<string>({
    attempts: 5,
    retryIf: (error, job) => (seen.push(error, job), job !== "fatal"),
  });
  const error = new Error("boom");
  assert.equal(shouldRetry(retry, 1, error, "ok"), true);
  assert.equal(shouldRetry(retry, 1, error, "fatal"), false);
  assert.deepEqual(seen, [error, "ok", error, "fatal"]);
});

test("retryDelayMs() backs off exponentially with full jitter, up to maxDelay", () => {
  const retry = withRetryDefaults({
    attempts: 10,
    delay: 100,
    maxDelay: 1_000,
  });
  assert.equal(retryDelayMs(retry, 2, null, 0.5), 50);
  assert.equal(retryDelayMs(retry, 3, null, 0.5), 100);
  assert.equal(retryDelayMs(retry, 4, null, 0.5), 200);
  assert.equal(retryDelayMs(retry, 9, null, 0.5), 500);
  assert.equal(retryDelayMs(retry, 2, null, 0), 0);
});

test("retryDelayMs() stays within [0, min(maxDelay, delay * 2^(attempt - 2))]", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1_000 }),
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 2, max: 60 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (delay, maxDelay, attempt, random) => {
        const retry = withRetryDefaults({ attempts: 100, delay, maxDelay });
        const ms = retryDelayMs(retry, attempt, null, random);
        assert.ok(ms >= 0);
        assert.ok(ms <= Math.min(maxDelay, delay * 2 ** (attempt - 2)));
      },
    ),
    { seed: seedFromEnv() },
  );
});

test("retryDelayMs() uses a delay function as is, and never a negative wait", () => {
  const retry = withRetryDefaults({
    attempts: 3,
    delay: (attempt, error) => attempt === 2 ? 7 : (error as number),
  });
  assert.equal(retryDelayMs(retry, 2, null, 0.9), 7);
  assert.equal(retryDelayMs(retry, 3, -5, 0.9), 0);
  assert.equal(retryDelayMs(retry, 3, NaN, 0.9), 0);
});

test("autoScale() retries a failing job until it succeeds", async () => {
  const attempts: number[] = [];
  const pool = autoScale(async (n: number, { attempt }) => {
    attempts.push(attempt);
    if (attempt < 3) throw new Error(`attempt ${attempt}`);
    return n;
  }, { retry: { attempts: 3, delay: 1 } });
  assert.deepEqual(await collect(ReadableStream.from([7]).pipeThrough(pool)), [
    7,
  ]);
  await pool.closed;
  assert.deepEqual(attempts, [1, 2, 3]);
  assert.equal(pool.stats().retried, 2);
  assert.equal(pool.stats().failed, 0);
});

test("autoScale() fails the pool with the last error once attempts run out", async () => {
  const errors = [new Error("first"), new Error("second")];
  const pool = autoScale(async (_: number, { attempt }) => {
    throw errors[attempt - 1];
  }, { retry: { attempts: 2, delay: 0 } });
  const result = await settle(ReadableStream.from([1]).pipeThrough(pool));
  assert.equal(result.error, errors[1]);
  await pool.closed;
  assert.equal(pool.stats().failed, 1);
  assert.equal(pool.stats().retried, 1);
});

test("autoScale() does not retry a failure retryIf rejects", async () => {
  const fatal = new TypeError("fatal");
  let runs = 0;
  const pool = autoScale(async () => {
    runs++;
    throw fatal;
  }, {
    retry: { attempts: 5, delay: 0, retryIf: (e) => !(e instanceof TypeError) },
  });
  const result = await settle(ReadableStream.from([1]).pipeThrough(pool));
  assert.equal(result.error, fatal);
  assert.equal(runs, 1);
  await pool.closed;
});

test("autoScale() frees the worker while a job waits out its backoff", async () => {
  const order: string[] = [];
  const pool = autoScale(async (n: number, { attempt }) => {
    order.push(`${n}.${attempt}`);
    if (n === 0 && attempt === 1) throw new Error("retry me");
    return n;
  }, { maxWorkers: 1, retry: { attempts: 2, delay: () => 30 } });
  const results = await collect(
    ReadableStream.from([0, 1, 2]).pipeThrough(pool),
  );
  await pool.closed;
  // Jobs 1 and 2 ran on the only worker while job 0 waited.
  assert.deepEqual(order, ["0.1", "1.1", "2.1", "0.2"]);
  assert.deepEqual(results, [1, 2, 0]);
});

test("autoScale() with ordered keeps a retried job's place in the output", async () => {
  const pool = autoScale(async (n: number, { attempt }) => {
    if (n % 3 === 0 && attempt === 1) throw new Error("again");
    return n;
  }, { maxWorkers: 3, ordered: true, retry: { attempts: 2, delay: 2 } });
  const results = await collect(
    ReadableStream.from(range(12)).pipeThrough(pool),
  );
  assert.deepEqual(results, range(12));
  await pool.closed;
});

test("autoScale() counts jobs due for a retry against highWaterMark", async () => {
  let started = 0;
  const pool = autoScale(async (n: number, { attempt }) => {
    started++;
    if (attempt === 1) throw new Error("later");
    return n;
  }, {
    maxWorkers: 2,
    highWaterMark: 2,
    retry: { attempts: 2, delay: () => 60_000 },
  });
  const source = countingSource(range(100), { close: false });
  const output = settle(source.stream.pipeThrough(pool));
  await waitFor(() => pool.stats().retrying >= 2, () => pool.stats());
  await turns();
  // Jobs in backoff count against the intake: with those that were still
  // running when accepted, nothing passes highWaterMark + 1 + maxWorkers.
  const { retrying, queued, busy } = pool.stats();
  assert.ok(
    retrying + queued + busy <= 2 + 1 + 2,
    JSON.stringify(pool.stats()),
  );
  assert.ok(source.pulled <= 2 + 1 + 2, `pulled ${source.pulled}`);
  assert.ok(started <= source.pulled);
  await pool.drain(0);
  await output;
  const { completed, failed, accepted } = pool.stats();
  assert.equal(completed + failed + pool.unfinished().length, accepted);
});

test("autoScale() clears a pending backoff timer when the pool ends", async () => {
  const controller = new AbortController();
  const pool = autoScale(async () => {
    throw new Error("retry in a minute");
  }, {
    signal: controller.signal,
    retry: { attempts: 2, delay: () => 60_000 },
  });
  const output = settle(ReadableStream.from([1]).pipeThrough(pool));
  await waitFor(() => pool.stats().retrying === 1, () => pool.stats());
  controller.abort();
  await pool.closed;
  await output;
  assert.deepEqual(pool.unfinished(), [1]);
  assert.equal(pool.stats().retrying, 0);
});

test("autoScale() fails a job with the error a throwing retryIf raises", async () => {
  const bug = new Error("retryIf is broken");
  const pool = autoScale((): number => {
    throw new Error("job failed");
  }, {
    retry: {
      attempts: 3,
      retryIf: () => {
        throw bug;
      },
    },
  });
  const result = await settle(ReadableStream.from([1]).pipeThrough(pool));
  assert.equal(result.error, bug);
  await pool.closed;
  assert.equal(pool.stats().retried, 0);
});
