/**
 * The event a pool dispatches whenever its worker count changes.
 * @module
 */

/**
 * Why the worker count changed:
 * - `"start"`: the pool started its `minWorkers`.
 * - `"pressure"`: jobs waited with no worker idle and room in the output.
 * - `"idle"`: workers idled past `idleTimeout` above `minWorkers`.
 * - `"resize"`: `resize()` changed the bounds.
 * - `"shutdown"`: the pool is ending, normally or not, and workers exit.
 */
export type ScaleReason =
  | "start"
  | "pressure"
  | "idle"
  | "resize"
  | "shutdown";

/** The fields of a {@linkcode ScaleEvent}. */
export interface ScaleEventInit extends EventInit {
  /** Workers alive before the change. */
  from: number;
  /** Workers alive after the change. */
  to: number;
  /** Why the count changed. */
  reason: ScaleReason;
}

/**
 * Dispatched as `"scale"` on an {@linkcode AutoScaleStream} each time its
 * worker count changes, right after the change.
 *
 * The `"start"` event is dispatched one microtask after the pool is made,
 * so that listeners added right after `autoScale()` returns still see it;
 * events that happen before then follow it, in order.
 *
 * @example Log every change of the worker count
 * ```ts
 * import { autoScale, ScaleEvent } from "@autoscale/streams";
 * import assert from "node:assert/strict";
 *
 * const pool = autoScale((n: number) => n * 2, { minWorkers: 2 });
 * const seen: string[] = [];
 * pool.addEventListener("scale", (event) => {
 *   seen.push(`${event.from}->${event.to} ${event.reason}`);
 * });
 * await Array.fromAsync(ReadableStream.from([1, 2, 3]).pipeThrough(pool));
 * await pool.closed;
 * assert.equal(seen[0], "0->2 start");
 * assert.equal(seen.at(-1), "2->0 shutdown");
 * assert.ok(new ScaleEvent("scale", { from: 0, to: 1, reason: "pressure" }));
 * ```
 */
export class ScaleEvent extends Event {
  /** Workers alive before the change. */
  readonly from: number;
  /** Workers alive after the change. */
  readonly to: number;
  /** Why the count changed. */
  readonly reason: ScaleReason;

  /**
   * Makes an event reporting one change of the worker count.
   *
   * @param type The event type; the pool always uses `"scale"`.
   * @param init The change this event reports.
   */
  constructor(type: string, init: ScaleEventInit) {
    super(type, init);
    this.from = init.from;
    this.to = init.to;
    this.reason = init.reason;
  }
}
