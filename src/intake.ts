/**
 * The pool's intake: jobs accepted from the writable side wait here for a
 * worker, and the writable side is held back while too many wait.
 * @module
 */

import { Deque } from "./deque.ts";

/**
 * A FIFO of accepted jobs that reports backpressure past its high-water
 * mark. Jobs are numbered in input order from 0; since they leave in that
 * order too, a job's number is how many were taken before it, and the
 * queue stores the bare jobs.
 *
 * The writable side's own queue holds one chunk at a time (the one being
 * written), which is already in this queue by then; so at most
 * `highWaterMark + 1` jobs wait here.
 */
export class Intake<I> {
  #queue = new Deque<I>();
  #highWaterMark: number;
  #accepted = 0;
  #taken = 0;
  #space: PromiseWithResolve | undefined;

  constructor(highWaterMark: number) {
    this.#highWaterMark = highWaterMark;
  }

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
   * `undefined` while the queue is within its high-water mark; otherwise a
   * promise that resolves once a worker has taken enough jobs.
   */
  backpressure(): Promise<void> | undefined {
    if (this.#queue.length <= this.#highWaterMark) return undefined;
    this.#space ??= withResolve();
    return this.#space.promise;
  }

  /**
   * Hands the oldest job to a worker; read `nextSeq` first for its number.
   * The queue must not be empty.
   */
  take(): I {
    const job = this.#queue.shift() as I;
    this.#taken++;
    if (this.#queue.length <= this.#highWaterMark) this.release();
    return job;
  }

  /** Lets a held-back write finish, whatever the queue holds. */
  release(): void {
    const space = this.#space;
    this.#space = undefined;
    space?.resolve();
  }

  /** Empties the queue and returns what it held, oldest first. */
  drain(): I[] {
    this.#taken += this.#queue.length;
    return this.#queue.drain();
  }
}

interface PromiseWithResolve {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

// `Promise.withResolvers` would do, but Node.js 20 lacks it.
function withResolve(): PromiseWithResolve {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => resolve = settle);
  return { promise, resolve };
}
