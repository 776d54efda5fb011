/**
 * The numbers a pool reports about itself.
 * @module
 */

/**
 * A snapshot of a pool's state, fresh on each call to `stats()`.
 *
 * Once the pool has closed, every accepted job is accounted for:
 * `completed + failed + unfinished().length === accepted`.
 */
export interface PoolStats {
  /** Workers alive now: starting, idle or busy. */
  workers: number;
  /**
   * Worker threads alive now, running or starting, in a pool whose work is
   * a module URL; 0 in any other pool. With `jobsPerThread` above 1,
   * workers share them.
   */
  threads: number;
  /** Workers whose `setup` still runs. */
  starting: number;
  /** Workers running a job now. */
  busy: number;
  /** Jobs accepted and waiting for a worker, runnable or not. */
  queued: number;
  /**
   * Jobs that could run now if a worker were free: queued jobs whose key
   * is not busy, and retries whose backoff is over. Only these count as
   * pressure.
   */
  runnable: number;
  /**
   * Successful results handed to the readable side (results an error
   * ending discards before they are read no longer count).
   */
  completed: number;
  /** The most workers alive at once so far. */
  peakWorkers: number;
  /** Workers started because jobs waited with nobody idle. */
  scaleUps: number;
  /** Workers retired for idling past `idleTimeout`. */
  scaleDowns: number;
  /** Jobs the writable side has taken in. */
  accepted: number;
  /**
   * Jobs that failed for good: delivered as rejected records with
   * `settled`, or the one whose error ended the pool.
   */
  failed: number;
  /** Retries scheduled so far (attempts after a job's first). */
  retried: number;
  /** Attempts given up for running past `timeout`. */
  timedOut: number;
  /** Jobs waiting out a retry backoff, or ready for their next attempt. */
  retrying: number;
  /** Teardowns that threw or rejected (each also an `"error"` event). */
  teardownFailures: number;
}
