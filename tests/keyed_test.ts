import assert from "node:assert/strict";
import fc from "fast-check";
import { autoScale } from "../mod.ts";
import { KeyedIntake } from "../src/keyed_intake.ts";
import { test } from "./_harness.ts";
import {
  collect,
  gatedWork,
  range,
  releaseUntilDone,
  seedFromEnv,
  settle,
  sleep,
  turns,
  waitFor,
} from "./_helpers.ts";

interface Keyed {
  readonly id: number;
  readonly key: string;
}

const byKey = (job: Keyed) => job.key;

function jobs(keys: string): Keyed[] {
  return [...keys].map((key, id) => ({ id, key }));
}

test("KeyedIntake parks a job behind a busy key and releases it in turn", () => {
  const intake = new KeyedIntake<string>();
  intake.accept("a1", "a");
  intake.accept("a2", "a");
  intake.accept("b1", "b");
  assert.equal(intake.length, 3);
  assert.equal(intake.runnable, 2);
  assert.equal(intake.take(), "a1");
  assert.equal(intake.take(), "b1");
  assert.equal(intake.runnable, 0);
  intake.release("a");
  assert.equal(intake.runnable, 1);
  assert.equal(intake.nextSeq, 1);
  assert.equal(intake.take(), "a2");
  intake.release("a");
  intake.release("b");
  assert.equal(intake.acceptToRun("a3", "a"), 3);
  assert.equal(intake.acceptToRun("a4", "a"), -1, "a is busy again");
  assert.deepEqual(intake.drain(), [{ seq: 4, job: "a4", key: "a" }]);
});

test("key runs jobs with the same key one at a time, in arrival order", async () => {
  const log: string[] = [];
  const pool = autoScale(async (job: Keyed) => {
    log.push(`start ${job.id}`);
    await sleep(2);
    log.push(`end ${job.id}`);
    return job.id;
  }, { maxWorkers: 4, key: byKey });
  await collect(ReadableStream.from(jobs("aaa")).pipeThrough(pool));
  await pool.closed;
  assert.deepEqual(log, [
    "start 0",
    "end 0",
    "start 1",
    "end 1",
    "start 2",
    "end 2",
  ]);
});

test("key runs jobs with different keys in parallel", async () => {
  const gate = gatedWork<Keyed>();
  const pool = autoScale(gate.work, { maxWorkers: 4, key: byKey });
  const output = collect(ReadableStream.from(jobs("abcd")).pipeThrough(pool));
  await waitFor(() => gate.running.size === 4, () => pool.stats());
  gate.releaseAll();
  assert.equal((await output).length, 4);
  await pool.closed;
});

test("key does not let a busy key block jobs with other keys behind it", async () => {
  const gate = gatedWork<Keyed>();
  // Jobs waiting for their key count against highWaterMark: room for four.
  const pool = autoScale(gate.work, {
    maxWorkers: 2,
    highWaterMark: 4,
    key: byKey,
  });
  const output = collect(ReadableStream.from(jobs("aaaab")).pipeThrough(pool));
  await waitFor(() => gate.running.size === 2, () => pool.stats());
  assert.deepEqual([...gate.running].map((j) => j.id).sort(), [0, 4]);
  await releaseUntilDone(gate, pool);
  assert.equal((await output).length, 5);
  await pool.closed;
});

test("key keeps jobs waiting on a busy key out of the pressure", async () => {
  const gate = gatedWork<Keyed>();
  const pool = autoScale(gate.work, {
    minWorkers: 1,
    maxWorkers: 8,
    highWaterMark: 20,
    key: byKey,
  });
  const output = collect(
    ReadableStream.from(jobs("aaaaaaaa")).pipeThrough(pool),
  );
  await waitFor(() => pool.stats().queued === 7, () => pool.stats());
  await turns();
  assert.equal(pool.stats().runnable, 0);
  assert.equal(pool.stats().workers, 1, "no worker starts for parked jobs");
  await releaseUntilDone(gate, pool);
  assert.equal((await output).length, 8);
  assert.equal(pool.stats().peakWorkers, 1);
  await pool.closed;
});

