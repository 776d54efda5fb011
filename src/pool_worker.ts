/**
 * A worker of the in-thread backend: a slot that runs one attempt at a
 * time. The record only carries state; the controller changes it.
 * @module
 */

import type { RunningJobContext } from "./job_context.ts";

/** One worker's state. */
export interface PoolWorker<I> {
  readonly id: number;
  /** The attempt running now; context is undefined while the worker idles. */
  job: I | undefined;
  seq: number;
  attempt: number;
  /** The running job's key, with `key`. */
  key: unknown;
  /** True while the worker's setup runs: it takes no job yet. */
  starting: boolean;
  /** What setup returned, handed to every job the worker runs. */
  resource: unknown;
  context: RunningJobContext | undefined;
  /** When the attempt running now times out; Infinity without a timeout. */
  deadlineMs: number;
  /**
   * Set when a timed-out attempt was given up: the record has left the
   * pool, and whatever the attempt does later is ignored.
   */
  givenUp: boolean;
  /**
   * When an idle check first saw this worker idle; undefined until then.
   * A lower bound on when it went idle (see `IdleChecks`).
   */
  idleSeenAtMs: number | undefined;
  // Bound once per worker: one attempt runs at a time, so an attempt's
  // settlement needs no closure of its own.
  readonly onFulfilled: (value: unknown) => void;
  readonly onRejected: (reason: unknown) => void;
}

/** What a worker reports when its attempt settles. */
export interface AttemptSettled<I> {
  fulfilled(worker: PoolWorker<I>, value: unknown): void;
  rejected(worker: PoolWorker<I>, reason: unknown): void;
}

/** Makes an idle worker record that reports to `settled`. */
export function createPoolWorker<I>(
  id: number,
  settled: AttemptSettled<I>,
): PoolWorker<I> {
  const worker: PoolWorker<I> = {
    id,
    job: undefined,
    seq: -1,
    attempt: 0,
    key: undefined,
    starting: false,
    resource: undefined,
    context: undefined,
    deadlineMs: Infinity,
    givenUp: false,
    idleSeenAtMs: undefined,
    onFulfilled: (value) => settled.fulfilled(worker, value),
    onRejected: (reason) => settled.rejected(worker, reason),
  };
  return worker;
}
