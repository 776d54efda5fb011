import assert from "node:assert/strict";
import { autoScale } from "../mod.ts";
import { test } from "./_harness.ts";
import {
  countingSource,
  deferred,
  gatedWork,
  range,
  releaseUntilDone,
  settle,
  sleep,
  turns,
  waitFor,
} from "./_helpers.ts";

test("drain() finishes queued and running jobs, delivers them, then closes", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { maxWorkers: 2, highWaterMark: 4 });
  const source = countingSource(range(100), { close: false });
  const output = settle(source.stream.pipeThrough(pool));
  await waitFor(() => pool.stats().queued === 5, () => pool.stats());
  const draining = pool.drain();
  await turns();
  const accepted = pool.stats().accepted;
  await releaseUntilDone(gate, pool);
  await draining;
  const result = await output;
  assert.equal(result.errored, false);
  assert.equal(result.items.length, accepted);
  assert.deepEqual(pool.unfinished(), []);
  assert.equal(pool.stats().completed, accepted);
});

test("drain() cancels the upstream with an AbortError and takes no more jobs", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { maxWorkers: 1, highWaterMark: 1 });
  const source = countingSource(range(100), { close: false });
  const output = settle(source.stream.pipeThrough(pool));
  await waitFor(() => gate.running.size === 1, () => pool.stats());
  const draining = pool.drain();
  await waitFor(() => source.cancelled, () => source);
  assert.ok(source.cancelReason instanceof DOMException);
  assert.equal((source.cancelReason as DOMException).name, "AbortError");
  const pulledAtDrain = source.pulled;
  await releaseUntilDone(gate, pool);
  await draining;
  assert.equal(source.pulled, pulledAtDrain);
  assert.equal((await output).items.length, pool.stats().accepted);
});

test("drain() past its deadline aborts what is left and closes the output", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { maxWorkers: 2, highWaterMark: 3 });
  const source = countingSource(range(100), { close: false });
  const output = settle(source.stream.pipeThrough(pool));
  await waitFor(() => pool.stats().queued >= 3, () => pool.stats());
  gate.release(0);
  await pool.drain(20);
  const result = await output;
  assert.equal(result.errored, false);
  assert.deepEqual(result.items, [0]);
  const abortReason = gate.abortReasons.get(1);
  assert.ok(abortReason instanceof DOMException);
  assert.equal(abortReason.name, "TimeoutError");
  const { completed, failed, accepted } = pool.stats();
  assert.equal(completed, 1);
  assert.equal(completed + failed + pool.unfinished().length, accepted);
  assert.deepEqual(pool.unfinished(), range(accepted).slice(1));
});

test("drain() resolves when closed does", async () => {
  const pool = autoScale((n: number) => n);
  let closedFirst = false;
  pool.closed.then(() => closedFirst = true);
  const output = settle(pool.readable);
  await pool.drain();
  await turns(1);
  assert.equal(closedFirst, true);
  await output;
});

test("drain() a second time only ever shortens the deadline", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work);
  const output = settle(ReadableStream.from([1]).pipeThrough(pool));
  await waitFor(() => gate.running.size === 1, () => pool.stats());
  const first = pool.drain(60_000);
  const second = pool.drain(10);
  const longer = pool.drain(120_000);
  await Promise.all([first, second, longer]);
  assert.deepEqual(pool.unfinished(), [1]);
  await output;
});

test("drain() after the input closed lets the pool finish normally", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work);
  const writer = pool.writable.getWriter();
  writer.write(1);
  const closing = writer.close();
  await waitFor(() => gate.running.size === 1, () => pool.stats());
  const draining = pool.drain(60_000);
  gate.release(1);
  await draining;
  await closing;
  assert.deepEqual((await settle(pool.readable)).items, [1]);
});

test("drain() on a pool that has ended resolves at once", async () => {
  const pool = autoScale((n: number) => n);
  await pool.readable.cancel();
  await pool.closed;
  await pool.drain(0);
});

test("drain() refuses a deadline that is negative or not finite", () => {
  const pool = autoScale((n: number) => n, { minWorkers: 0 });
  assert.throws(
    () => pool.drain(-1),
    new RangeError(
      'Cannot drain pool: "deadlineMs" must be a finite number >= 0, received -1',
    ),
  );
  assert.throws(
    () => pool.drain(Infinity),
    new RangeError(
      'Cannot drain pool: "deadlineMs" must be a finite number >= 0, received Infinity',
    ),
  );
  assert.throws(() => pool.drain("soon" as never), TypeError);
  pool.readable.cancel();
});

test("drain() lets a job waiting out its backoff finish its retry", async () => {
  const retried = deferred();
  const pool = autoScale((n: number, { attempt }) => {
    if (attempt === 1) throw new Error("retry");
    retried.resolve();
    return n;
  }, { retry: { attempts: 2, delay: () => 20 } });
  const output = settle(ReadableStream.from([1]).pipeThrough(pool));
  await waitFor(() => pool.stats().retrying === 1, () => pool.stats());
  await pool.drain(10_000);
  await retried.promise;
  assert.deepEqual((await output).items, [1]);
  assert.deepEqual(pool.unfinished(), []);
});

test("drain() clears its deadline timer when the pool ends first", async () => {
  const pool = autoScale((n: number) => n);
  const output = settle(ReadableStream.from([1, 2]).pipeThrough(pool));
  await pool.drain(60_000);
  await output;
  await sleep(1);
});
