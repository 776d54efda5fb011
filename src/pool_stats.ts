/**
 * The numbers a pool reports about itself.
 * @module
 */

/**
 * A snapshot of a pool's state, fresh on each call to `stats()`.
 *
 * Invariant: `workers = (workers started) - (workers retired or exited)`,
 * where starts are the `"start"` workers plus `scaleUps`, and exits are
 * `scaleDowns` plus those that left at shutdown.
 */
export interface PoolStats {
  /** Workers alive now, idle or busy. */
  workers: number;
  /** Workers running a job now. */
  busy: number;
  /** Jobs accepted and waiting for a worker. */
  queued: number;
  /** Results handed to the readable side so far. */
  completed: number;
  /** The most workers alive at once so far. */
  peakWorkers: number;
  /** Workers started because jobs waited with nobody idle. */
  scaleUps: number;
  /** Workers retired for idling past `idleTimeout`. */
  scaleDowns: number;
}
