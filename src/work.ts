/**
 * The shape of the function a pool runs for each job, and what it is told
 * about the job.
 * @module
 */

/**
 * What a running job knows about itself.
 *
 * @typeParam R The per-worker resource that `setup` returns.
 */
export interface JobContext<R = unknown> {
  /**
   * Aborts when the job should stop early: the pool's signal aborted,
   * another job failed, the output was cancelled or the input aborted. The
   * reason is the one that ended the pool, passed on untouched.
   */
  readonly signal: AbortSignal;
  /**
   * The worker running the job. Ids start at 1 and are never reused within
   * one pool, so they can key per-worker state.
   */
  readonly workerId: number;
  /** Which attempt this is: 1, then 2 for the first retry, and so on. */
  readonly attempt: number;
  /**
   * What the pool's `setup` returned for this worker (one database
   * connection per worker, say); `undefined` without a setup.
   */
  readonly resource: R;
}

/**
 * The function a pool runs for each job. It may return the result or a
 * promise of it; a throw or a rejection fails the pool.
 *
 * @typeParam I The job type.
 * @typeParam O The result type.
 * @typeParam R The per-worker resource that `setup` returns.
 * @example Fetch each URL, stopping early when the pool does
 * ```ts
 * import type { Work } from "@autoscale/streams";
 *
 * const fetchText: Work<string, string> = async (url, { signal }) => {
 *   const response = await fetch(url, { signal });
 *   return await response.text();
 * };
 * ```
 */
export type Work<I, O, R = unknown> = (
  job: I,
  context: JobContext<R>,
) => O | PromiseLike<O>;
