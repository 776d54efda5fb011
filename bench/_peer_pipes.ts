/**
 * The stream-wrapped contenders of `peers.ts`: the pool and each peer
 * library inside the stream-in, stream-out pipeline a careful user would
 * write around it. Every pipe takes a pull-based `ReadableStream` of jobs
 * and returns a `ReadableStream` of results, and holds to the same rules:
 *
 * - The source is read as the jobs can start, never drained into an array:
 *   jobs taken from it and not yet delivered stay below twice the
 *   concurrency (the running jobs, plus as many waiting, the pool's
 *   default `highWaterMark`).
 * - The output buffers up to `concurrency` unread results; past that, no
 *   new job starts, so a reader that lags keeps memory bounded.
 * - A job's error errors the output with that same error and stops the
 *   source; cancelling the output stops the source too.
 * - Results come out in completion order, but for `pMapIterable` with its
 *   default `preserveOrder: true`, which keeps input order.
 *
 * How each library gets there depends on its shape:
 *
 * - p-queue, p-limit and fastq take jobs pushed one at a time, so they sit
 *   in a `TransformStream` whose `transform` submits the job and holds the
 *   next write while twice the concurrency is unsettled; the transform
 *   stream's own backpressure stops the writes while the output is full.
 * - `pMap` pulls from the source itself and only collects results, so its
 *   mapper delivers each result into the output, waiting for room there
 *   (holding its slot, which stops the pulls), and returns `pMapSkip`.
 * - `pMapIterable` pulls and yields with bounded read-ahead of its own
 *   (`backpressure`, by default its concurrency), so
 *   `ReadableStream.from` around it is the whole pipeline.
 * - RxJS has no backpressure: `from(asyncIterable)` reads as fast as the
 *   iterator answers and `mergeMap` queues what it cannot start, without
 *   limit. So the async iterable that feeds it waits before each read
 *   while twice the concurrency is in flight or the output is full.
 * @module
 */

import fastq from "fastq";
import pLimit from "p-limit";
import pMap, { pMapIterable, pMapSkip } from "p-map";
import PQueue from "p-queue";
import { from, mergeMap } from "rxjs";
import { autoScale } from "../mod.ts";

/** The job every contender runs: a number in, a number out. */
export type Job = (n: number) => Promise<number>;

/** Runs `job` on every number from `source` on up to `concurrency` at once. */
export type Pipe = (
  source: ReadableStream<number>,
  job: Job,
  concurrency: number,
) => ReadableStream<number>;

/** One stream-in, stream-out contender. */
export interface PipeContender {
  /** A stable id, which names the contender to a memory child process. */
  readonly id: string;
  /** How the library is used, as the report shows it after its name. */
  readonly name: string;
  /** The npm package, whose installed version the report adds. */
  readonly packageName?: string;
  readonly pipe: Pipe;
}

/** The pool: `source.pipeThrough(autoScale(job, { maxWorkers }))`. */
export const OURS: PipeContender = {
  id: "ours",
  name: "**ours**: `pipeThrough(autoScale(job, { maxWorkers }))`",
  pipe: (source, job, concurrency) =>
    source.pipeThrough(autoScale(job, { maxWorkers: concurrency })),
};

/** Every peer, wrapped in streams. */
export const PEER_PIPES: readonly PipeContender[] = [
  {
    id: "p-queue",
    packageName: "p-queue",
    name: "`queue.add`",
    pipe: (source, job, concurrency) => {
      const queue = new PQueue({ concurrency });
      return source.pipeThrough(
        limiterStream(
          (n) => queue.add(() => job(n)),
          concurrency,
          () => queue.clear(),
        ),
      );
    },
  },
  {
    id: "p-limit",
    packageName: "p-limit",
    name: "`limit(job, n)`",
    pipe: (source, job, concurrency) => {
      const limit = pLimit(concurrency);
      return source.pipeThrough(
        limiterStream(
          (n) => limit(job, n),
          concurrency,
          () => limit.clearQueue(),
        ),
      );
    },
  },
  {
    id: "fastq",
    packageName: "fastq",
    name: "`fastq.promise(job).push`",
    pipe: (source, job, concurrency) => {
      const queue = fastq.promise(job, concurrency);
      return source.pipeThrough(
        limiterStream((n) => queue.push(n), concurrency, () => queue.kill()),
      );
    },
  },
  {
    id: "p-map",
    packageName: "p-map",
    name: "`pMap`, the mapper delivers and returns `pMapSkip`",
    pipe: pMapPipe,
  },
  {
    id: "p-map-iterable",
    packageName: "p-map",
    name: "`pMapIterable` (input order)",
    pipe: (source, job, concurrency) =>
      ReadableStream.from(
        pMapIterable(oneAtATime(source), job, { concurrency }),
      ),
  },
  {
    id: "p-map-iterable-unordered",
    packageName: "p-map",
    name: "`pMapIterable`, `preserveOrder: false`",
    pipe: (source, job, concurrency) =>
      ReadableStream.from(
        pMapIterable(oneAtATime(source), job, {
          concurrency,
          preserveOrder: false,
        }),
      ),
  },
  {
    id: "rxjs",
    packageName: "rxjs",
    name: "`from(gated source).pipe(mergeMap(job, n))`",
    pipe: rxjsPipe,
  },
];

/**
 * A transform stream around a push-style limiter: `submit` hands a job to
 * the limiter and returns the promise of its result.
 *
 * @param stop Drops the limiter's waiting jobs once the output has failed.
 */