test("key keeps a retried job's key busy until it ends", async () => {
  const log: string[] = [];
  const pool = autoScale(async (job: Keyed, { attempt }) => {
    log.push(`${job.id}.${attempt}`);
    await sleep(1);
    if (job.id === 0 && attempt === 1) throw new Error("retry");
    return job.id;
  }, { maxWorkers: 4, key: byKey, retry: { attempts: 2, delay: () => 20 } });
  await collect(ReadableStream.from(jobs("aab")).pipeThrough(pool));
  await pool.closed;
  assert.ok(log.indexOf("0.2") < log.indexOf("1.1"), log.join(" "));
  assert.ok(log.indexOf("2.1") < log.indexOf("0.2"), "b did not wait");
});

test("key with ordered still delivers results in input order", async () => {
  const pool = autoScale(async (job: Keyed) => {
    await sleep((job.id * 7) % 4);
    return job.id;
  }, { maxWorkers: 3, key: byKey, ordered: true });
  const results = await collect(
    ReadableStream.from(jobs("abacabadabacaba")).pipeThrough(pool),
  );
  assert.deepEqual(results, range(15));
  await pool.closed;
});

test("key that throws fails the pool with its error", async () => {
  const bug = new Error("no key");
  const pool = autoScale((job: Keyed) => job.id, {
    key: (job) => {
      if (job.id === 2) throw bug;
      return job.key;
    },
  });
  const result = await settle(
    ReadableStream.from(jobs("abcd")).pipeThrough(pool),
  );
  assert.equal(result.error, bug);
  await pool.closed;
  const { completed, failed, accepted } = pool.stats();
  assert.equal(completed + failed + pool.unfinished().length, accepted);
});

test("key that returns neither a string nor a number fails the pool with a TypeError", async () => {
  const pool = autoScale((n: number) => n, { key: () => ({}) as never });
  const result = await settle(ReadableStream.from([1]).pipeThrough(pool));
  assert.ok(result.error instanceof TypeError);
  assert.equal(
    (result.error as Error).message,
    'Cannot queue job: "key" must return a string or a number, received an object',
  );
  await pool.closed;
});

test("key lists parked jobs as unfinished when the pool is aborted", async () => {
  const controller = new AbortController();
  const gate = gatedWork<Keyed>();
  const pool = autoScale(gate.work, {
    key: byKey,
    highWaterMark: 10,
    signal: controller.signal,
  });
  const output = settle(ReadableStream.from(jobs("aaab")).pipeThrough(pool));
  await waitFor(() => pool.stats().queued === 2, () => pool.stats());
  controller.abort();
  await pool.closed;
  assert.deepEqual(pool.unfinished().map((j) => j.id), [0, 1, 2, 3]);
  await output;
});

test("key never runs two jobs with one key at once, and runs each key's jobs in order", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          key: fc.constantFrom("a", "b", "c", "d"),
          ms: fc.integer({ min: 0, max: 3 }),
          fails: fc.boolean(),
        }),
        { maxLength: 40 },
      ),
      fc.integer({ min: 1, max: 5 }),
      fc.boolean(),
      async (specs, maxWorkers, ordered) => {
        const running = new Set<string>();
        const startOrder = new Map<string, number[]>();
        const overlaps: string[] = [];
        const pool = autoScale(async (i: number, { attempt }) => {
          const { key, ms, fails } = specs[i];
          if (running.has(key)) overlaps.push(`${key} at ${i}`);
          running.add(key);
          if (attempt === 1) {
            startOrder.set(key, [...(startOrder.get(key) ?? []), i]);
          }
          await sleep(ms);
          running.delete(key);
          if (fails && attempt === 1) throw new Error("once");
          return i;
        }, {
          maxWorkers,
          ordered,
          key: (i) => specs[i].key,
          retry: { attempts: 2, delay: 0 },
        });
        const results = await collect(
          ReadableStream.from(specs.map((_, i) => i)).pipeThrough(pool),
        );
        await pool.closed;
        assert.deepEqual(overlaps, []);
        for (const [key, order] of startOrder) {
          const arrival = specs.flatMap((s, i) => s.key === key ? [i] : []);
          assert.deepEqual(order, arrival, `key ${key}`);
        }
        const expected = specs.map((_, i) => i);
        if (ordered) assert.deepEqual(results, expected);
        else assert.deepEqual(results.sort((a, b) => a - b), expected);
      },
    ),
    { numRuns: 50, seed: seedFromEnv() },
  );
});
