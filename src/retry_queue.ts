/**
 * Jobs waiting out their retry backoff. They hold no worker: a min-heap
 * ordered by due time, and one timer for the earliest.
 * @module
 */

import type { Clock, TimerHandle } from "./clock.ts";

/** A failed job waiting for its next attempt. */
export interface RetryEntry<I> {
  readonly job: I;
  /** Its input number, kept so that ordered output keeps its place. */
  readonly seq: number;
  /** The attempt it waits for: 2 for the first retry. */
  readonly attempt: number;
  readonly dueMs: number;
}

/** Waiting retries, handed to `onDue` once their backoff has passed. */
export class RetryQueue<I> {
  #heap: RetryEntry<I>[] = [];
  #clock: Clock;
  #onDue: (entry: RetryEntry<I>) => void;
  #timer: TimerHandle | undefined;
  #timerDueMs = Infinity;

  constructor(clock: Clock, onDue: (entry: RetryEntry<I>) => void) {
    this.#clock = clock;
    this.#onDue = onDue;
  }

  /** Jobs waiting. */
  get length(): number {
    return this.#heap.length;
  }

  /** Waits `delayMs`, then hands `job` back for attempt `attempt`. */
  add(job: I, seq: number, attempt: number, delayMs: number): void {
    const entry = { job, seq, attempt, dueMs: this.#clock.now() + delayMs };
    siftUp(this.#heap, entry);
    this.#arm();
  }

  /** Removes every waiting job, earliest input first, and the timer. */
  drain(): RetryEntry<I>[] {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDueMs = Infinity;
    const entries = this.#heap;
    this.#heap = [];
    return entries.sort((a, b) => a.seq - b.seq);
  }

  #arm(): void {
    const next = this.#heap[0];
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
    while (this.#heap.length > 0 && this.#heap[0].dueMs <= now) {
      this.#onDue(popMin(this.#heap));
    }
    this.#arm();
  };
}

function siftUp<I>(heap: RetryEntry<I>[], entry: RetryEntry<I>): void {
  let index = heap.length;
  heap.push(entry);
  while (index > 0) {
    const parent = (index - 1) >> 1;
    if (heap[parent].dueMs <= entry.dueMs) break;
    heap[index] = heap[parent];
    index = parent;
  }
  heap[index] = entry;
}

function popMin<I>(heap: RetryEntry<I>[]): RetryEntry<I> {
  const top = heap[0];
  const last = heap.pop() as RetryEntry<I>;
  if (heap.length === 0) return top;
  let index = 0;
  while (true) {
    const left = 2 * index + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child = right < heap.length && heap[right].dueMs < heap[left].dueMs
      ? right
      : left;
    if (heap[child].dueMs >= last.dueMs) break;
    heap[index] = heap[child];
    index = child;
  }
  heap[index] = last;
  return top;
}
