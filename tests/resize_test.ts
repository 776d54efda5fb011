import assert from "node:assert/strict";
import fc from "fast-check";
import { autoScale, type ScaleEvent } from "../mod.ts";
import { test } from "./_harness.ts";
import {
  collect,
  gatedWork,
  range,
  seedFromEnv,
  sleep,
  turns,
  waitFor,
} from "./_helpers.ts";

test("resize() raising maxWorkers starts waiting jobs at once", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { maxWorkers: 2, highWaterMark: 10 });
  const output = collect(ReadableStream.from(range(6)).pipeThrough(pool));
  await waitFor(() => pool.stats().queued === 4, () => pool.stats());
  pool.resize({ maxWorkers: 6 });
  assert.equal(gate.running.size, 6);
  gate.releaseAll();
  assert.equal((await output).length, 6);
  await pool.closed;
});

test("resize() lowering maxWorkers retires idle workers now and busy ones when their job ends", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { minWorkers: 5, maxWorkers: 5 });
  const events: ScaleEvent[] = [];
  pool.addEventListener("scale", (event) => events.push(event));
  const writer = pool.writable.getWriter();
  writer.write(0);
  writer.write(1);
  writer.write(2);
  const reader = pool.readable.getReader();
  await waitFor(() => gate.running.size === 3, () => pool.stats());
  pool.resize({ minWorkers: 0, maxWorkers: 1 });
  // The two idle workers retire; the three busy ones keep their jobs.
  assert.equal(pool.stats().workers, 3);
  assert.equal(gate.running.size, 3);
  assert.equal(gate.abortReasons.size, 0);
  gate.release(0);
  await reader.read();
  assert.equal(pool.stats().workers, 2);
  gate.release(1);
  await reader.read();
  assert.equal(pool.stats().workers, 1);
  gate.release(2);
  await reader.read();
  assert.equal(pool.stats().workers, 1);
  assert.ok(
    events.some((e) => e.reason === "resize" && e.from === 5 && e.to === 3),
  );
  await writer.close();
  await pool.closed;
});

test("resize() raising minWorkers starts workers now", async () => {
  const pool = autoScale((n: number) => n, { minWorkers: 1, maxWorkers: 8 });
  const events: ScaleEvent[] = [];
  pool.addEventListener("scale", (event) => events.push(event));
  await turns(1);
  pool.resize({ minWorkers: 4 });
  assert.equal(pool.stats().workers, 4);
  assert.deepEqual(
    events.map((e) => `${e.from}->${e.to} ${e.reason}`),
    ["0->1 start", "1->4 resize"],
  );
  await pool.writable.close();
  await pool.closed;
});

test("resize() lowering minWorkers lets idle workers retire after idleTimeout", async () => {
  const pool = autoScale((n: number) => n, {
    minWorkers: 4,
    maxWorkers: 8,
    idleTimeout: 10,
  });
  pool.resize({ minWorkers: 1 });
  assert.equal(pool.stats().workers, 4);
  await waitFor(() => pool.stats().workers === 1, () => pool.stats());
  await sleep(30);
  assert.equal(pool.stats().workers, 1);
  await pool.writable.close();
  await pool.closed;
});

test("resize() applies the constructor's rules and names the bad bound", async () => {
  const pool = autoScale((n: number) => n, { minWorkers: 1, maxWorkers: 4 });
  assert.throws(
    () => pool.resize({ maxWorkers: 0 }),
    new RangeError(
      'Cannot resize pool: "maxWorkers" must be an integer >= 1, received 0',
    ),
  );
  assert.throws(
    () => pool.resize({ minWorkers: 6 }),
    new RangeError(
      'Cannot resize pool: "minWorkers" must be <= "maxWorkers" (4), received 6',
    ),
  );
  assert.throws(
    () => pool.resize({ minWorkers: "2" as never }),
    new TypeError(
      'Cannot resize pool: "minWorkers" must be a number, received "2"',
    ),
  );
  assert.throws(
    () => pool.resize(null as never),
    new TypeError(
      'Cannot resize pool: "options" must be an object, received null',
    ),
  );
  assert.equal(pool.stats().workers, 1, "a refused resize changes nothing");
  await pool.writable.close();
  await pool.closed;
});

test("resize() on a pool that has ended does nothing", async () => {
  const pool = autoScale((n: number) => n);
  await pool.readable.cancel();
  await pool.closed;
  pool.resize({ minWorkers: 3, maxWorkers: 3 });
  assert.equal(pool.stats().workers, 0);
});

test("resize() while jobs run keeps every job exactly once and never starts a worker past the bound in force", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 60 }),
      fc.array(
        fc.record({
          afterResults: fc.integer({ min: 0, max: 60 }),
          minWorkers: fc.integer({ min: 0, max: 4 }),
          extra: fc.integer({ min: 0, max: 6 }),
        }),
        { maxLength: 6 },
      ),
      fc.boolean(),
      async (delays, resizes, ordered) => {
        const runs = delays.map(() => 0);
        const pool = autoScale(async (i: number) => {
          runs[i]++;
          await sleep(delays[i]);
          return i;
        }, { minWorkers: 1, maxWorkers: 3, idleTimeout: 2, ordered });
        let maxWorkers = 3;
        const violations: string[] = [];
        pool.addEventListener("scale", ({ from, to, reason }) => {
          if (to > from && to > maxWorkers) {
            violations.push(`${from}->${to} ${reason} past ${maxWorkers}`);
          }
        });
        // Events wait for the "start" event, a microtask late: past it, each
        // arrives as it happens, while the bound it was checked against holds.
        await turns(1);
        const reader = ReadableStream.from(delays.map((_, i) => i))
          .pipeThrough(pool).getReader();
        const results: number[] = [];
        const pending = [...resizes].sort((a, b) =>
          a.afterResults - b.afterResults
        );
        while (true) {
          while (
            pending.length > 0 && pending[0].afterResults <= results.length
          ) {
            const { minWorkers, extra } = pending.shift()!;
            maxWorkers = Math.max(1, minWorkers + extra);
            pool.resize({ minWorkers, maxWorkers });
          }
          const { done, value } = await reader.read();
          if (done) break;
          results.push(value);
        }
        await pool.closed;
        const expected = delays.map((_, i) => i);
        if (ordered) assert.deepEqual(results, expected);
        else assert.deepEqual(results.sort((a, b) => a - b), expected);
        assert.ok(runs.every((count) => count === 1), `runs ${runs}`);
        assert.deepEqual(violations, []);
      },
    ),
    { numRuns: 40, seed: seedFromEnv() },
  );
});
