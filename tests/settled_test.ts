import assert from "node:assert/strict";
import { autoScale } from "../mod.ts";
import { test } from "./_harness.ts";
import { collect, range, settle } from "./_helpers.ts";

test("settled delivers one record per job instead of failing", async () => {
  const failure = new Error("odd");
  const pool = autoScale((n: number) => {
    if (n % 2 === 1) throw failure;
    return n * 10;
  }, { settled: true, ordered: true });
  const records = await collect(
    ReadableStream.from(range(4)).pipeThrough(pool),
  );
  await pool.closed;
  assert.deepEqual(records, [
    { job: 0, status: "fulfilled", value: 0 },
    { job: 1, status: "rejected", reason: failure },
    { job: 2, status: "fulfilled", value: 20 },
    { job: 3, status: "rejected", reason: failure },
  ]);
  assert.equal(pool.stats().completed, 2);
  assert.equal(pool.stats().failed, 2);
});

test("settled delivers the error of the last attempt after retries", async () => {
  const pool = autoScale((_: number, { attempt }): number => {
    throw new Error(`attempt ${attempt}`);
  }, { settled: true, retry: { attempts: 3, delay: 0 } });
  const [record] = await collect(ReadableStream.from([1]).pipeThrough(pool));
  await pool.closed;
  assert.equal(record.status, "rejected");
  assert.equal(
    (record as { reason: Error }).reason.message,
    "attempt 3",
  );
});

test("settled still errors the output when the input aborts", async () => {
  const reason = new Error("source broke");
  const pool = autoScale((n: number) => n, { settled: true });
  const writer = pool.writable.getWriter();
  await writer.abort(reason);
  assert.equal((await settle(pool.readable)).error, reason);
  await pool.closed;
});
