/**
 * Retiring idle workers on one timer. Reading a clock on every job costs
 * more than a no-op job, so idle time is sampled instead: the first check
 * that sees a worker idle stamps it, which is a lower bound on when it went
 * idle, so no worker is ever retired early. While a surplus worker idles,
 * checks run every quarter of `idleTimeout` (see `idleCheckIntervalMs`), so
 * a worker retires at most a quarter late.
 * @module
 */

import type { Clock, TimerHandle } from "./clock.ts";
import type { Deque } from "./deque.ts";
import {
  idleCheckIntervalMs,
  planRetirement,
  type ScaleLimits,
} from "./scale_policy.ts";

/** What the checks need to know of a worker. */
export interface IdleWorker {
  idleSeenAtMs: number | undefined;
}

/** The idle-check timer and its sampling. */
export class IdleChecks<W extends IdleWorker> {
  #clock: Clock;
  #limits: ScaleLimits;
  #idle: Deque<W>;
  #alive: () => number;
  #retire: (count: number) => void;
  #timer: TimerHandle | undefined;
  // Retirements in the current idleTimeout window, for `retireStep`.
  #windowStartMs = -Infinity;
  #retiredInWindow = 0;

  /**
   * @param limits Read at every check, so a change applies at the next.
   * @param idle The idle workers, longest idle at the front.
   * @param alive How many workers are alive, idle or not.
   * @param retire Retires the `count` longest-idle workers.
   */
  constructor(
    clock: Clock,
    limits: ScaleLimits,
    idle: Deque<W>,
    alive: () => number,
    retire: (count: number) => void,
  ) {
    this.#clock = clock;
    this.#limits = limits;
    this.#idle = idle;
    this.#alive = alive;
    this.#retire = retire;
  }

  /** Starts checking if a surplus worker idles and no check is due. */
  armIfNeeded(): void {
    if (
      this.#timer === undefined && this.#idle.length > 0 &&
      this.#alive() > this.#limits.minWorkers
    ) {
      this.#arm(idleCheckIntervalMs(this.#limits));
    }
  }

  /** Stops checking. */
  clear(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delayMs: number): void {
    this.#timer = this.#clock.setTimeout(this.#check, delayMs);
  }

  #check = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    // Front to back, workers went idle in order, and every check stamps
    // all the unstamped ones: the durations come out longest first.
    const idleForMs: number[] = [];
    for (let i = 0; i < this.#idle.length; i++) {
      const worker = this.#idle.at(i) as W;
      worker.idleSeenAtMs ??= now;
      idleForMs.push(now - worker.idleSeenAtMs);
    }
    if (now - this.#windowStartMs >= this.#limits.idleTimeoutMs) {
      this.#windowStartMs = now;
      this.#retiredInWindow = 0;
    }
    const plan = planRetirement(idleForMs, this.#alive(), this.#limits, {
      count: this.#limits.retireStep - this.#retiredInWindow,
      renewedInMs: this.#windowStartMs + this.#limits.idleTimeoutMs - now,
    });
    this.#retiredInWindow += plan.retire;
    this.#retire(plan.retire);
    if (plan.recheckInMs !== undefined) this.#arm(plan.recheckInMs);
  };
}
