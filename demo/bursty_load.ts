/**
 * The demo's traffic: a stream of I/O-shaped jobs that arrive in bursts
 * separated by quiet gaps, on a fixed schedule.
 * @module
 */

import { delay } from "./delay.ts";

/** One simulated request: it takes `durationMs` of waiting to serve. */
export interface Job {
  readonly id: number;
  readonly durationMs: number;
}

/**
 * A stretch of the schedule. A burst's arrival rate rises from zero to
 * `peakPerSecond` and back along half a sine wave, so the pool has to grow
 * step by step and then finds itself with too many workers; a quiet gap
 * (`peakPerSecond` 0) lets it shrink back to `minWorkers`.
 */
export interface Phase {
  readonly durationMs: number;
  readonly peakPerSecond: number;
}

/** What the load is doing at one instant, for display. */
export interface LoadState {
  /**
   * "quiet", "burst 2 of 4", or "input closed" once the schedule has run
   * out or the stream was cancelled.
   */
  readonly label: string;
  /** The arrival rate now, in jobs per second. */
  readonly offeredPerSecond: number;
}

/**
 * About 12 s. The third burst offers more than twelve workers can serve
 * (each does about 40 jobs/s), so a backlog builds and drains after it.
 */
export const FULL_SCHEDULE: readonly Phase[] = [
  { durationMs: 600, peakPerSecond: 0 },
  { durationMs: 1600, peakPerSecond: 150 },
  { durationMs: 1200, peakPerSecond: 0 },
  { durationMs: 1600, peakPerSecond: 400 },
  { durationMs: 1200, peakPerSecond: 0 },
  { durationMs: 2200, peakPerSecond: 800 },
  { durationMs: 1400, peakPerSecond: 0 },
  { durationMs: 1200, peakPerSecond: 250 },
  { durationMs: 1200, peakPerSecond: 0 },
];

/** About 4 s, for smoke tests: one small burst and one that saturates. */
export const QUICK_SCHEDULE: readonly Phase[] = [
  { durationMs: 300, peakPerSecond: 0 },
  { durationMs: 900, peakPerSecond: 300 },
  { durationMs: 900, peakPerSecond: 0 },
  { durationMs: 900, peakPerSecond: 700 },
  { durationMs: 900, peakPerSecond: 0 },
];

const MIN_JOB_MS = 5;
const MAX_JOB_MS = 40;
// How often the source wakes up to release the jobs that came due. Jobs
// due in between are released together, as a socket would hand over
// whatever arrived since the last read.
const TICK_MS = 10;

/**
 * A job source that follows a schedule. Its stream closes when the
 * schedule ends; cancelling it stops the schedule's timer at once.
 */
export class BurstyLoad {
  /** The jobs, as they come due. */
  readonly readable: ReadableStream<Job>;
  #schedule: readonly Phase[];
  #startMs: number;
  #emitted = 0;
  // Aborted by cancel, to cut a pending tick short; a pool that drains
  // cancels its source this way.
  #stop = new AbortController();

  /**
   * @param schedule The phases, in order.
   * @param startMs The `performance.now()` the schedule starts at.
   */
  constructor(schedule: readonly Phase[], startMs: number) {
    this.#schedule = schedule;
    this.#startMs = startMs;
    this.readable = new ReadableStream<Job>({
      pull: (controller) => this.#pull(controller),
      cancel: () => this.#stop.abort(),
    });
  }

  /** Jobs released into the stream so far. */
  get emitted(): number {
    return this.#emitted;
  }

  /** The schedule's length in milliseconds. */
  get durationMs(): number {
    return this.#schedule.reduce((sum, phase) => sum + phase.durationMs, 0);
  }

  /** What the load is doing `elapsedMs` after the start. */
  stateAt(elapsedMs: number): LoadState {
    if (this.#stop.signal.aborted) {
      return { label: "input closed", offeredPerSecond: 0 };
    }
    const bursts = this.#schedule.filter((phase) => phase.peakPerSecond > 0);
    let phaseStartMs = 0;
    for (const phase of this.#schedule) {
      const intoMs = elapsedMs - phaseStartMs;
      phaseStartMs += phase.durationMs;
      if (intoMs >= phase.durationMs) continue;
      if (phase.peakPerSecond === 0) {
        return { label: "quiet", offeredPerSecond: 0 };
      }
      return {
        label: `burst ${bursts.indexOf(phase) + 1} of ${bursts.length}`,
        offeredPerSecond: phase.peakPerSecond *
          Math.sin(Math.PI * intoMs / phase.durationMs),
      };
    }
    return { label: "input closed", offeredPerSecond: 0 };
  }

  async #pull(controller: ReadableStreamDefaultController<Job>): Promise<void> {
    while (!this.#stop.signal.aborted) {
      const elapsedMs = performance.now() - this.#startMs;
      const due = jobsDueBy(this.#schedule, elapsedMs);
      if (this.#emitted < due) {
        while (this.#emitted < due) controller.enqueue(this.#nextJob());
        return;
      }
      if (elapsedMs >= this.durationMs) {
        controller.close();
        return;
      }
      try {
        await delay(TICK_MS, this.#stop.signal);
      } catch {
        // Cancelled: the stream has ended, so there is nothing to report.
        return;
      }
    }
  }

  #nextJob(): Job {
    const durationMs = MIN_JOB_MS + Math.random() * (MAX_JOB_MS - MIN_JOB_MS);
    return { id: this.#emitted++, durationMs };
  }
}

/**
 * How many jobs have arrived `elapsedMs` into the schedule: the integral of
 * each burst's half-sine rate, rounded down.
 */
function jobsDueBy(schedule: readonly Phase[], elapsedMs: number): number {
  let due = 0;
  let phaseStartMs = 0;
  for (const phase of schedule) {
    const intoMs = Math.min(elapsedMs - phaseStartMs, phase.durationMs);
    if (intoMs <= 0) break;
    const durationS = phase.durationMs / 1000;
    const progress = 1 - Math.cos(Math.PI * intoMs / phase.durationMs);
    due += phase.peakPerSecond * durationS / Math.PI * progress;
    phaseStartMs += phase.durationMs;
  }
  return Math.floor(due);
}
