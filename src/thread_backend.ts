/**
 * The thread backend: a module URL where the work function would go runs
 * each job in a worker thread. It is built from the pool's own parts, so
 * the controller and every guarantee stay the same: a thread is a
 * per-worker resource whose setup starts it (a starting thread counts as
 * capacity on its way), whose teardown terminates it (idle threads retire
 * after `idleTimeout`, and none survive the pool), and the work function
 * hands the job to the worker's thread and awaits its reply.
 * @module
 */

import {
  type AutoScaleOptions,
  checkFunction,
  checkOptionsObject,
  describe,
} from "./options.ts";
import { RunningJobContext } from "./job_context.ts";
import type { Work } from "./work.ts";
import { threadHostUrl } from "./thread_host.ts";

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type ThreadMessage =
  | { type: "ready" }
  | { type: "init-failed"; error: unknown }
  | { type: "done"; id: number; value: unknown }
  | { type: "failed"; id: number; error: unknown }
  | { type: "closing" };

/**
 * One worker thread running the user's module. If it dies (an uncaught
 * error, `self.close()`), the jobs it held fail with an error that says so,
 * and the next job starts a fresh thread.
 */
export class WorkerThread {
  #moduleUrl: string;
  #workerId: number;
  #worker: Worker | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #starting: Pending | undefined;

  private constructor(moduleUrl: string, workerId: number) {
    this.#moduleUrl = moduleUrl;
    this.#workerId = workerId;
  }

  /**
   * Starts a thread for the pool's worker `workerId` and resolves once the
   * module has loaded in it.
   */
  static async start(
    moduleUrl: string,
    workerId: number,
  ): Promise<WorkerThread> {
    const thread = new WorkerThread(moduleUrl, workerId);
    await thread.#spawn();
    return thread;
  }

  /**
   * Runs one job in the thread; an abort of its context reaches the job
   * there.
   *
   * Kept lean on purpose: for tiny jobs this is most of what the pool adds
   * to the message round trip, so it makes no promise of its own beyond
   * the one it returns, no signal, and no message but the job.
   *
   * What it cannot cut is the time each message takes to reach a thread
   * that sleeps, which on some machines is most of a tiny job's round trip
   * and varies from run to run. Two ways around it were measured and did
   * not pay: parking an idle thread in `Atomics.wait` and reading its
   * next job with `receiveMessageOnPort` (tinypool's and piscina's fast
   * path: a sixth faster at best under Bun, still far behind tinypool,
   * which runs as fast without it; slower under Deno), and reading the
   * other threads' results as soon as one arrives (no change). What does
   * help is fewer round trips: a thread that holds its next job while it
   * runs the current one (two in flight per thread ran 2.4 times as fast
   * under Bun), which this backend, one thread per worker, does not do;
   * until it does, batching inputs into one job is the user's lever.
   */
  run(
    job: unknown,
    context: RunningJobContext,
    transfer: Transferable[] | undefined,
  ): Promise<unknown> {
    const worker = this.#worker;
    if (worker === undefined) {
      return this.#spawn().then(() => this.run(job, context, transfer));
    }
    const id = this.#nextId++;
    const promise = new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    const message = { type: "run", id, job, attempt: context.attempt };
    if (transfer === undefined || transfer.length === 0) {
      worker.postMessage(message);
    } else worker.postMessage(message, transfer);
    RunningJobContext.onAbort(context, (reason) => {
      // The job may have settled already; the thread ignores stale ids.
      this.#worker?.postMessage({ type: "abort", id, reason: encode(reason) });
    });
    return promise;
  }

  /** Ends the thread at once, whatever it is doing. */
  terminate(): void {
    this.#die(new Error("The worker thread was terminated"));
  }

  #spawn(): Promise<void> {
    const worker = new Worker(threadHostUrl(), { type: "module" });
    this.#worker = worker;
    worker.addEventListener("message", (event: MessageEvent) => {
      this.#onMessage(event.data as ThreadMessage);
    });
    worker.addEventListener("error", (event: ErrorEvent) => {
      // Handled here: unhandled, it would end the whole process.
      event.preventDefault();
      // A browser that refuses to start the thread says nothing more; the
      // usual cause is a Content-Security-Policy without blob: workers.
      const detail = event.message ||
        "no details (a Content-Security-Policy must allow blob: in worker-src)";
      this.#die(new Error(`The worker thread died: ${detail}`));
    });
    // Bun fires this when a thread ends; one that ends unasked died.
    worker.addEventListener("close", () => {
      if (this.#worker === worker) {
        this.#die(new Error("The worker thread exited"));
      }
    });
    worker.addEventListener("messageerror", () => {
      this.#die(
        new Error("The worker thread sent a message that could not be read"),
      );
    });
    return new Promise((resolve, reject) => {
      this.#starting = { resolve, reject };
      worker.postMessage({
        type: "init",
        url: this.#moduleUrl,
        workerId: this.#workerId,
      });
    });
  }

  #onMessage(message: ThreadMessage): void {
    switch (message.type) {
      case "ready":
        this.#starting?.resolve(undefined);
        this.#starting = undefined;
        return;
      case "init-failed":
        this.#die(
          new Error(`Cannot load the module ${this.#moduleUrl} in a worker`, {
            cause: decode(message.error),
          }),
        );
        return;
      case "done":
        this.#settled(message.id)?.resolve(message.value);
        return;
      case "failed":
        this.#settled(message.id)?.reject(decode(message.error));
        return;
      case "closing":
        this.#die(new Error("The worker thread closed itself"));
        return;
    }
  }

  /** Takes the job `id` out of the pending ones, if it is still there. */
  #settled(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    return pending;
  }

  /** Terminates the thread and fails whatever waited on it. */
  #die(error: Error): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#starting?.reject(error);
    this.#starting = undefined;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}

