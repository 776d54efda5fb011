/**
 * Failed jobs due for another attempt. While they wait out their backoff
 * they hold no worker: a min-heap ordered by due time, with one timer for
 * the earliest. Once due, they wait for a worker in input order.
 * @module
 */

import type { Clock, TimerHandle } from "./clock.ts";
import { MinHeap } from "./min_heap.ts";

/** A failed job waiting for its next attempt. */
export interface RetryEntry<I> {
  readonly job: I;
  /** Its input number, kept so that ordered output keeps its place. */
  readonly seq: number;
  /** The attempt it waits for: 2 for the first retry. */
  readonly attempt: number;
  /** Its key, with `key`: it stays busy while the job retries. */
  readonly key: unknown;
  readonly dueMs: number;
}

/** Retries in backoff, and those ready for a worker. */
export class RetryQueue<I> {
  #waiting = new MinHeap<RetryEntry<I>>((entry) => entry.dueMs);
  // Due retries, lowest input number first: the oldest job goes first,
  // and in an ordered pool it may be the one the output waits for.
  #ready = new MinHeap<RetryEntry<I>>((entry) => entry.seq);
  #clock: Clock;
  #onReady: () => void;
  #timer: TimerHandle | undefined;
  #timerDueMs = Infinity;

  /** @param onReady Called when retries have become ready. */
  constructor(clock: Clock, onReady: () => void) {
    this.#clock = clock;
    this.#onReady = onReady;
  }

  /** Retries in all, in backoff or ready. */
  get size(): number {
    return this.#waiting.length + this.#ready.length;
  }

  /** Retries whose backoff is over. */
  get readyCount(): number {
    return this.#ready.length;
  }

  /** The ready retry with the lowest input number, left in place. */
  get firstReady(): RetryEntry<I> | undefined {
    return this.#ready.peek();
  }

  /** Waits `delayMs`, then makes `job` ready for attempt `attempt`. */
  add(
    job: I,
    seq: number,
    attempt: number,
    key: unknown,
    delayMs: number,
  ): void {
    const dueMs = this.#clock.now() + delayMs;
    const entry = { job, seq, attempt, key, dueMs };
    this.#waiting.push(entry);
    this.#arm();
  }

  /** Removes and returns the ready retry with the lowest input number. */
  takeReady(): RetryEntry<I> | undefined {
    return this.#ready.pop();
  }

  /** Removes every retry, ready or not, and the timer. */
  drain(): RetryEntry<I>[] {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDueMs = Infinity;
    return [...this.#ready.drain(), ...this.#waiting.drain()];
  }

  #arm(): void {
    const next = this.#waiting.peek();
    if (next === undefined || next.dueMs >= this.#timerDueMs) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timerDueMs = next.dueMs;
    this.#timer = this.#clock.setTimeout(
      this.#fire,
      Math.max(0, next.dueMs - this.#clock.now()),
    );
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#timerDueMs = Infinity;
    const now = this.#clock.now();
    let became = 0;
    for (
      let next = this.#waiting.peek();
      next !== undefined && next.dueMs <= now;
      next = this.#waiting.peek()
    ) {
      this.#ready.push(this.#waiting.pop() as RetryEntry<I>);
      became++;
    }
    this.#arm();
    if (became > 0) this.#onReady();
  };
}
