/**
 * Measures a running pool by sampling its `stats()`: throughput over the
 * last second, and worker-seconds spent so far.
 * @module
 */

import type { PoolStats } from "../mod.ts";

/** One sample of the pool, with the rates derived from recent samples. */
export interface Reading {
  /** Milliseconds since the demo started. */
  readonly elapsedMs: number;
  readonly stats: PoolStats;
  /** Results per second over the last second. */
  readonly jobsPerSecond: number;
}

const THROUGHPUT_WINDOW_MS = 1000;

/**
 * Integrates the worker count over time, sample by sample. Each interval
 * is charged at the count seen at its start (a left Riemann sum); at ten
 * samples a second the error is far below what the demo prints. Busy
 * workers change with every job, so they can only be sampled; workers
 * are sampled the same way so that the two sums compare.
 */
export class PoolMeter {
  #pool: { stats(): PoolStats };
  #startMs: number;
  #lastMs: number;
  #last: PoolStats;
  #workerMs = 0;
  #busyMs = 0;
  // Completed counts over the throughput window, oldest first.
  #window: Array<{ atMs: number; completed: number }> = [];

  /**
   * @param pool The pool to sample.
   * @param startMs The `performance.now()` the demo started at.
   */
  constructor(pool: { stats(): PoolStats }, startMs: number) {
    this.#pool = pool;
    this.#startMs = startMs;
    this.#lastMs = startMs;
    this.#last = pool.stats();
    this.#window.push({ atMs: startMs, completed: this.#last.completed });
  }

  /** Worker-seconds used so far: alive workers, idle or busy, over time. */
  get workerSeconds(): number {
    return this.#workerMs / 1000;
  }

  /** Worker-seconds spent running jobs so far. */
  get busySeconds(): number {
    return this.#busyMs / 1000;
  }

  /** Milliseconds from the start to the latest sample. */
  get elapsedMs(): number {
    return this.#lastMs - this.#startMs;
  }

  /** Takes a sample now. */
  sample(nowMs: number = performance.now()): Reading {
    const stats = this.#pool.stats();
    const intervalMs = nowMs - this.#lastMs;
    this.#workerMs += this.#last.workers * intervalMs;
    this.#busyMs += this.#last.busy * intervalMs;
    this.#last = stats;
    this.#lastMs = nowMs;

    // Keep the newest sample at least a window old as the baseline, so
    // the rate covers a full second once a second has passed.
    this.#window.push({ atMs: nowMs, completed: stats.completed });
    const cutoffMs = nowMs - THROUGHPUT_WINDOW_MS;
    while (this.#window.length > 1 && this.#window[1].atMs <= cutoffMs) {
      this.#window.shift();
    }
    const oldest = this.#window[0];
    const spanMs = nowMs - oldest.atMs;
    const jobsPerSecond = spanMs > 0
      ? (stats.completed - oldest.completed) * 1000 / spanMs
      : 0;
    return { elapsedMs: nowMs - this.#startMs, stats, jobsPerSecond };
  }
}
