/**
 * The pool's intake: jobs accepted from the writable side wait here for a
 * worker, and a write that overfills it is held back.
 * @module
 */

import { Deque } from "./deque.ts";

/**
 * A FIFO of accepted jobs. Jobs are numbered in input order from 0; since
 * they leave in that order too, a job's number is how many were taken
 * before it, and the queue stores the bare jobs.
 *
 * The writable side's own queue holds one chunk at a time (the one being
 * written), which is already in this queue by then, so nothing accepted
 * ever waits where the pool cannot see it.
 */
export class Intake<I> {
  #queue = new Deque<I>();
  #accepted = 0;
  #taken = 0;
  #heldWrite: { promise: Promise<void>; resolve: () => void } | undefined;

  /** Jobs waiting for a worker. */
  get length(): number {
    return this.#queue.length;
  }

  /** Jobs accepted so far. */
  get accepted(): number {
    return this.#accepted;
  }

  /** The input number of the job `take` returns next. */
  get nextSeq(): number {
    return this.#taken;
  }

  /** Queues a job behind every job accepted before it. */
  accept(job: I): void {
    this.#queue.push(job);
    this.#accepted++;
  }

  /**
   * Counts a job handed to a worker without queueing it, which only keeps
   * input order while the queue is empty. Returns its input number.
   */
  acceptTaken(): number {
    this.#accepted++;
    return this.#taken++;
  }

  /** Hands the oldest job to a worker. The queue must not be empty. */
  take(): I {
    this.#taken++;
    return this.#queue.shift() as I;
  }

  /** A promise that settles when `release` is next called. */
  holdWrite(): Promise<void> {
    if (this.#heldWrite === undefined) {
      // `Promise.withResolvers` would do, but Node.js 20 lacks it.
      let resolve!: () => void;
      const promise = new Promise<void>((settle) => resolve = settle);
      this.#heldWrite = { promise, resolve };
    }
    return this.#heldWrite.promise;
  }

  /** Lets a held-back write finish. */
  release(): void {
    const held = this.#heldWrite;
    this.#heldWrite = undefined;
    held?.resolve();
  }

  /** Empties the queue and returns what it held, oldest first. */
  drain(): I[] {
    this.#taken += this.#queue.length;
    return this.#queue.drain();
  }
}
