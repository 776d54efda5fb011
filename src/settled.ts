/**
 * What a pool with `settled: true` delivers: one record per job, whether it
 * succeeded or failed, in the shape of `Promise.allSettled`.
 * @module
 */

/**
 * The outcome of one job: its result, or the error of its last attempt.
 *
 * @typeParam I The job type.
 * @typeParam O The result type.
 */
export type SettledResult<I, O> =
  | { readonly job: I; readonly status: "fulfilled"; readonly value: O }
  | { readonly job: I; readonly status: "rejected"; readonly reason: unknown };
