/**
 * The pool's single output: every worker's results go into one
 * `ReadableStream`, in completion order or restored to input order. It
 * also keeps the books on what it delivered, so that every accepted job
 * can be accounted for when the pool ends.
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

/** A job whose result never reached the reader, by input number. */
export interface Undelivered<I> {
  readonly seq: number;
  readonly job: I;
}

interface Held<I, O> {
  readonly job: I;
  readonly item: O;
  readonly rejected: boolean;
}

// The readable side never reports backpressure of its own: the pool keeps
// running jobs, held results and unread results within `maxWorkers` (see
// `outputRoom`), a budget that can change while the pool runs, which a
// stream's high-water mark cannot. With desiredSize always positive, every
// read calls `pull`, which is how the pool hears that room opened; it parks
// the pull in between, so enqueues cost nothing extra.
const HIGH_WATER_MARK = 2 ** 31;

/**
 * Funnels results into one readable stream, and knows how many are unread.
 * Unread results never outnumber the pool's budget by more than one, so a
 * ring of that size remembers whose results they are.
 */
export class FanIn<I, O> {
  readonly readable: ReadableStream<O>;
  #controller!: ReadableStreamDefaultController<O>;
  #ordered: boolean;
  #held = new Map<number, Held<I, O>>();
  #nextSeq = 0;
  #fulfilled = 0;
  #rejected = 0;
  #ended = false;
  // The jobs of the latest deliveries, newest last; parallel arrays, so a
  // delivery allocates nothing. Capacity is a power of two >= the
  // high-water mark.
  #recentJobs: (I | undefined)[];
  #recentSeqs: number[];
  #recentRejected: boolean[];
  #recentMask: number;
  #recentCount = 0;

  /** @param budget The most results that may be unread at once. */
  constructor(ordered: boolean, budget: number, hooks: FanInHooks) {
    this.#ordered = ordered;
    this.#recentJobs = [];
    this.#recentSeqs = [];
    this.#recentRejected = [];
    this.#recentMask = -1;
    this.ensureBudget(budget);
    this.readable = new ReadableStream<O>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => hooks.pull(),
      cancel: (reason) => {
        this.#ended = true;
        return hooks.cancel(reason);
      },
    }, { highWaterMark: HIGH_WATER_MARK });
  }

  /** Results handed to the readable side and not read yet. */
  get unread(): number {
    const desiredSize = this.#controller.desiredSize;
    return desiredSize === null ? 0 : HIGH_WATER_MARK - desiredSize;
  }

  /**
   * Makes room to remember the unread results of a pool with `budget`
   * workers: at most `budget + 1`, since the job an ordered output waits
   * for may pass the budget by one (see `mayStartBlocking`).
   */
  ensureBudget(budget: number): void {
    const capacity = 2 ** Math.ceil(Math.log2(budget + 1));
    if (capacity <= this.#recentJobs.length) return;
    const jobs = new Array<I | undefined>(capacity);
    const seqs = new Array<number>(capacity).fill(0);
    const rejected = new Array<boolean>(capacity).fill(false);
    const kept = Math.min(this.#recentCount, this.#recentJobs.length);
    for (let i = this.#recentCount - kept; i < this.#recentCount; i++) {
      const from = i & this.#recentMask;
      const to = i & (capacity - 1);
      jobs[to] = this.#recentJobs[from];
      seqs[to] = this.#recentSeqs[from];
      rejected[to] = this.#recentRejected[from];
    }
    this.#recentJobs = jobs;
    this.#recentSeqs = seqs;
    this.#recentRejected = rejected;
    this.#recentMask = capacity - 1;
  }

  /** In ordered mode, the input number whose result goes out next. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Results finished but held back for input order. */
  get held(): number {
    return this.#held.size;
  }

  /** Successful results handed to the readable side and not discarded. */
  get fulfilled(): number {
    return this.#fulfilled;
  }

  /** Failure records handed to the readable side and not discarded. */
  get rejected(): number {
    return this.#rejected;
  }

  /**
   * Hands over `item`, the outcome of job `job` (input number `seq`), in
   * its turn.
   */
  deliver(seq: number, job: I, item: O, rejected: boolean): void {
    if (!this.#ordered) {
      this.#enqueue(seq, job, item, rejected);
      return;
    }
    if (seq !== this.#nextSeq) {
      this.#held.set(seq, { job, item, rejected });
      return;
    }
    this.#enqueue(seq, job, item, rejected);
    this.#nextSeq++;
    for (
      let next = this.#held.get(this.#nextSeq);
      next !== undefined;
      next = this.#held.get(this.#nextSeq)
    ) {
      this.#held.delete(this.#nextSeq);
      this.#enqueue(this.#nextSeq, next.job, next.item, next.rejected);
      this.#nextSeq++;
    }
  }

  /** Discards results held for order and says whose they were. */
  dropHeld(): Undelivered<I>[] {
    const dropped = [...this.#held].map(([seq, { job }]) => ({ seq, job }));
    this.#held.clear();
    return dropped;
  }

  /** Ends the output; unread results stay readable. */
  close(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#controller.close();
  }

  /**
   * Errors the output with `reason`. The stream discards unread results,
   * so they no longer count as delivered; returns whose they were.
   */
  error(reason: unknown): Undelivered<I>[] {
    if (this.#ended) return [];
    this.#ended = true;
    const unread = Math.min(
      this.unread,
      this.#recentCount,
      this.#recentJobs.length,
    );
    const discarded: Undelivered<I>[] = [];
    for (let i = this.#recentCount - unread; i < this.#recentCount; i++) {
      const slot = i & this.#recentMask;
      discarded.push({
        seq: this.#recentSeqs[slot],
        job: this.#recentJobs[slot] as I,
      });
      if (this.#recentRejected[slot]) this.#rejected--;
      else this.#fulfilled--;
    }
    this.#recentJobs.fill(undefined);
    this.#controller.error(reason);
    return discarded;
  }

  #enqueue(seq: number, job: I, item: O, rejected: boolean): void {
    // Booked before the enqueue: it may pull, and the pool may deliver
    // another result from inside it, which must land after this one.
    const slot = this.#recentCount++ & this.#recentMask;
    this.#recentJobs[slot] = job;
    this.#recentSeqs[slot] = seq;
    this.#recentRejected[slot] = rejected;
    if (rejected) this.#rejected++;
    else this.#fulfilled++;
    this.#controller.enqueue(item);
  }
}
