/**
 * An intake that runs jobs with the same key one at a time, in arrival
 * order, while jobs with other keys run in parallel, the way a partition
 * keeps its order in a log. A job whose key is busy is parked behind it and
 * is not runnable: it does not count as pressure, and it never blocks jobs
 * with other keys.
 * @module
 */

import { Deque } from "./deque.ts";
import type { Undelivered } from "./fan_in.ts";
import type { Intake } from "./intake.ts";
import { MinHeap } from "./min_heap.ts";

interface Entry<I> {
  readonly job: I;
  readonly seq: number;
  readonly key: unknown;
}

/** Runnable jobs oldest first; parked ones per busy key. */
export class KeyedIntake<I> implements Intake<I> {
  // Oldest input first: a job released from behind its key is usually
  // older than every runnable one, and in an ordered pool it may be the
  // one the output waits for.
  #runnable = new MinHeap<Entry<I>>((entry) => entry.seq);
  // A key is busy while it is in this map: one of its jobs is runnable,
  // running or waiting to retry. The deque holds the jobs parked behind it.
  #busyKeys = new Map<unknown, Deque<Entry<I>>>();
  #parked = 0;
  #accepted = 0;
  #takenKey: unknown;

  get length(): number {
    return this.#runnable.length + this.#parked;
  }

  get runnable(): number {
    return this.#runnable.length;
  }

  get accepted(): number {
    return this.#accepted;
  }

  get nextSeq(): number {
    return (this.#runnable.peek() as Entry<I>).seq;
  }

  get takenKey(): unknown {
    return this.#takenKey;
  }

  accept(job: I, key: unknown): void {
    const entry = { job, seq: this.#accepted++, key };
    const parked = this.#busyKeys.get(key);
    if (parked !== undefined) {
      parked.push(entry);
      this.#parked++;
      return;
    }
    this.#busyKeys.set(key, new Deque());
    this.#runnable.push(entry);
  }

  acceptToRun(job: I, key: unknown): number {
    if (this.#busyKeys.has(key)) {
      this.accept(job, key);
      return -1;
    }
    this.#busyKeys.set(key, new Deque());
    return this.#accepted++;
  }

  acceptFailed(): void {
    this.#accepted++;
  }

  take(): I {
    const entry = this.#runnable.pop() as Entry<I>;
    this.#takenKey = entry.key;
    return entry.job;
  }

  release(key: unknown): void {
    const parked = this.#busyKeys.get(key);
    const next = parked?.shift();
    if (next === undefined) {
      this.#busyKeys.delete(key);
      return;
    }
    this.#parked--;
    this.#runnable.push(next);
  }

  drain(): Undelivered<I>[] {
    const entries: Undelivered<I>[] = this.#runnable.drain();
    for (const parked of this.#busyKeys.values()) {
      entries.push(...parked.drain());
    }
    this.#busyKeys.clear();
    this.#parked = 0;
    return entries.sort((a, b) => a.seq - b.seq);
  }
}
