/**
 * The pool as a stream pair: `autoScale()` and the
 * {@linkcode AutoScaleStream} it returns.
 * @module
 */

import { Controller } from "./controller.ts";
import {
  type AutoScaleOptions,
  checkDeadline,
  type ResizeOptions,
  resolveOptions,
  resolveResize,
} from "./options.ts";
import { chooseBackend } from "./thread_backend.ts";
import type { PoolStats } from "./pool_stats.ts";
import type { ScaleEvent } from "./scale_event.ts";
import type { SettledResult } from "./settled.ts";
import type { WorkerErrorEvent } from "./worker_error_event.ts";
import type { Work } from "./work.ts";

const CREATE = "Cannot create pool";
const DRAIN = "Cannot drain pool";
const RESIZE = "Cannot resize pool";

/** The events an {@linkcode AutoScaleStream} dispatches, by type. */
export interface AutoScaleStreamEventMap {
  /** The worker count changed. */
  scale: ScaleEvent;
  /** A worker's teardown failed. */
  error: WorkerErrorEvent;
}

/**
 * An autoscaling pool of workers, as a stream pair for `pipeThrough`: jobs
 * go into {@linkcode AutoScaleStream.writable}, results
 * come out of {@linkcode AutoScaleStream.readable}.
 *
 * The pair behaves like an identity `TransformStream` towards pipes: closing
 * the input closes the output once every job is done, aborting the input
 * errors the output with the same reason, and cancelling the output errors
 * the input (so a pipe into it cancels its source). Only the pool's own
 * `signal` closes the output instead of erroring it.
 *
 * The output ends only after every worker has exited, so when a reader sees
 * the end, no job of the pool is still running. A job that ignores its
 * `context.signal` therefore holds the end back until it settles, or until
 * its `timeout` gives it up.
 *
 * A reader that lags keeps the pool small: running jobs, held results and
 * unread results together never exceed `maxWorkers`, and no worker starts
 * while they fill it.
 *
 * @typeParam I The job type.
 * @typeParam O The result type.
 * @typeParam R The per-worker resource that `setup` returns.
 * @example Double numbers on up to four workers
 * ```ts
 * import { AutoScaleStream } from "@autoscale/streams";
 * import assert from "node:assert/strict";
 *
 * const pool = new AutoScaleStream(async (n: number) => n * 2, {
 *   maxWorkers: 4,
 * });
 * const results = await Array.fromAsync(
 *   ReadableStream.from([1, 2, 3]).pipeThrough(pool),
 * );
 * assert.deepEqual(results.sort(), [2, 4, 6]);
 * await pool.closed;
 * assert.equal(pool.stats().workers, 0);
 * ```
 */
