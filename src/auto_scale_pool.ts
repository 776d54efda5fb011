/**
 * `autoScalePool()`: the pool as one function call, in the shape of Go's
 * `AutoScalePool(ctx, minWorkers, maxWorkers, jobs) <-chan Result`.
 * @module
 */

import { autoScale } from "./auto_scale.ts";
import { type JobSource, toReadableStream } from "./iterable_stream.ts";
import { checkSignal, checkWorkerBounds, describe } from "./options.ts";
import { checkWork } from "./thread_backend.ts";
import type { Work } from "./work.ts";

const CREATE = "Cannot create pool";

/**
 * Runs `work` on every job from `jobs` with between `minWorkers` and
 * `maxWorkers` async workers, and returns every result in one stream, in
 * completion order.
 *
 * Aborting `signal` stops the pool: the source is cancelled, running jobs
 * see their `context.signal` abort, and the returned stream closes once
 * they have settled. A job that throws, or a source that errors, errors
 * the returned stream with that same error. Idle workers above
 * `minWorkers` retire after 100 ms; use {@linkcode autoScale} for every
 * other option.
 *
 * @typeParam I The job type.
 * @typeParam O The result type.
 * @param signal Ends the pool when aborted.
 * @param minWorkers Workers kept alive even when idle; an integer >= 0.
 * @param maxWorkers The most workers at once; an integer >= `minWorkers`
 * and >= 1.
 * @param jobs A stream, async iterable or iterable of jobs.
 * @param work Runs each job; see {@linkcode Work}. An absolute module URL
 * instead runs each job in a worker thread, with the module's default
 * export as the work function.
 * @returns The results.
 * @throws {TypeError} An argument has the wrong type.
 * @throws {RangeError} A worker count is out of range, or the bounds
 * conflict.
 * @example Square numbers on 1 to 4 workers
 * ```ts
 * import { autoScalePool } from "@autoscale/streams";
 * import assert from "node:assert/strict";
 *
 * const squares = autoScalePool(
 *   AbortSignal.timeout(10_000),
 *   1,
 *   4,
 *   [1, 2, 3],
 *   async (n: number) => n * n,
 * );
 * const results = await Array.fromAsync(squares);
 * assert.deepEqual(results.sort(), [1, 4, 9]);
 * ```
 */
export function autoScalePool<I, O>(
  signal: AbortSignal,
  minWorkers: number,
  maxWorkers: number,
  jobs: JobSource<I>,
  work: Work<I, O> | URL | string,
): ReadableStream<O> {
  checkSignal(CREATE, "signal", signal);
  checkWorkerBounds(CREATE, minWorkers, maxWorkers);
  checkWork(CREATE, work);
  const source = toReadableStream(
    jobs,
    (value) =>
      new TypeError(
        `${CREATE}: "jobs" must be a ReadableStream, an AsyncIterable or an Iterable, received ${
          describe(value)
        }`,
      ),
  );
  const options = { signal, minWorkers, maxWorkers };
  const pool = typeof work === "function"
    ? autoScale(work, options)
    : autoScale<I, O>(work, options);
  return source.pipeThrough(pool);
}
