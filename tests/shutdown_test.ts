// Jobs declared async without awaiting anything are the point in these
// tests: they return promises, as real jobs do.
// deno-lint-ignore-file require-await
import assert from "node:assert/strict";
import { autoScale, type ScaleEvent } from "../mod.ts";
import { test } from "./_harness.ts";
import {
  collect,
  countingSource,
  gatedWork,
  range,
  settle,
  turns,
  waitFor,
} from "./_helpers.ts";

/** Counts the abort listeners a signal holds, by watching add and remove. */
function watchListeners(signal: AbortSignal): { readonly count: number } {
  let count = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    count++;
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    count--;
    remove(...args);
  };
  return {
    get count() {
      return count;
    },
  };
}

test("an already-aborted signal runs no job and closes the output at once", async () => {
  const reason = new Error("stop");
  let ran = 0;
  const pool = autoScale((n: number) => (ran++, n), {
    minWorkers: 2,
    signal: AbortSignal.abort(reason),
  });
  const events: ScaleEvent[] = [];
  pool.addEventListener("scale", (event) => events.push(event));
  const source = countingSource(range(10));
  const result = await settle(source.stream.pipeThrough(pool));
  await pool.closed;
  assert.deepEqual(result, { items: [], errored: false });
  assert.equal(ran, 0);
  assert.equal(pool.stats().workers, 0);
  assert.equal(source.cancelReason, reason);
  assert.deepEqual(events, []);
});

test("aborting the signal while jobs run aborts each job's signal with the reason", async () => {
  const controller = new AbortController();
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, {
    maxWorkers: 3,
    signal: controller.signal,
  });
  const output = settle(ReadableStream.from(range(10)).pipeThrough(pool));
  await waitFor(() => gate.running.size === 3, () => pool.stats());
  const reason = new Error("shutting down");
  controller.abort(reason);
  await pool.closed;
  assert.deepEqual([...gate.abortReasons.values()], [reason, reason, reason]);
  assert.deepEqual(await output, { items: [], errored: false });
});

test("aborting the signal cancels the upstream and errors the writable with the reason", async () => {
  const controller = new AbortController();
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { signal: controller.signal });
  const source = countingSource(range(100), { close: false });
  const output = source.stream.pipeThrough(pool);
  await waitFor(() => gate.running.size > 0, () => pool.stats());
  const reason = new Error("bye");
  controller.abort(reason);
  await pool.closed;
  await waitFor(() => source.cancelled, () => source);
  assert.equal(source.cancelReason, reason);
  assert.deepEqual(await settle(output), { items: [], errored: false });
});

test("aborting the signal leaves queued jobs unstarted", async () => {
  const controller = new AbortController();
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, {
    maxWorkers: 2,
    highWaterMark: 8,
    signal: controller.signal,
  });
  const output = settle(ReadableStream.from(range(10)).pipeThrough(pool));
  await waitFor(() => pool.stats().queued >= 5, () => pool.stats());
  controller.abort();
  await pool.closed;
  await turns();
  assert.deepEqual(gate.started, [0, 1]);
  assert.equal(pool.stats().queued, 0);
  await output;
});

test("aborting the signal keeps results already delivered readable", async () => {
  const controller = new AbortController();
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, {
    maxWorkers: 2,
    signal: controller.signal,
  });
  const writer = pool.writable.getWriter();
  writer.write(1);
  writer.write(2);
  await waitFor(() => gate.running.size === 2, () => pool.stats());
  gate.release(1);
  await waitFor(() => pool.stats().completed === 1, () => pool.stats());
  controller.abort();
  await pool.closed;
  assert.deepEqual(await collect(pool.readable), [1]);
  await writer.closed.catch(() => {});
});

test("aborting the signal while the input drains closes the output", async () => {
  const controller = new AbortController();
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { signal: controller.signal });
  const writer = pool.writable.getWriter();
  writer.write(1);
  const closing = writer.close();
  await waitFor(() => gate.running.size === 1, () => pool.stats());
  const reason = new Error("late abort");
  controller.abort(reason);
  await pool.closed;
  await assert.rejects(closing, (error) => error === reason);
  assert.deepEqual(await settle(pool.readable), { items: [], errored: false });
});

test("aborting the signal after the pool ended changes nothing", async () => {
  const controller = new AbortController();
  const watched = watchListeners(controller.signal);
  const pool = autoScale((n: number) => n, { signal: controller.signal });
  assert.equal(watched.count, 1);
  assert.deepEqual(
    await collect(ReadableStream.from([1, 2]).pipeThrough(pool)),
    [1, 2],
  );
  await pool.closed;
  assert.equal(watched.count, 0, "the abort listener is removed");
  controller.abort();
  await turns();
  assert.equal(pool.stats().workers, 0);
});

test("aborting the signal removes the pool's abort listener", async () => {
  const controller = new AbortController();
  const watched = watchListeners(controller.signal);
  const pool = autoScale((n: number) => n, { signal: controller.signal });
  controller.abort();
  await pool.closed;
  assert.equal(watched.count, 0);
});

test("a job that throws errors the output with that same error", async () => {
  const failure = new Error("job failed");
  const pool = autoScale(async (n: number) => {
    if (n === 3) throw failure;
    return n;
  }, { maxWorkers: 2 });
  const result = await settle(
    ReadableStream.from(range(10)).pipeThrough(pool),
  );
  assert.equal(result.errored, true);
  assert.equal(result.error, failure);
  await pool.closed;
});

test("a job that throws synchronously errors the output with that same error", async () => {
  const failure = new TypeError("bad job");
  const pool = autoScale((n: number) => {
    if (n === 2) throw failure;
    return n;
  });
  const result = await settle(ReadableStream.from(range(5)).pipeThrough(pool));
  assert.equal(result.error, failure);
  await pool.closed;
  assert.equal(pool.stats().workers, 0);
});