function limiterStream(
  submit: Job,
  concurrency: number,
  stop: () => void,
): TransformStream<number, number> {
  // Submitted and not settled: running, plus waiting inside the limiter.
  let unsettled = 0;
  const settled = new Wakeup();
  let hasFailed = false;
  let output!: TransformStreamDefaultController<number>;

  const deliver = (result: number): void => {
    if (!hasFailed) {
      try {
        output.enqueue(result);
      } catch {
        // A cancelled output refuses chunks: nothing more is wanted.
        hasFailed = true;
        stop();
      }
    }
    unsettled--;
    settled.notify();
  };
  const fail = (error: unknown): void => {
    if (!hasFailed) {
      hasFailed = true;
      stop();
      output.error(error);
    }
    unsettled--;
    settled.notify();
  };
  // Sync while there is room, so most writes cost no extra promise.
  const transform = (n: number): Promise<void> | undefined => {
    unsettled++;
    submit(n).then(deliver, fail);
    return unsettled < 2 * concurrency ? undefined : waitBelow();
  };
  const waitBelow = async (): Promise<void> => {
    while (unsettled >= 2 * concurrency) await settled.wait();
  };

  return new TransformStream<number, number>(
    {
      start: (controller) => {
        output = controller;
      },
      transform,
      flush: async () => {
        while (unsettled > 0) await settled.wait();
      },
    },
    { highWaterMark: 1 },
    { highWaterMark: concurrency },
  );
}

function pMapPipe(
  source: ReadableStream<number>,
  job: Job,
  concurrency: number,
): ReadableStream<number> {
  const cancelled = new AbortController();
  const outlet = new Outlet(concurrency, {
    onCancel: (reason) => cancelled.abort(reason),
  });
  // On abort or error pMap closes its iterator, which cancels the source.
  pMap(oneAtATime(source), async (n) => {
    const result = await job(n);
    while (!outlet.hasRoom) await outlet.room.wait();
    outlet.enqueue(result);
    return pMapSkip;
  }, { concurrency, signal: cancelled.signal }).then(
    () => outlet.close(),
    (error) => outlet.error(error),
  );
  return outlet.readable;
}

function rxjsPipe(
  source: ReadableStream<number>,
  job: Job,
  concurrency: number,
): ReadableStream<number> {
  const reader = source.getReader();
  // Jobs read from the source whose result has not reached the output.
  let inFlight = 0;
  const change = new Wakeup();
  const outlet = new Outlet(concurrency, {
    onPull: () => change.notify(),
    onCancel: (reason) => {
      subscription.unsubscribe();
      reader.cancel(reason).catch(() => {});
    },
  });
  async function* gatedJobs(): AsyncGenerator<number> {
    while (true) {
      while (inFlight >= 2 * concurrency || !outlet.hasRoom) {
        await change.wait();
      }
      const { done, value } = await reader.read();
      if (done) return;
      inFlight++;
      yield value;
    }
  }
  const subscription = from(gatedJobs()).pipe(mergeMap(job, concurrency))
    .subscribe({
      next: (result) => {
        inFlight--;
        outlet.enqueue(result);
        change.notify();
      },
      error: (error) => {
        outlet.error(error);
        reader.cancel(error).catch(() => {});
      },
      complete: () => outlet.close(),
    });
  return outlet.readable;
}

/**
 * The source as an async generator, for p-map, which calls `next()` again
 * before the last call has settled. The streams' own async iterator in
 * Deno 2.9 and Node.js 20 hands values to overlapping calls out of call
 * order, and a `done` can overtake a value; p-map, trusting call order,
 * then ends early, dropping results, or never settles. A generator queues
 * the calls; its `return()` (p-map closing its input) cancels the source.
 */
async function* oneAtATime(
  source: ReadableStream<number>,
): AsyncGenerator<number> {
  yield* source;
}

/** Callbacks of an {@linkcode Outlet}. */
interface OutletOptions {
  /** The reader wants more: called from the stream's `pull`. */
  readonly onPull?: () => void;
  readonly onCancel: (reason: unknown) => void;
}

/**
 * A readable stream fed by pushes, buffering up to `highWaterMark` unread
 * results, that says when it has room for more.
 */
class Outlet {
  readonly readable: ReadableStream<number>;
  /** Notified when the reader has made room, or the stream has ended. */
  readonly room: Wakeup = new Wakeup();
  #controller!: ReadableStreamDefaultController<number>;
  #isOpen = true;

  constructor(highWaterMark: number, options: OutletOptions) {
    this.readable = new ReadableStream<number>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => {
        this.room.notify();
        options.onPull?.();
      },
      cancel: (reason) => {
        this.#end();
        options.onCancel(reason);
      },
    }, { highWaterMark });
  }

  /** Whether a result can go in now; also true once the stream ended. */
  get hasRoom(): boolean {
    return !this.#isOpen || (this.#controller.desiredSize ?? 0) > 0;
  }

  /** Adds a result; dropped once the stream has ended. */
  enqueue(result: number): void {
    if (this.#isOpen) this.#controller.enqueue(result);
  }

  close(): void {
    if (this.#isOpen) this.#controller.close();
    this.#end();
  }

  error(error: unknown): void {
    if (this.#isOpen) this.#controller.error(error);
    this.#end();
  }

  #end(): void {
    this.#isOpen = false;
    // Waiters for room would otherwise wait for good.
    this.room.notify();
  }
}

/**
 * One-shot wake-ups for loops that wait for a condition: `wait()` resolves
 * at the next `notify()`, and the loop checks its condition again.
 */
class Wakeup {
  #promise: Promise<void> | undefined;
  #resolve: (() => void) | undefined;

  wait(): Promise<void> {
    this.#promise ??= new Promise((resolve) => this.#resolve = resolve);
    return this.#promise;
  }

  notify(): void {
    const resolve = this.#resolve;
    this.#promise = undefined;
    this.#resolve = undefined;
    resolve?.();
  }
}
