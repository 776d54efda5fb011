import assert from "node:assert/strict";
import { autoScale } from "../mod.ts";
import { test } from "./_harness.ts";
import {
  countingSource,
  gatedWork,
  range,
  settle,
  turns,
  waitFor,
} from "./_helpers.ts";

test("unfinished() refuses to answer before the pool has closed", async () => {
  const pool = autoScale((n: number) => n);
  assert.throws(
    () => pool.unfinished(),
    new Error(
      "Cannot list unfinished jobs: the pool has not closed yet; await closed first",
    ),
  );
  await pool.readable.cancel();
  await pool.closed;
  assert.deepEqual(pool.unfinished(), []);
});

test("unfinished() lists queued and running jobs after an abort, in input order", async () => {
  const controller = new AbortController();
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, {
    maxWorkers: 2,
    highWaterMark: 3,
    signal: controller.signal,
  });
  const output = settle(
    countingSource(range(50), { close: false }).stream
      .pipeThrough(pool),
  );
  await waitFor(() => pool.stats().queued === 4, () => pool.stats());
  gate.release(1);
  await waitFor(() => pool.stats().completed === 1, () => pool.stats());
  controller.abort();
  await pool.closed;
  const { completed, failed, accepted } = pool.stats();
  assert.deepEqual(
    pool.unfinished(),
    range(accepted).filter((n) => n !== 1),
  );
  assert.equal(completed + failed + pool.unfinished().length, accepted);
  assert.deepEqual((await output).items, [1]);
});

test("unfinished() lists results held for order when the pool ends early", async () => {
  const controller = new AbortController();
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, {
    maxWorkers: 3,
    ordered: true,
    signal: controller.signal,
  });
  const output = settle(ReadableStream.from(range(3)).pipeThrough(pool));
  await waitFor(() => gate.running.size === 3, () => pool.stats());
  gate.release(1);
  gate.release(2);
  await turns();
  controller.abort();
  await pool.closed;
  assert.deepEqual(pool.unfinished(), [0, 1, 2]);
  assert.equal(pool.stats().completed, 0);
  await output;
});

test("unfinished() counts results an error discarded before they were read", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { maxWorkers: 4 });
  const writer = pool.writable.getWriter();
  for (const n of range(4)) writer.write(n).catch(() => {});
  await waitFor(() => gate.running.size === 4, () => pool.stats());
  gate.release(0);
  gate.release(1);
  await waitFor(() => pool.stats().completed === 2, () => pool.stats());
  // Nobody read 0 and 1; the failure of 2 errors the output and drops them.
  const failure = new Error("two failed");
  gate.fail(2, failure);
  await pool.closed;
  assert.equal((await settle(pool.readable)).error, failure);
  assert.deepEqual(pool.unfinished(), [0, 1, 3]);
  assert.deepEqual(
    { completed: pool.stats().completed, failed: pool.stats().failed },
    { completed: 0, failed: 1 },
  );
});

test("unfinished() keeps results the reader already read out of the list", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { maxWorkers: 3 });
  const writer = pool.writable.getWriter();
  for (const n of range(3)) writer.write(n).catch(() => {});
  const reader = pool.readable.getReader();
  await waitFor(() => gate.running.size === 3, () => pool.stats());
  gate.release(0);
  assert.deepEqual(await reader.read(), { done: false, value: 0 });
  gate.release(1);
  await waitFor(() => pool.stats().completed === 2, () => pool.stats());
  await writer.abort(new Error("stop"));
  await pool.closed;
  assert.deepEqual(pool.unfinished(), [1, 2]);
  assert.equal(pool.stats().completed, 1);
  await reader.read().catch(() => {});
});