test("a job that throws aborts the other running jobs and cancels the upstream", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { maxWorkers: 3 });
  const source = countingSource(range(100), { close: false });
  const output = settle(source.stream.pipeThrough(pool));
  await waitFor(() => gate.running.size === 3, () => pool.stats());
  const failure = new Error("one failed");
  gate.fail(1, failure);
  await pool.closed;
  assert.equal(gate.abortReasons.get(0), failure);
  assert.equal(gate.abortReasons.get(2), failure);
  await waitFor(() => source.cancelled, () => source);
  assert.equal(source.cancelReason, failure);
  assert.equal((await output).error, failure);
});

test("a job that throws while the input closes rejects the close with its error", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work);
  const writer = pool.writable.getWriter();
  writer.write(1);
  const closing = writer.close();
  await waitFor(() => gate.running.size === 1, () => pool.stats());
  const failure = new Error("late failure");
  gate.fail(1, failure);
  await assert.rejects(closing, (error) => error === failure);
  assert.equal((await settle(pool.readable)).error, failure);
  await pool.closed;
});

test("aborting the writable errors the output with that same reason", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { maxWorkers: 2 });
  const writer = pool.writable.getWriter();
  writer.write(1).catch(() => {});
  writer.write(2).catch(() => {});
  await waitFor(() => gate.running.size === 2, () => pool.stats());
  const reason = new Error("producer gave up");
  await writer.abort(reason);
  assert.equal(gate.abortReasons.get(1), reason);
  assert.equal(gate.abortReasons.get(2), reason);
  assert.equal((await settle(pool.readable)).error, reason);
  await pool.closed;
});

test("an erroring source errors the output with that same error", async () => {
  const failure = new Error("source broke");
  let sent = 0;
  const source = new ReadableStream<number>({
    pull(controller) {
      if (sent === 5) controller.error(failure);
      else controller.enqueue(sent++);
    },
  });
  const pool = autoScale(async (n: number) => n);
  const result = await settle(source.pipeThrough(pool));
  assert.equal(result.error, failure);
  await pool.closed;
});

test("cancelling the output aborts running jobs and cancels the upstream", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { maxWorkers: 2 });
  const source = countingSource(range(100), { close: false });
  const reader = source.stream.pipeThrough(pool).getReader();
  await waitFor(() => gate.running.size === 2, () => pool.stats());
  const reason = new Error("reader is done");
  await reader.cancel(reason);
  assert.equal(gate.abortReasons.get(0), reason);
  assert.equal(gate.abortReasons.get(1), reason);
  await waitFor(() => source.cancelled, () => source);
  assert.equal(source.cancelReason, reason);
  await pool.closed;
  assert.equal(pool.stats().workers, 0);
});

test("breaking out of for await ends the pool", async () => {
  const pool = autoScale(async (n: number) => n, { maxWorkers: 4 });
  const source = countingSource(range(1_000_000), { close: false });
  let seen = 0;
  for await (const _ of source.stream.pipeThrough(pool)) {
    if (++seen === 10) break;
  }
  await pool.closed;
  await waitFor(() => source.cancelled, () => source);
  assert.ok(source.pulled < 100);
});

test("the output ends only after every aborted job has settled", async () => {
  const controller = new AbortController();
  let settledJobs = 0;
  const pool = autoScale(async (_: number, { signal }) => {
    await new Promise((resolve) => signal.addEventListener("abort", resolve));
    await turns(2);
    settledJobs++;
  }, { maxWorkers: 3, signal: controller.signal });
  const reader = ReadableStream.from(range(3)).pipeThrough(pool).getReader();
  await waitFor(() => pool.stats().busy === 3, () => pool.stats());
  controller.abort();
  assert.equal((await reader.read()).done, true);
  assert.equal(settledJobs, 3);
  await pool.closed;
});

test("closed never rejects, whatever ends the pool", async () => {
  const failing = autoScale(() => {
    throw new Error("always");
  });
  await settle(ReadableStream.from([1]).pipeThrough(failing));
  await failing.closed;
  const cancelled = autoScale((n: number) => n);
  await cancelled.readable.cancel(new Error("no thanks"));
  await cancelled.closed;
  const aborted = autoScale((n: number) => n);
  await aborted.writable.abort(new Error("abort"));
  await aborted.closed;
});

test("the shutdown reports every worker leaving as ScaleEvents down to zero", async () => {
  const controller = new AbortController();
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, {
    minWorkers: 4,
    maxWorkers: 4,
    signal: controller.signal,
  });
  const events: ScaleEvent[] = [];
  pool.addEventListener("scale", (event) => events.push(event));
  const output = settle(ReadableStream.from(range(2)).pipeThrough(pool));
  await waitFor(() => gate.running.size === 2, () => pool.stats());
  controller.abort();
  await pool.closed;
  const shutdown = events.filter((e) => e.reason === "shutdown");
  assert.equal(shutdown[0].from, 4);
  assert.equal(shutdown.at(-1)?.to, 0);
  for (const event of shutdown) assert.ok(event.to < event.from);
  await output;
});

test("an abort right after construction is reported after the start event", async () => {
  const controller = new AbortController();
  const pool = autoScale((n: number) => n, {
    minWorkers: 2,
    signal: controller.signal,
  });
  const reasons: string[] = [];
  pool.addEventListener("scale", (event) => reasons.push(event.reason));
  controller.abort();
  await pool.closed;
  await turns(1);
  assert.deepEqual(reasons, ["start", "shutdown"]);
});
