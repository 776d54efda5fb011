import assert from "node:assert/strict";
import { autoScale } from "../mod.ts";
import { test } from "./_harness.ts";
import {
  collect,
  gatedWork,
  range,
  releaseUntilDone,
  sleep,
  turns,
  waitFor,
} from "./_helpers.ts";

test("scaling.rampInterval starts a burst with one worker, then doubles the step", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, {
    minWorkers: 0,
    maxWorkers: 16,
    highWaterMark: 32,
    scaling: { rampInterval: 40 },
  });
  const output = collect(ReadableStream.from(range(32)).pipeThrough(pool));
  await turns();
  assert.equal(pool.stats().workers, 1, "one worker at first");
  await waitFor(() => pool.stats().workers === 16, () => pool.stats());
  const starts = pool.stats().scaleUps;
  assert.equal(starts, 16);
  gate.releaseAll();
  await releaseUntilDone(gate, pool);
  assert.equal((await output).length, 32);
  await pool.closed;
});

test("scaling.rampInterval never starts more workers than runnable jobs", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, {
    minWorkers: 0,
    maxWorkers: 16,
    scaling: { rampInterval: 5 },
  });
  const output = collect(ReadableStream.from(range(3)).pipeThrough(pool));
  await waitFor(() => gate.running.size === 3, () => pool.stats());
  await sleep(40);
  assert.equal(pool.stats().workers, 3);
  gate.releaseAll();
  await output;
  await pool.closed;
});

test("scaling.retireStep retires at most that many workers per idleTimeout", async () => {
  const gate = gatedWork<number>();
  const idleTimeout = 60;
  const pool = autoScale(gate.work, {
    minWorkers: 0,
    maxWorkers: 6,
    idleTimeout,
    scaling: { retireStep: 2 },
  });
  const reader = pool.readable.getReader();
  const writer = pool.writable.getWriter();
  for (const n of range(6)) writer.write(n);
  await waitFor(() => gate.running.size === 6, () => pool.stats());
  gate.releaseAll();
  for (let i = 0; i < 6; i++) await reader.read();
  await waitFor(() => pool.stats().scaleDowns > 0, () => pool.stats());
  const firstWave = pool.stats().scaleDowns;
  assert.ok(firstWave <= 2, `retired ${firstWave} in one period`);
  await waitFor(() => pool.stats().workers === 0, () => pool.stats());
  await writer.close();
  await pool.closed;
});

test("scaling defaults give every runnable job a worker at once", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { minWorkers: 0, maxWorkers: 8 });
  const output = collect(ReadableStream.from(range(8)).pipeThrough(pool));
  await waitFor(() => gate.running.size === 8, () => pool.stats());
  gate.releaseAll();
  await output;
  await pool.closed;
});
