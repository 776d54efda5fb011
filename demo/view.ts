/**
 * What `main.ts` asks of a view, so that the live terminal view and the
 * plain line-by-line one can stand in for each other.
 * @module
 */

import type { ScaleEvent } from "../mod.ts";
import type { LoadState } from "./bursty_load.ts";
import type { Reading } from "./meter.ts";

/** The pool options the demo runs with, shown in headers and summaries. */
export interface PoolSettings {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly idleTimeout: number;
}

/** Shows a running pool. */
export interface View {
  /** Shows a fresh sample; called about ten times a second. */
  update(reading: Reading, load: LoadState): void;
  /** Shows a scale event, stamped with when it happened. */
  scale(event: ScaleEvent, elapsedMs: number): void;
  /**
   * Shows a turn in how the demo stops: a drain starting, an abort. The
   * pool's own events say nothing of these.
   */
  notice(text: string, elapsedMs: number): void;
  /** Shows the last sample, once the pool has closed. */
  end(reading: Reading, load: LoadState): void;
  /**
   * Hands the terminal back as it was. Safe to call more than once, and
   * without `end`, for an exit in a hurry.
   */
  release(): void;
}
