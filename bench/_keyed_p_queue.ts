/**
 * The baseline for `keyed.ts`: per-key ordering built by hand on p-queue,
 * the way a user without a keyed pool would write it, wrapped in the same
 * stream pair shape as the pool so both read the same source and feed the
 * same reader.
 *
 * Each key keeps the promise of its last job in a map, and a new job is
 * chained behind it: `tail.then(() => queue.add(() => work(job)))`. The
 * chain waits *before* `queue.add`, so a job waiting for its key holds no
 * slot of the shared queue; the opposite nesting,
 * `queue.add(() => tail.then(() => work(job)))`, would let jobs of a hot
 * key fill the slots while they wait and starve every other key.
 *
 * Intake is bounded the way the pool bounds it: a write is held while more
 * than `highWaterMark` accepted jobs have not started yet, whether they
 * wait for their key or for a slot. Results are enqueued as they finish,
 * in completion order, ignoring the reader's backpressure, which a reader
 * loop that keeps up never needs.
 * @module
 */

import PQueue from "p-queue";

/** Options for {@linkcode keyedPQueue}. */
export interface KeyedPQueueOptions<I> {
  /** The key whose jobs run one at a time, in arrival order. */
  readonly key: (job: I) => string | number;
  /** The shared queue's concurrency. */
  readonly concurrency: number;
  /** Accepted jobs not yet started before writes are held. */
  readonly highWaterMark: number;
}

/**
 * A stream pair running `work` through one `PQueue`, with jobs of the same
 * key chained one behind the other.
 */
export function keyedPQueue<I, O>(
  work: (job: I) => Promise<O>,
  options: KeyedPQueueOptions<I>,
): ReadableWritablePair<O, I> {
  const { key: keyOf, concurrency, highWaterMark } = options;
  const queue = new PQueue({ concurrency });
  // A key is here while one of its jobs is accepted and not delivered; the
  // promise settles once its last job so far is delivered.
  const tails = new Map<string | number, Promise<void>>();
  // Accepted and not started: the count the intake bound applies to.
  let waiting = 0;
  // Accepted and not delivered: the output closes when it reaches 0.
  let unsettled = 0;
  let heldWrite: (() => void) | undefined;
  let allDelivered: (() => void) | undefined;
  let output!: ReadableStreamDefaultController<O>;
  let input!: WritableStreamDefaultController;

  const fail = (error: unknown): void => {
    queue.clear();
    output.error(error);
    input.error(error);
  };

  const accept = (job: I): Promise<void> | undefined => {
    const key = keyOf(job);
    waiting++;
    unsettled++;
    const start = (): Promise<O> => {
      waiting--;
      if (heldWrite !== undefined && waiting <= highWaterMark) {
        heldWrite();
        heldWrite = undefined;
      }
      return work(job);
    };
    const previous = tails.get(key) ?? Promise.resolve();
    const tail: Promise<void> = previous
      .then(() => queue.add(start))
      .then((result) => {
        output.enqueue(result);
        if (tails.get(key) === tail) tails.delete(key);
        unsettled--;
        if (unsettled === 0) allDelivered?.();
      }, fail);
    tails.set(key, tail);
    if (waiting <= highWaterMark) return undefined;
    return new Promise((resolve) => heldWrite = resolve);
  };

  const readable = new ReadableStream<O>({
    start: (controller) => {
      output = controller;
    },
    cancel: () => queue.clear(),
  });
  const writable = new WritableStream<I>({
    start: (controller) => {
      input = controller;
    },
    write: accept,
    close: async () => {
      if (unsettled > 0) {
        await new Promise<void>((resolve) => allDelivered = resolve);
      }
      output.close();
    },
    abort: (reason) => fail(reason),
  }, { highWaterMark: 1 });
  return { readable, writable };
}
