/**
 * The pool's single output: every worker's results go into one
 * `ReadableStream`, in completion order or restored to input order.
 * @module
 */

/** What the output asks of the pool. */
export interface FanInHooks {
  /**
   * The reader wants more: room may have opened for new jobs. A pending
   * promise tells the stream not to ask again until it settles.
   */
  pull(): Promise<void> | undefined;
  /** The reader cancelled the output. */
  cancel(reason: unknown): Promise<void>;
}

/**
 * Funnels results into one readable stream.
 *
 * Its high-water mark is the pool's result budget: running jobs, results
 * held for order and unread results together stay within it (see
 * `outputRoom`). A read that frees room therefore always leaves
 * `desiredSize > 0`, which is exactly when the stream calls `pull`, so the
 * pool is woken every time room opens.
 */
export class FanIn<O> {
  readonly readable: ReadableStream<O>;
  #controller!: ReadableStreamDefaultController<O>;
  #ordered: boolean;
  // Results that finished ahead of an earlier job, by input number.
  #held = new Map<number, O>();
  #nextSeq = 0;
  #delivered = 0;
  #ended = false;

  constructor(ordered: boolean, highWaterMark: number, hooks: FanInHooks) {
    this.#ordered = ordered;
    this.readable = new ReadableStream<O>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => hooks.pull(),
      cancel: (reason) => {
        this.#ended = true;
        return hooks.cancel(reason);
      },
    }, { highWaterMark });
  }

  /** The readable side's `desiredSize`; zero once it has ended. */
  get desiredSize(): number {
    return this.#controller.desiredSize ?? 0;
  }

  /** Results finished but held back for input order. */
  get held(): number {
    return this.#held.size;
  }

  /** Results handed to the readable side so far. */
  get delivered(): number {
    return this.#delivered;
  }

  /** Hands over the result of job number `seq`. */
  deliver(seq: number, value: O): void {
    if (!this.#ordered) {
      this.#enqueue(value);
      return;
    }
    if (seq !== this.#nextSeq) {
      this.#held.set(seq, value);
      return;
    }
    this.#enqueue(value);
    this.#nextSeq++;
    while (this.#held.size > 0) {
      const next = this.#held.get(this.#nextSeq);
      if (next === undefined && !this.#held.has(this.#nextSeq)) return;
      this.#held.delete(this.#nextSeq);
      this.#enqueue(next as O);
      this.#nextSeq++;
    }
  }

  /** Discards results held for order: their turn will never come. */
  dropHeld(): void {
    this.#held.clear();
  }

  /** Ends the output; unread results stay readable. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#controller.close();
  }

  /** Errors the output with `reason`; unread results are discarded. */
  error(reason: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#controller.error(reason);
  }

  #enqueue(value: O): void {
    this.#controller.enqueue(value);
    this.#delivered++;
  }
}
