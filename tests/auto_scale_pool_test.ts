// Jobs declared async without awaiting anything are the point in these
// tests: they return promises, as real jobs do.
// deno-lint-ignore-file require-await
import assert from "node:assert/strict";
import { autoScalePool } from "../mod.ts";
import { test } from "./_harness.ts";
import { collect, countingSource, range, settle, waitFor } from "./_helpers.ts";

const double = async (n: number) => n * 2;

test("autoScalePool() runs every job from an array", async () => {
  const signal = new AbortController().signal;
  const results = await collect(autoScalePool(signal, 1, 4, range(20), double));
  assert.deepEqual(results.sort((a, b) => a - b), range(20).map((n) => n * 2));
});

test("autoScalePool() runs every job from an async iterable", async () => {
  async function* jobs() {
    for (const n of range(10)) yield n;
  }
  const signal = new AbortController().signal;
  const results = await collect(autoScalePool(signal, 0, 3, jobs(), double));
  assert.deepEqual(results.sort((a, b) => a - b), range(10).map((n) => n * 2));
});

test("autoScalePool() runs every job from a ReadableStream", async () => {
  const signal = new AbortController().signal;
  const results = await collect(
    autoScalePool(signal, 2, 2, ReadableStream.from([1, 2, 3]), double),
  );
  assert.deepEqual(results.sort(), [2, 4, 6]);
});

test("autoScalePool() closes its output when the signal aborts", async () => {
  const controller = new AbortController();
  const source = countingSource(range(1000), { close: false });
  const output = autoScalePool(
    controller.signal,
    1,
    2,
    source.stream,
    (_: number, { signal }) =>
      new Promise<number>((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason))
      ),
  );
  const result = settle(output);
  await waitFor(() => source.pulled > 0, () => source);
  const reason = new Error("stop");
  controller.abort(reason);
  assert.deepEqual(await result, { items: [], errored: false });
  await waitFor(() => source.cancelled, () => source);
  assert.equal(source.cancelReason, reason);
});

test("autoScalePool() returns the iterator when the signal aborts", async () => {
  const controller = new AbortController();
  let returned = false;
  const jobs: Iterable<number> = {
    [Symbol.iterator]() {
      let n = 0;
      return {
        next: () => ({ done: false, value: n++ }),
        return: () => {
          returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  const output = autoScalePool(controller.signal, 1, 2, jobs, double);
  const reader = output.getReader();
  await reader.read();
  controller.abort();
  while (!(await reader.read()).done);
  await waitFor(() => returned);
});

test("autoScalePool() errors its output with the error a job throws", async () => {
  const failure = new Error("nope");
  const output = autoScalePool(
    new AbortController().signal,
    1,
    2,
    range(5),
    (n: number) => {
      if (n === 3) throw failure;
      return n;
    },
  );
  assert.equal((await settle(output)).error, failure);
});

test("autoScalePool() errors its output with the error its source throws", async () => {
  const failure = new Error("source failed");
  async function* jobs() {
    yield 1;
    throw failure;
  }
  const output = autoScalePool(
    new AbortController().signal,
    1,
    2,
    jobs(),
    double,
  );
  assert.equal((await settle(output)).error, failure);
});