export class AutoScaleStream<I, O, R = unknown> extends EventTarget
  implements ReadableWritablePair<O, I> {
  /** Results, in completion order, or input order with `ordered`. */
  readonly readable: ReadableStream<O>;
  /** Jobs; backpressure starts past `highWaterMark` waiting jobs. */
  readonly writable: WritableStream<I>;
  /**
   * Resolves once the pool has ended, for any reason, with every worker
   * exited and every timer cleared. Never rejects.
   */
  readonly closed: Promise<void>;
  // Keeping the job and result types out of the private field keeps the
  // class covariant, like its two streams.
  #controller: {
    stats(): PoolStats;
    drain(deadlineMs: number | undefined): Promise<void>;
    unfinished(): unknown[];
    resize(minWorkers: number, maxWorkers: number): void;
  };
  #bounds: { minWorkers: number; maxWorkers: number };

  /**
   * Starts `minWorkers` workers at once.
   *
   * For `settled: true`, whose results are {@linkcode SettledResult}
   * records, use {@linkcode autoScale}, which types them.
   *
   * @param work Runs each job; see {@linkcode Work}. An absolute module
   * URL instead runs each job in a worker thread (see {@linkcode autoScale}).
   * @param options See {@linkcode AutoScaleOptions}.
   * @throws {TypeError} `work` is neither a function nor an absolute URL,
   * or an option has the wrong type.
   * @throws {RangeError} An option is out of range, or the worker bounds
   * conflict.
   */
  constructor(
    work: Work<I, O, R> | URL | string,
    options?: AutoScaleOptions<I, R> & { settled?: false },
  ) {
    const backend = chooseBackend(CREATE, work, options);
    const resolved = resolveOptions(
      backend.options as AutoScaleOptions<unknown>,
      CREATE,
    );
    super();
    const controller = new Controller<I, O>(
      // The controller hands each job the resource its worker's setup
      // returned, which is what R describes.
      backend.work,
      resolved,
      (event) => this.dispatchEvent(event),
      backend.threads,
    );
    this.#controller = controller;
    this.#bounds = {
      minWorkers: resolved.minWorkers,
      maxWorkers: resolved.maxWorkers,
    };
    this.readable = controller.readable;
    this.writable = controller.writable;
    this.closed = controller.closed;
  }

  /**
   * A fresh snapshot of the pool's numbers.
   *
   * @example Watch the pool while it works
   * ```ts
   * import { autoScale } from "@autoscale/streams";
   * import assert from "node:assert/strict";
   *
   * const pool = autoScale((n: number) => n, { minWorkers: 2 });
   * assert.equal(pool.stats().workers, 2);
   * await ReadableStream.from([1, 2, 3]).pipeThrough(pool).pipeTo(
   *   new WritableStream(),
   * );
   * assert.equal(pool.stats().completed, 3);
   * ```
   */
  stats(): PoolStats {
    return this.#controller.stats();
  }

  /**
   * Changes the worker bounds of the running pool, with the same rules as
   * the constructor; an omitted bound stays. Raising `maxWorkers` starts
   * waiting jobs at once. Lowering it never cuts a job short: idle workers
   * above it retire now, busy ones when their job ends. Raising
   * `minWorkers` starts workers now; lowering it lets idle workers retire
   * after `idleTimeout`. Each change is a {@linkcode ScaleEvent} with the
   * reason `"resize"`. On a pool that has ended it does nothing.
   *
   * @param options The new bounds.
   * @throws {TypeError} A bound has the wrong type.
   * @throws {RangeError} A bound is out of range, or the bounds conflict.
   * @example Open up for a traffic spike, then scale back
   * ```ts
   * import { autoScale } from "@autoscale/streams";
   * import assert from "node:assert/strict";
   *
   * const pool = autoScale((n: number) => n, { minWorkers: 1, maxWorkers: 4 });
   * pool.resize({ minWorkers: 6, maxWorkers: 16 });
   * assert.equal(pool.stats().workers, 6);
   * pool.resize({ minWorkers: 0, maxWorkers: 2 });
   * assert.equal(pool.stats().workers, 2);
   * await pool.writable.close();
   * await pool.closed;
   * ```
   */
  resize(options: ResizeOptions): void {
    const bounds = resolveResize(RESIZE, options, this.#bounds);
    this.#bounds = bounds;
    this.#controller.resize(bounds.minWorkers, bounds.maxWorkers);
  }

  /**
   * Shuts the pool down gracefully, as a service does on SIGTERM: the
   * writable side takes no more jobs (it errors with an `AbortError`
   * `DOMException`, which cancels a pipe's source), queued and running
   * jobs finish and their results are delivered, then the readable side
   * closes. Past `deadlineMs`, what is left is aborted as if by the pool's
   * signal: running jobs' signals abort with a `TimeoutError`, waiting
   * jobs never start, and the readable side closes once running jobs have
   * settled. Calling it again only ever shortens the deadline.
   *
   * @param deadlineMs Milliseconds to wait before aborting what is left;
   * no limit when omitted.
   * @returns A promise that resolves when {@linkcode AutoScaleStream.closed}
   * does.
   * @throws {RangeError} `deadlineMs` is negative or not finite.
   * @example Drain on SIGTERM
   * ```ts ignore
   * import { autoScale } from "@autoscale/streams";
   *
   * const pool = autoScale(handle, { maxWorkers: 32 });
   * Deno.addSignalListener("SIGTERM", () => pool.drain(10_000));
   * await requests.pipeThrough(pool).pipeTo(responses);
   * console.log("left for the next run:", pool.unfinished());
   * ```
   * @example Finish what was accepted, then close
   * ```ts
   * import { autoScale } from "@autoscale/streams";
   * import assert from "node:assert/strict";
   *
   * const pool = autoScale(async (n: number) => n * 2);
   * const writer = pool.writable.getWriter();
   * await writer.write(1);
   * await writer.write(2);
   * const results = Array.fromAsync(pool.readable);
   * await pool.drain(1_000);
   * assert.deepEqual((await results).sort(), [2, 4]);
   * assert.deepEqual(pool.unfinished(), []);
   * ```
   */
  drain(deadlineMs?: number): Promise<void> {
    return this.#controller.drain(checkDeadline(DRAIN, deadlineMs));
  }

  /**
   * Every accepted job whose result was not delivered, in input order: the
   * jobs that were queued, waiting to retry, running or held for order when
   * the pool ended early, and results an error ending discarded before
   * they were read. Re-queue them to lose nothing. Together with
   * `stats()`: `completed + failed + unfinished().length === accepted`.
   *
   * @returns The unfinished jobs.
   * @throws {Error} The pool has not closed yet; await `closed` first.
   * @example Re-queue what an abort left behind
   * ```ts
   * import { autoScale } from "@autoscale/streams";
   * import assert from "node:assert/strict";
   *
   * const stop = new AbortController();
   * const pool = autoScale(async (n: number, { signal }) => {
   *   if (n === 3) stop.abort();
   *   signal.throwIfAborted();
   *   return n;
   * }, { maxWorkers: 1, signal: stop.signal });
   * await Array.fromAsync(ReadableStream.from([1, 2, 3, 4]).pipeThrough(pool));
   * await pool.closed;
   * const { completed, failed, accepted } = pool.stats();
   * assert.equal(completed + failed + pool.unfinished().length, accepted);
   * ```
   */
  unfinished(): I[] {
    return this.#controller.unfinished() as I[];
  }

  /**
   * Listens for {@linkcode ScaleEvent}s, typed by event name.
   *
   * @example Count scale-ups
   * ```ts
   * import { autoScale } from "@autoscale/streams";
   * import assert from "node:assert/strict";
   *
   * const pool = autoScale((n: number) => n);
   * let workersStarted = 0;
   * pool.addEventListener("scale", (event) => {
   *   workersStarted += Math.max(0, event.to - event.from);
   * });
   * await ReadableStream.from([1, 2]).pipeThrough(pool).pipeTo(
   *   new WritableStream(),
   * );
   * assert.ok(workersStarted >= 1);
   * ```
   */
  override addEventListener<K extends keyof AutoScaleStreamEventMap>(
    type: K,
    listener: (
      this: AutoScaleStream<I, O, R>,
      event: AutoScaleStreamEventMap[K],
    ) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  /** Listens for any event type, untyped. */
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  override addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    super.addEventListener(type, listener, options);
  }

  /**
   * Removes a listener added with {@linkcode AutoScaleStream.addEventListener}.
   *
   * @example Stop listening
   * ```ts
   * import { autoScale, type ScaleEvent } from "@autoscale/streams";
   *
   * const pool = autoScale((n: number) => n, { minWorkers: 0 });
   * const onScale = (event: ScaleEvent) => console.log(event.reason);
   * pool.addEventListener("scale", onScale);
   * pool.removeEventListener("scale", onScale);
   * await pool.writable.close();
   * await pool.closed;
   * ```
   */
  override removeEventListener<K extends keyof AutoScaleStreamEventMap>(
    type: K,
    listener: (
      this: AutoScaleStream<I, O, R>,
      event: AutoScaleStreamEventMap[K],
    ) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  /** Removes a listener of any event type. */
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
  override removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void {
    super.removeEventListener(type, listener, options);
  }
}

/**
 * Makes an autoscaling pool of async workers to put in a `pipeThrough`.
 *
 * `minWorkers` workers start at once. While jobs wait, no worker is idle
 * and the reader keeps up, the controller starts more, up to
 * `maxWorkers`; a worker idle for `idleTimeout` ms is retired while more
 * than `minWorkers` are alive. Results arrive in completion order unless
 * `ordered` is set.
 *
 * Every job runs exactly once and its result is delivered exactly once,
 * unless the pool ends early: a job that fails for good (after its
 * `retry` attempts, a `timeout` counting as a failure) errors the output
 * with that same error; aborting `signal` closes the output; either way
 * running jobs see their `context.signal` abort, queued jobs never start,
 * and the input is cancelled. With `settled: true` a failure is delivered
 * as a `{ job, status: "rejected", reason }` record instead, and a success
 * as `{ job, status: "fulfilled", value }`. After the pool has closed,
 * `unfinished()` lists every accepted job whose result was not
 * delivered.
 *
 * @typeParam I The job type.
 * @typeParam O The result type.
 * @typeParam R The per-worker resource that `setup` returns. TypeScript
 * fixes it from `work` before it reads `options`, so annotate the job's
 * context (`context: JobContext<Db>`) or pass the type arguments to have
 * `context.resource` typed.
 * @param work Runs each job; see {@linkcode Work}.
 * @param options See {@linkcode AutoScaleOptions}.
 * @returns The pool, ready for `pipeThrough`.
 * @throws {TypeError} `work` is not a function, or an option has the wrong
 * type.
 * @throws {RangeError} An option is out of range, or the worker bounds
 * conflict.
 * @example Fetch sizes on up to 16 workers
 * ```ts
 * import { autoScale } from "@autoscale/streams";
 * import assert from "node:assert/strict";
 *
 * const sizes = ReadableStream.from(["a", "bb", "ccc"]).pipeThrough(
 *   autoScale(async (text: string) => text.length, { maxWorkers: 16 }),
 * );
 * const results = await Array.fromAsync(sizes);
 * assert.deepEqual(results.sort(), [1, 2, 3]);
 * ```
 * @example Route failures to a dead-letter list instead of failing
 * ```ts
 * import { autoScale } from "@autoscale/streams";
 * import assert from "node:assert/strict";
 *
 * const pool = autoScale(async (n: number) => {
 *   if (n % 2 === 0) throw new Error(`even: ${n}`);
 *   return n;
 * }, { settled: true, retry: { attempts: 2, delay: 1 }, timeout: 1_000 });
 * const deadLetters: number[] = [];
 * for await (const outcome of ReadableStream.from([1, 2, 3]).pipeThrough(pool)) {
 *   if (outcome.status === "rejected") deadLetters.push(outcome.job);
 * }
 * assert.deepEqual(deadLetters, [2]);
 * assert.equal(pool.stats().retried, 1);
 * ```
 */
export function autoScale<I, O, R = unknown>(
  work: Work<I, O, R>,
  options: AutoScaleOptions<I, R> & { settled: true },
): AutoScaleStream<I, SettledResult<I, O>, R>;
/** Makes a pool that fails on the first job that fails for good. */
export function autoScale<I, O, R = unknown>(
  work: Work<I, O, R>,
  options?: AutoScaleOptions<I, R> & { settled?: false },
): AutoScaleStream<I, O, R>;
/** Makes a pool whose `settled` is only known at run time. */
export function autoScale<I, O, R = unknown>(
  work: Work<I, O, R>,
  options?: AutoScaleOptions<I, R>,
): AutoScaleStream<I, O | SettledResult<I, O>, R>;
/**
 * Makes a pool whose jobs run in worker threads: `moduleUrl` (absolute)
 * names a module whose default export is the work function, so the same
 * module can be imported and tested directly. Jobs and results are
 * structured-cloned (see `transfer`), and one that cannot be fails its job
 * with a `DataCloneError`; a thread that dies fails the job it held and is
 * replaced; `maxWorkers` defaults to `navigator.hardwareConcurrency`. Each
 * thread runs one job at a time unless `jobsPerThread` lets workers share
 * it, which suits many tiny jobs.
 *
 * @example Square numbers on two threads
 * ```ts
 * import { autoScale } from "@autoscale/streams";
 * import assert from "node:assert/strict";
 *
 * const squares = autoScale<number, number>(
 *   "data:text/javascript,export default (n) => n * n",
 *   { maxWorkers: 2 },
 * );
 * const results = await Array.fromAsync(
 *   ReadableStream.from([1, 2, 3]).pipeThrough(squares),
 * );
 * assert.deepEqual(results.sort(), [1, 4, 9]);
 * await squares.closed;
 * ```
 */
export function autoScale<I, O>(
  moduleUrl: URL | string,
  options: AutoScaleOptions<I, never> & { settled: true },
): AutoScaleStream<I, SettledResult<I, O>>;
/** Makes a pool whose jobs run in worker threads; see above. */
export function autoScale<I, O>(
  moduleUrl: URL | string,
  options?: AutoScaleOptions<I, never> & { settled?: false },
): AutoScaleStream<I, O>;
/**
 * Makes a pool whose jobs run in worker threads and whose `settled` is only
 * known at run time; see above.
 */
export function autoScale<I, O>(
  moduleUrl: URL | string,
  options?: AutoScaleOptions<I, never>,
): AutoScaleStream<I, O | SettledResult<I, O>>;
// The overloads above are the public types. This signature only has to
// admit them all, and the resource type is invariant in the options, so it
// takes anything; the constructor checks what it gets.
export function autoScale(work: unknown, options?: unknown): unknown {
  // The constructor types the plain output; the options decide.
  return new AutoScaleStream(
    work as Work<unknown, unknown, unknown>,
    options as AutoScaleOptions<unknown, unknown> & { settled?: false },
  );
}
