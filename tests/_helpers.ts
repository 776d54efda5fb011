/**
 * Shared test helpers: deferreds to hold jobs, condition polling with a
 * deadline that prints what it last saw, and sources that count pulls.
 * @module
 */

import type { JobContext } from "../mod.ts";

/** A promise with its settle functions, for holding a job until released. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/** Makes a {@linkcode Deferred}. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Lets the event loop turn `times` times, so that everything already
 * scheduled (microtasks, settled promises, zero-delay timers) runs. Used to
 * show that something did not happen.
 */
export async function turns(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await sleep(0);
}

/**
 * Polls `condition` until it holds. Past `timeoutMs` it throws, with what
 * `describe` says about the last state seen.
 */
export async function waitFor(
  condition: () => boolean,
  describe: () => unknown = () => "",
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(
        `condition not met within ${timeoutMs} ms; last seen: ${
          JSON.stringify(describe())
        }`,
      );
    }
    await sleep(2);
  }
}

/** Reads a stream to its end. */
export async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const items: T[] = [];
  const reader = stream.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) return items;
    items.push(value);
  }
}

/** Reads a stream to its end or error, and says which. */
export async function settle<T>(
  stream: ReadableStream<T>,
): Promise<{ items: T[]; error?: unknown; errored: boolean }> {
  const items: T[] = [];
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return { items, errored: false };
      items.push(value);
    }
  } catch (error) {
    return { items, error, errored: true };
  }
}

/** What a reader saw, and how its stream ended. */
export interface ReadOutcome {
  readonly items: unknown[];
  readonly ending: "closed" | "errored" | "cancelled";
  readonly error?: unknown;
}

/**
 * Reads a stream to its end or error, waiting for `pause(read)` after each
 * item, and cancelling it once `cancelAfterReads` items were read.
 */
export async function readToEnd(
  readable: ReadableStream<unknown>,
  options: {
    cancelAfterReads?: number;
    pause?: (read: number) => Promise<unknown> | undefined;
  } = {},
): Promise<ReadOutcome> {
  const items: unknown[] = [];
  const reader = readable.getReader();
  try {
    while (true) {
      if (items.length === options.cancelAfterReads) {
        await reader.cancel(new Error("the reader gave up"));
        return { items, ending: "cancelled" };
      }
      const { done, value } = await reader.read();
      if (done) return { items, ending: "closed" };
      items.push(value);
      await options.pause?.(items.length);
    }
  } catch (error) {
    return { items, ending: "errored", error };
  }
}

/** A stream over `items` that records each pull and its cancel reason. */
export interface CountingSource<T> {
  readonly stream: ReadableStream<T>;
  /** Items handed out so far. */
  readonly pulled: number;
  /** Whether the stream was cancelled, and with what reason. */
  readonly cancelled: boolean;
  readonly cancelReason: unknown;
}

/**
 * A source over `items` that hands out one item per pull and keeps none in
 * reserve (high-water mark 0), so `pulled` counts exactly what was read.
 */
export function countingSource<T>(
  items: Iterable<T>,
  options: { close?: boolean } = {},
): CountingSource<T> {
  const iterator = items[Symbol.iterator]();
  const state = {
    pulled: 0,
    cancelled: false,
    cancelReason: undefined as unknown,
  };
  const stream = new ReadableStream<T>({
    pull(controller) {
      const next = iterator.next();
      if (next.done) {
        if (options.close !== false) controller.close();
        return;
      }
      state.pulled++;
      controller.enqueue(next.value);
    },
    cancel(reason) {
      state.cancelled = true;
      state.cancelReason = reason;
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    get pulled() {
      return state.pulled;
    },
    get cancelled() {
      return state.cancelled;
    },
    get cancelReason() {
      return state.cancelReason;
    },
  };
}

/** The numbers 0 to `count - 1`. */
export function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/** A fast-check seed from the environment, to replay a failure. */
export function seedFromEnv(): number | undefined {
  const env = globalThis as {
    process?: { env: Record<string, string | undefined> };
    Deno?: { env: { get(name: string): string | undefined } };
  };
  let value: string | undefined;
  try {
    value = env.Deno?.env.get("FC_SEED") ?? env.process?.env.FC_SEED;
  } catch {
    value = undefined;
  }
  return value === undefined ? undefined : Number(value);
}

/** A job function whose jobs wait until the test releases them. */
export interface GatedWork<I> {
  /** Pass to the pool as its work. */
  readonly work: (job: I, context: JobContext) => Promise<I>;
  /** Jobs started so far, in start order. */
  readonly started: I[];
  /** Jobs running now (started, not yet released or aborted). */
  readonly running: Set<I>;
  /** The abort reason each aborted job's signal carried. */
  readonly abortReasons: Map<I, unknown>;
  /** Workers ids seen, per job. */
  readonly workerIds: Map<I, number>;
  /** Lets a running job finish with its own value as the result. */
  release(job: I): void;
  /** Makes a running job throw `error`. */
  fail(job: I, error: unknown): void;
  /** Releases every running job. */
  releaseAll(): void;
}

/**
 * Makes a {@linkcode GatedWork}. Each job returns itself once released,
 * and rejects with its signal's reason as soon as that aborts.
 */
export function gatedWork<I>(): GatedWork<I> {
  const gates = new Map<I, Deferred<I>>();
  const started: I[] = [];
  const running = new Set<I>();
  const abortReasons = new Map<I, unknown>();
  const workerIds = new Map<I, number>();
  const work = async (job: I, context: JobContext): Promise<I> => {
    started.push(job);
    running.add(job);
    workerIds.set(job, context.workerId);
    const gate = deferred<I>();
    gates.set(job, gate);
    const onAbort = () => {
      abortReasons.set(job, context.signal.reason);
      gate.reject(context.signal.reason);
    };
    context.signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await gate.promise;
    } finally {
      context.signal.removeEventListener("abort", onAbort);
      running.delete(job);
    }
  };
  return {
    work,
    started,
    running,
    abortReasons,
    workerIds,
    release: (job) => gates.get(job)?.resolve(job),
    fail: (job, error) => gates.get(job)?.reject(error),
    releaseAll: () => {
      for (const job of [...running]) gates.get(job)?.resolve(job);
    },
  };
}

/**
 * Releases gated jobs until none runs and none waits, letting the pool hand
 * out the next ones in between.
 */
export async function releaseUntilDone<I>(
  gate: GatedWork<I>,
  pool: { stats(): { queued: number } },
): Promise<void> {
  while (gate.running.size > 0 || pool.stats().queued > 0) {
    gate.releaseAll();
    await turns(1);
  }
}
