/**
 * Failed jobs due for another attempt. While they wait out their backoff
 * they hold no worker: a min-heap ordered by due time, with one timer for
 * the earliest. Once due, they wait for a worker in input order.
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

/** Retries in backoff, and those ready for a worker. */
export class RetryQueue<I> {
  #heap: RetryEntry<I>[] = [];
  // Due retries, lowest input number first: the oldest job goes first,
  // and in an ordered pool it may be the one the output waits for.
  #ready: RetryEntry<I>[] = [];
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
    return this.#heap.length + this.#ready.length;
  }

  /** Retries whose backoff is over. */
  get readyCount(): number {
    return this.#ready.length;
  }

  /** The ready retry with the lowest input number, left in place. */
  get firstReady(): RetryEntry<I> | undefined {
    return this.#ready[0];
  }

  /** Waits `delayMs`, then makes `job` ready for attempt `attempt`. */
  add(job: I, seq: number, attempt: number, delayMs: number): void {
    const entry = { job, seq, attempt, dueMs: this.#clock.now() + delayMs };
    siftUp(this.#heap, entry);
    this.#arm();
  }

  /** Removes and returns the ready retry with the lowest input number. */
  takeReady(): RetryEntry<I> | undefined {
    return this.#ready.shift();
  }

  /** Removes every retry, ready or not, and the timer. */
  drain(): RetryEntry<I>[] {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDueMs = Infinity;
    const entries = [...this.#ready, ...this.#heap];
    this.#heap = [];
    this.#ready = [];
    return entries;
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
    let became = 0;
    while (this.#heap.length > 0 && this.#heap[0].dueMs <= now) {
      insertBySeq(this.#ready, popMin(this.#heap));
      became++;
    }
    this.#arm();
    if (became > 0) this.#onReady();
  };
}

// Few retries are ever ready at once, so a sorted array beats a heap.
function insertBySeq<I>(entries: RetryEntry<I>[], entry: RetryEntry<I>): void {
  let index = entries.length;
  while (index > 0 && entries[index - 1].seq > entry.seq) index--;
  entries.splice(index, 0, entry);
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
