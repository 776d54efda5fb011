/**
 * The event a pool dispatches when a worker's teardown fails.
 * @module
 */

/** The fields of a {@linkcode WorkerErrorEvent}. */
export interface WorkerErrorEventInit extends EventInit {
  /** What the teardown threw or rejected with, untouched. */
  error: unknown;
  /** The worker whose teardown failed. */
  workerId: number;
}

/**
 * Dispatched as `"error"` on an {@linkcode AutoScaleStream} when a
 * worker's `teardown` throws or rejects. The pool goes on: the worker has
 * left, and the pool still closes.
 *
 * @example Log failing teardowns
 * ```ts
 * import { autoScale, WorkerErrorEvent } from "@autoscale/streams";
 * import assert from "node:assert/strict";
 *
 * const pool = autoScale((n: number) => n, {
 *   teardown: () => {
 *     throw new Error("connection already closed");
 *   },
 * });
 * const errors: unknown[] = [];
 * pool.addEventListener("error", (event) => errors.push(event.error));
 * await pool.writable.close();
 * await pool.closed;
 * assert.equal(errors.length, 1);
 * assert.ok(new WorkerErrorEvent("error", { error: null, workerId: 1 }));
 * ```
 */
export class WorkerErrorEvent extends Event {
  /** What the teardown threw or rejected with, untouched. */
  readonly error: unknown;
  /** The worker whose teardown failed. */
  readonly workerId: number;

  /**
   * Makes an event reporting one failed teardown.
   *
   * @param type The event type; the pool always uses `"error"`.
   * @param init The failure this event reports.
   */
  constructor(type: string, init: WorkerErrorEventInit) {
    super(type, init);
    this.error = init.error;
    this.workerId = init.workerId;
  }
}
