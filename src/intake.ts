/**
 * The pool's intake: jobs accepted from the writable side wait here for a
 * worker. Two kinds share one interface: a plain FIFO, and one that keeps
 * jobs with the same key in order (`keyed_intake.ts`).
 * @module
 */

import { Deque } from "./deque.ts";
import type { Undelivered } from "./fan_in.ts";

/** Jobs accepted and not yet handed to a worker. */
export interface Intake<I> {
  /** Jobs waiting, runnable or not. */
  readonly length: number;
  /** Jobs that could run now if a worker were free. */
  readonly runnable: number;
  /** Jobs accepted so far. */
  readonly accepted: number;
  /** The input number of the job `take` returns next. */
  readonly nextSeq: number;
  /** The key of the job `take` returned last. */
  readonly takenKey: unknown;
  /** Queues a job behind every job accepted before it. */
  accept(job: I, key: unknown): void;
  /**
   * Accepts a job to run at once, while nothing is runnable, and returns
   * its input number; or queues it like `accept` and returns -1 when its
   * key is busy.
   */
  acceptToRun(job: I, key: unknown): number;
  /** Counts a job accepted that failed before it could be queued. */
  acceptFailed(): void;
  /** Hands the next runnable job to a worker. Something must be runnable. */
  take(): I;
  /** The job with `key` ended for good: the next one with it may run. */
  release(key: unknown): void;
  /** Empties the intake and returns what it held, by input number. */
  drain(): Undelivered<I>[];
}

/**
 * A plain FIFO. Jobs leave in input order, so a job's input number is how
 * many were taken before it, and the queue stores the bare jobs: nothing is
 * allocated per job.
 */
export class FifoIntake<I> implements Intake<I> {
  #queue = new Deque<I>();
  #accepted = 0;
  #taken = 0;

  get length(): number {
    return this.#queue.length;
  }

  get runnable(): number {
    return this.#queue.length;
  }

  get accepted(): number {
    return this.#accepted;
  }

  get nextSeq(): number {
    return this.#taken;
  }

  get takenKey(): unknown {
    return undefined;
  }

  accept(job: I): void {
    this.#queue.push(job);
    this.#accepted++;
  }

  acceptToRun(): number {
    this.#accepted++;
    return this.#taken++;
  }

  acceptFailed(): void {
    this.#accepted++;
  }

  take(): I {
    this.#taken++;
    return this.#queue.shift() as I;
  }

  release(): void {}

  drain(): Undelivered<I>[] {
    const first = this.#taken;
    this.#taken += this.#queue.length;
    return this.#queue.drain().map((job, i) => ({ seq: first + i, job }));
  }
}
