/**
 * The main-thread side of the floor in `threads.ts`: bare workers fed
 * numbers by `postMessage`, with no pool, no envelope and no promise per
 * job. Two ways to feed them: every job posted at once (pipelined, what
 * batching could reach), or one job in flight per thread (a round trip per
 * job, the shape of any pool that hands a thread its next job when the
 * last one is done). Two kinds of thread: a Web `Worker`, which the thread
 * backend uses, running `_raw_worker.ts`, or a `node:worker_threads`
 * `Worker`, which tinypool uses, running `_raw_node_worker.ts`: each
 * runtime implements the two apart, so their messages need not cost the
 * same.
 * @module
 */

import { Worker as NodeWorker } from "node:worker_threads";

/** Which job the bare workers run. */
export type RawJobKind = "cpu" | "tiny";

/** Which worker API the bare threads are started with. */
export type RawTransport = "web" | "node";

/** What one run of the bare threads returns. */
export interface RawRun {
  /** The results, in job order. */
  readonly results: number[];
  /** When the first result came in, on the `performance.now()` clock. */
  readonly firstResultAtMs: number;
}

/** One bare thread, whichever API started it. */
interface Thread {
  postMessage(message: number | RawJobKind): void;
  /** Replaces the handlers of the previous call. */
  listen(
    onMessage: (data: number) => void,
    onError: (error: Error) => void,
  ): void;
  terminate(): void;
}

const WEB_WORKER_URL = new URL("./_raw_worker.ts", import.meta.url);
const NODE_WORKER_URL = new URL("./_raw_node_worker.ts", import.meta.url);

/** A fixed set of bare worker threads, all started and ready. */
export class RawThreads {
  #threads: Thread[];

  private constructor(threads: Thread[]) {
    this.#threads = threads;
  }

  /** Starts `count` workers and resolves once every one is ready. */
  static async start(
    kind: RawJobKind,
    count: number,
    transport: RawTransport = "web",
  ): Promise<RawThreads> {
    const threads = Array.from(
      { length: count },
      transport === "web" ? webThread : nodeThread,
    );
    await Promise.all(
      threads.map((thread) =>
        new Promise<void>((resolve, reject) => {
          thread.listen(() => resolve(), reject);
          thread.postMessage(kind);
        })
      ),
    );
    return new RawThreads(threads);
  }

  /**
   * Splits `jobs` into one contiguous share per thread and posts every job
   * at once.
   */
  runPipelined(jobs: readonly number[]): Promise<RawRun> {
    const share = Math.ceil(jobs.length / this.#threads.length);
    return this.#collect(jobs.length, (thread, index, onResult) => {
      const first = index * share;
      const end = Math.min(jobs.length, first + share);
      // Each thread answers in the order it was sent its jobs.
      let next = first;
      for (let i = first; i < end; i++) thread.postMessage(jobs[i]);
      return (value) => onResult(next++, value);
    });
  }

  /**
   * Keeps one job in flight per thread: a thread gets the next job when
   * its reply arrives.
   */
  runRoundTrip(jobs: readonly number[]): Promise<RawRun> {
    let next = 0;
    return this.#collect(jobs.length, (thread, _index, onResult) => {
      let current = -1;
      const post = (): void => {
        if (next === jobs.length) return;
        current = next++;
        thread.postMessage(jobs[current]);
      };
      post();
      return (value) => {
        onResult(current, value);
        post();
      };
    });
  }

  /** Ends every thread at once. */
  terminate(): void {
    for (const thread of this.#threads) thread.terminate();
  }

  /**
   * Hands each thread to `feed`, which sends it jobs and returns what to
   * do with each of its replies, reporting results by job index; resolves
   * once `count` results came in.
   */
  #collect(
    count: number,
    feed: (
      thread: Thread,
      index: number,
      onResult: (jobIndex: number, value: number) => void,
    ) => (value: number) => void,
  ): Promise<RawRun> {
    const results = new Array<number>(count);
    let received = 0;
    let firstResultAtMs = NaN;
    return new Promise((resolve, reject) => {
      if (count === 0) return resolve({ results, firstResultAtMs });
      for (const [index, thread] of this.#threads.entries()) {
        // Listening only after the first jobs are posted is safe: replies
        // arrive as events, never during the `postMessage` calls.
        const onReply = feed(thread, index, (jobIndex, value) => {
          if (received === 0) firstResultAtMs = performance.now();
          results[jobIndex] = value;
          if (++received === count) resolve({ results, firstResultAtMs });
        });
        thread.listen(onReply, reject);
      }
    });
  }
}

function webThread(): Thread {
  const worker = new Worker(WEB_WORKER_URL, { type: "module" });
  return {
    postMessage: (message) => worker.postMessage(message),
    listen: (onMessage, onError) => {
      worker.onmessage = (event: MessageEvent<number>) => onMessage(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        onError(new Error(`A bare worker failed: ${event.message}`));
      };
    },
    terminate: () => worker.terminate(),
  };
}

function nodeThread(): Thread {
  const worker = new NodeWorker(NODE_WORKER_URL);
  // Node-style events take listeners, not one handler per event, so the
  // current handlers sit behind a single listener each.
  let handlers = {
    onMessage: (_data: number): void => {},
    onError: (_error: Error): void => {},
  };
  worker.on("message", (data: number) => handlers.onMessage(data));
  worker.on("error", (error: Error) => handlers.onError(error));
  return {
    postMessage: (message) => worker.postMessage(message),
    listen: (onMessage, onError) => {
      handlers = { onMessage, onError };
    },
    terminate: () => void worker.terminate(),
  };
}