/** The work, setup and teardown that run a module's jobs in threads. */
export interface ThreadBackend<I, O> {
  readonly work: Work<I, O, WorkerThread>;
  readonly setup: (workerId: number) => Promise<WorkerThread>;
  readonly teardown: (thread: WorkerThread) => void;
}

/**
 * Runs the default export of the module at `moduleUrl` in worker threads.
 *
 * @param transfer Lists what to transfer with each job instead of copying.
 */
export function threadBackend<I, O>(
  moduleUrl: string,
  transfer: ((job: I) => Transferable[]) | undefined,
): ThreadBackend<I, O> {
  return {
    work: (job, context) =>
      // The controller makes every context a pool job sees.
      context.resource.run(
        job,
        context as RunningJobContext,
        transfer?.(job),
      ) as Promise<O>,
    setup: (workerId) => WorkerThread.start(moduleUrl, workerId),
    teardown: (thread) => thread.terminate(),
  };
}

/**
 * The work function and options a pool runs with: `work` itself, or, for a
 * module URL, the thread backend's.
 *
 * @throws {TypeError} `work` is neither a function nor an absolute URL, or
 * options conflict with the backend.
 */
export function chooseBackend<I, O, R>(
  action: string,
  work: Work<I, O, R> | URL | string,
  options: AutoScaleOptions<I, R> | undefined,
): { work: Work<I, O, unknown>; options: AutoScaleOptions<I, unknown> } {
  options = checkOptionsObject(action, options);
  if (typeof work !== "string" && !(work instanceof URL)) {
    checkFunction(action, "work", work);
    if (options?.transfer !== undefined) {
      throw new TypeError(
        `${action}: "transfer" needs a module URL as "work", received ${
          describe(work)
        }`,
      );
    }
    return {
      work: work as Work<I, O, unknown>,
      options: options as AutoScaleOptions<I, unknown>,
    };
  }
  const moduleUrl = absoluteUrl(action, work);
  for (const name of ["setup", "teardown"] as const) {
    if (options?.[name] !== undefined) {
      throw new TypeError(
        `${action}: "${name}" runs in the calling thread and cannot serve a module URL; set up resources in the module instead, received ${
          describe(options[name])
        }`,
      );
    }
  }
  if (options?.transfer !== undefined) {
    checkFunction(action, "transfer", options.transfer);
  }
  const backend = threadBackend<I, O>(moduleUrl, options?.transfer);
  const minWorkers = options?.minWorkers;
  const threads = typeof navigator === "object"
    ? navigator.hardwareConcurrency
    : undefined;
  return {
    work: backend.work as Work<I, O, unknown>,
    options: {
      ...options,
      // One thread per core by default, or the minimum if that is more.
      maxWorkers: options?.maxWorkers ??
        (typeof minWorkers === "number"
          ? Math.max(threads ?? 4, minWorkers)
          : threads ?? 4),
      setup: backend.setup,
      teardown: backend.teardown as (thread: unknown) => void,
    },
  };
}

/**
 * Checks that `work` is a function or an absolute module URL.
 *
 * @throws {TypeError} It is neither.
 */
export function checkWork(action: string, work: unknown): void {
  if (typeof work === "string" || work instanceof URL) {
    absoluteUrl(action, work);
  } else checkFunction(action, "work", work);
}

/**
 * A module URL, which must be absolute: a relative one would resolve
 * against this package, not against the caller.
 */
function absoluteUrl(action: string, work: URL | string): string {
  if (work instanceof URL) return work.href;
  try {
    return new URL(work).href;
  } catch {
    throw new TypeError(
      `${action}: "work" must be a function or an absolute module URL, received ${
        describe(work)
      }`,
    );
  }
}

// The thread's own copies of these live in `thread_host.ts`, which must be
// self-contained: errors cross threads as plain records.
function encode(reason: unknown): unknown {
  if (!(reason instanceof Error)) return reason;
  return {
    thrownError: true,
    name: reason.name,
    message: reason.message,
    stack: reason.stack,
  };
}

function decode(error: unknown): unknown {
  const record = error as
    | { thrownError?: boolean; name: string; message: string; stack?: string }
    | null;
  if (typeof record !== "object" || record === null || !record.thrownError) {
    return error;
  }
  const decoded = record.name === "TimeoutError" || record.name === "AbortError"
    ? new DOMException(record.message, record.name)
    : Object.assign(new Error(record.message), { name: record.name });
  if (record.stack !== undefined) {
    Object.defineProperty(decoded, "stack", { value: record.stack });
  }
  return decoded;
}
