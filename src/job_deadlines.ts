/**
 * Per-attempt timeouts on one timer. Attempts share one timeout and start
 * in time order, so the earliest deadline is always that of the oldest
 * running attempt: a timer armed when none is, and re-armed for the next
 * deadline when it fires, covers every running attempt. It fires about
 * once per timeout, whatever the job rate.
 * @module
 */

import type { Clock, TimerHandle } from "./clock.ts";

/** What the deadlines need to know of a worker. */
export interface TimedWorker {
  /** Undefined while the worker idles. */
  readonly context: unknown;
  deadlineMs: number;
}

/** Watches running attempts and reports those past their timeout. */
export class JobDeadlines<W extends TimedWorker> {
  #clock: Clock;
  #timeoutMs: number;
  #workers: () => Iterable<W>;
  #onExpired: (worker: W) => void;
  #timer: TimerHandle | undefined;
  #timerDueMs = Infinity;

  /**
   * @param workers Every worker that may run an attempt.
   * @param onExpired Called for each attempt past its deadline; it may
   * remove the worker from `workers`.
   */
  constructor(
    clock: Clock,
    timeoutMs: number,
    workers: () => Iterable<W>,
    onExpired: (worker: W) => void,
  ) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
    this.#workers = workers;
    this.#onExpired = onExpired;
  }

  /** The timeout every attempt gets, in milliseconds. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Starts the clock on the attempt `worker` begins now. */
  start(worker: W): void {
    const now = this.#clock.now();
    worker.deadlineMs = now + this.#timeoutMs;
    if (this.#timer === undefined) this.#arm(worker.deadlineMs, now);
  }

  /** Stops watching. */
  clear(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDueMs = Infinity;
  }

  #arm(dueMs: number, now: number): void {
    this.#timerDueMs = dueMs;
    this.#timer = this.#clock.setTimeout(this.#fire, dueMs - now);
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#timerDueMs = Infinity;
    const now = this.#clock.now();
    let nextMs = Infinity;
    // A copy: giving an attempt up replaces its worker.
    for (const worker of [...this.#workers()]) {
      if (worker.context === undefined) continue;
      if (worker.deadlineMs <= now) this.#onExpired(worker);
      else nextMs = Math.min(nextMs, worker.deadlineMs);
    }
    // An attempt started from inside the loop armed the timer for its own,
    // later deadline: re-arm for the earliest one left.
    if (nextMs < this.#timerDueMs) {
      this.#clock.clearTimeout(this.#timer);
      this.#arm(nextMs, now);
    }
  };
}
