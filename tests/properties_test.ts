/**
 * Invariants over random runs, checked against a plain model: the results
 * of a run equal `jobs.map(work)` (as a multiset, or in order with
 * `ordered`), each job runs once, and the worker count stays in bounds.
 * A failure prints its seed; `FC_SEED=<seed>` replays it.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { autoScale, type AutoScaleOptions, type JobContext } from "../mod.ts";
import { test } from "./_harness.ts";
import { seedFromEnv, settle, sleep } from "./_helpers.ts";

/** How a job takes its time: at once, after a microtask, or on a timer. */
type Pace = { kind: "sync" } | { kind: "micro" } | {
  kind: "timer";
  ms: number;
};

const pace: fc.Arbitrary<Pace> = fc.oneof(
  fc.constant({ kind: "sync" as const }),
  fc.constant({ kind: "micro" as const }),
  fc.record({
    kind: fc.constant("timer" as const),
    ms: fc.integer({ min: 0, max: 3 }),
  }),
);

type BasicOptions = Required<
  Pick<
    AutoScaleOptions,
    "minWorkers" | "maxWorkers" | "idleTimeout" | "ordered" | "highWaterMark"
  >
>;

const poolOptions: fc.Arbitrary<BasicOptions> = fc
  .record({
    minWorkers: fc.integer({ min: 0, max: 4 }),
    extraWorkers: fc.integer({ min: 0, max: 6 }),
    idleTimeout: fc.constantFrom(0, 1, 5, 50),
    ordered: fc.boolean(),
    highWaterMark: fc.integer({ min: 0, max: 8 }),
  }).map(({ extraWorkers, ...options }) => ({
    ...options,
    maxWorkers: Math.max(1, options.minWorkers + extraWorkers),
  }));

/** Runs job `value` at its pace; sleeps end early when the job aborts. */
function paced(
  jobs: readonly Pace[],
  runs: number[],
): (index: number, context: JobContext) => number | Promise<number> {
  return (index, context) => {
    runs[index]++;
    const job = jobs[index];
    if (job.kind === "sync") return index * 10;
    if (job.kind === "micro") return Promise.resolve(index * 10);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(index * 10), job.ms);
      context.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(context.signal.reason);
      }, { once: true });
    });
  };
}

/** A reader that pauses now and then, so output pressure varies. */
async function readAll(
  stream: ReadableStream<number>,
  pauses: readonly number[],
): Promise<number[]> {
  const results: number[] = [];
  const reader = stream.getReader();
  for (let i = 0;; i++) {
    const { done, value } = await reader.read();
    if (done) return results;
    results.push(value);
    const pause = pauses[i % Math.max(1, pauses.length)] ?? 0;
    if (pause > 0) await sleep(pause);
  }
}

test("every job runs once and every result arrives once, for any run", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(pace, { maxLength: 60 }),
      poolOptions,
      fc.array(fc.constantFrom(0, 0, 0, 1, 2), { maxLength: 5 }),
      async (jobs, options, pauses) => {
        const runs = jobs.map(() => 0);
        const pool = autoScale(paced(jobs, runs), options);
        const inBounds: string[] = [];
        pool.addEventListener("scale", ({ to, reason }) => {
          if (to > options.maxWorkers) inBounds.push(`${to} > max`);
          if (reason !== "shutdown" && to < options.minWorkers) {
            inBounds.push(`${to} < min (${reason})`);
          }
        });
        const indexes = jobs.map((_, i) => i);
        const results = await readAll(
          ReadableStream.from(indexes).pipeThrough(pool),
          pauses,
        );
        await pool.closed;
        const expected = indexes.map((i) => i * 10);
        if (options.ordered) assert.deepEqual(results, expected);
        else assert.deepEqual(results.sort((a, b) => a - b), expected);
        assert.ok(runs.every((count) => count === 1), `runs: ${runs}`);
        assert.deepEqual(inBounds, []);
        assert.ok(pool.stats().peakWorkers <= options.maxWorkers);
        assert.equal(pool.stats().workers, 0);
      },
    ),
    { numRuns: 60, seed: seedFromEnv() },
  );
});

test("an abort at any moment closes the output and resolves closed", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(pace, { minLength: 1, maxLength: 40 }),
      poolOptions,
      fc.oneof(
        fc.record({ at: fc.constant("start" as const) }),
        fc.record({
          at: fc.constant("after results" as const),
          count: fc.integer({ min: 0, max: 40 }),
        }),
        fc.record({
          at: fc.constant("after ms" as const),
          ms: fc.integer({ min: 0, max: 5 }),
        }),
      ),
      async (jobs, options, moment) => {
        const runs = jobs.map(() => 0);
        const controller = new AbortController();
        const reason = new Error("abort");
        const pool = autoScale(paced(jobs, runs), {
          ...options,
          signal: controller.signal,
        });
        if (moment.at === "start") controller.abort(reason);
        let timer: ReturnType<typeof setTimeout> | undefined;
        if (moment.at === "after ms") {
          timer = setTimeout(() => controller.abort(reason), moment.ms);
        }
        const output = ReadableStream.from(jobs.map((_, i) => i))
          .pipeThrough(pool);
        const results: number[] = [];
        const reader = output.getReader();
        while (true) {
          const { done, value } = await reader.read();
          if (done) break;
          results.push(value);
          if (
            moment.at === "after results" && results.length === moment.count
          ) {
            controller.abort(reason);
          }
        }
        clearTimeout(timer);
        await pool.closed;
        assert.equal(pool.stats().workers, 0);
        assert.equal(new Set(results).size, results.length, "no duplicates");
        assert.ok(results.every((r) => r % 10 === 0 && r / 10 < jobs.length));
        assert.ok(runs.every((count) => count <= 1), `runs: ${runs}`);
        if (moment.at === "start") assert.deepEqual(results, []);
      },
    ),
    { numRuns: 60, seed: seedFromEnv() },
  );
});

test("a failing job at any position errors the output with its error", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(pace, { minLength: 1, maxLength: 30 }),
      poolOptions,
      fc.nat(),
      async (jobs, options, pick) => {
        const failAt = pick % jobs.length;
        const failure = new Error(`job ${failAt} failed`);
        const runs = jobs.map(() => 0);
        const run = paced(jobs, runs);
        const pool = autoScale((index: number, context: JobContext) => {
          if (index === failAt) {
            runs[index]++;
            throw failure;
          }
          return run(index, context);
        }, options);
        const result = await settle(
          ReadableStream.from(jobs.map((_, i) => i)).pipeThrough(pool),
        );
        await pool.closed;
        assert.equal(result.error, failure);
        assert.equal(pool.stats().workers, 0);
        assert.ok(runs.every((count) => count <= 1), `runs: ${runs}`);
      },
    ),
    { numRuns: 40, seed: seedFromEnv() },
  );
});
