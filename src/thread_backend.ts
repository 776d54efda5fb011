/**
 * The thread backend: a module URL where the work function would go runs
 * each job in a worker thread. It is built from the pool's own parts, so
 * the controller and every guarantee stay the same: each worker's resource
 * is its lease on the pool's threads, whose setup may start a thread (a
 * starting thread counts as capacity on its way) and whose teardown may
 * end one (idle threads retire after `idleTimeout`, and none survive the
 * pool), and the work function hands the job to a thread and awaits its
 * reply.
 *
 * A tiny job costs about one message round trip, most of it the time a
 * message takes to reach a thread that sleeps. Two ways to cut that were
 * measured and did not pay: parking an idle thread in `Atomics.wait` and
 * reading its next job with `receiveMessageOnPort` (tinypool's and
 * piscina's fast path: a sixth faster at best under Bun, where tinypool
 * runs as fast without it; slower under Deno), and reading the other
 * threads' results as soon as one arrives (no change). What pays is fewer
 * round trips: `jobsPerThread` above 1, so that a thread has its next job
 * at hand when it finishes one, or batching inputs into one job.
 * @module
 */

import {
  type AutoScaleOptions,
  checkFunction,
  checkOptionsObject,
  describe,
  optionalCount,
} from "./options.ts";
import type { RunningJobContext } from "./job_context.ts";
import type { Work } from "./work.ts";
import {
  ThreadGroup,
  type ThreadGroupOptions,
  type ThreadLease,
} from "./thread_group.ts";

/** The work, setup and teardown that run a module's jobs in threads. */
export interface ThreadBackend<I, O> {
  readonly work: Work<I, O, ThreadLease>;
  readonly setup: (workerId: number) => ThreadLease | Promise<ThreadLease>;
  readonly teardown: (lease: ThreadLease) => void;
  /** Threads running or starting now. */
  readonly threads: () => number;
}

/** What a pool runs with: its work, its options, and its threads if any. */
export interface Backend<I, O> {
  readonly work: Work<I, O, unknown>;
  readonly options: AutoScaleOptions<I, unknown>;
  /** Threads running or starting now; undefined for a function. */
  readonly threads: (() => number) | undefined;
}

/**
 * Runs the default export of the module at `group.moduleUrl` in worker
 * threads.
 *
 * @param transfer Lists what to transfer with each job instead of copying.
 */
export function threadBackend<I, O>(
  group: ThreadGroupOptions,
  transfer: ((job: I) => Transferable[]) | undefined,
): ThreadBackend<I, O> {
  const threads = new ThreadGroup(group);
  return {
    work: (job, context) =>
      // The controller makes every context a pool job sees.
      context.resource.run(
        job,
        context as RunningJobContext,
        transfer?.(job),
      ) as Promise<O>,
    setup: (workerId) => threads.join(workerId),
    teardown: (lease) => threads.leave(lease),
    threads: () => threads.alive,
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
): Backend<I, O> {
  options = checkOptionsObject(action, options);
  if (typeof work !== "string" && !(work instanceof URL)) {
    checkFunction(action, "work", work);
    for (const name of ["transfer", "jobsPerThread", "threadHost"] as const) {
      if (options?.[name] !== undefined) {
        throw new TypeError(
          `${action}: "${name}" needs a module URL as "work", received ${
            describe(work)
          }`,
        );
      }
    }
    return {
      work: work as Work<I, O, unknown>,
      options: options as AutoScaleOptions<I, unknown>,
      threads: undefined,
    };
  }
  const moduleUrl = absoluteUrl(action, "work", work);
  if (typeof Worker !== "function") {
    throw new TypeError(
      `${action}: "work" is a module URL, to run in Web Worker threads, and this runtime has no global Worker (Node.js has none); pass a work function instead, received ${moduleUrl}`,
    );
  }
  const hostUrl = options?.threadHost === undefined
    ? undefined
    : absoluteUrl(action, "threadHost", options.threadHost);
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
  const jobsPerThread =
    optionalCount(action, "jobsPerThread", options?.jobsPerThread, 1) ?? 1;
  const cores = typeof navigator === "object" &&
      typeof navigator.hardwareConcurrency === "number"
    ? navigator.hardwareConcurrency
    : 4;
  const minWorkers = options?.minWorkers;
  // A thread per core by default, each with its share of workers; or the
  // minimum, if that is more. A bad value is refused later, with the rest.
  const maxWorkers = options?.maxWorkers ??
    (typeof minWorkers === "number"
      ? Math.max(cores * jobsPerThread, minWorkers)
      : cores * jobsPerThread);
  const backend = threadBackend<I, O>({
    moduleUrl,
    hostUrl,
    jobsPerThread,
    spread: Math.ceil(maxWorkers / jobsPerThread),
  }, options?.transfer);
  return {
    work: backend.work as Work<I, O, unknown>,
    threads: backend.threads,
    options: {
      ...options,
      maxWorkers,
      setup: backend.setup,
      teardown: backend.teardown as (lease: unknown) => void,
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
    absoluteUrl(action, "work", work);
  } else checkFunction(action, "work", work);
}

/**
 * A module URL, which must be absolute: a relative one would resolve
 * against this package, not against the caller.
 *
 * @throws {TypeError} `url` is not a URL or a string that parses as an
 * absolute one.
 */
function absoluteUrl(action: string, name: string, url: unknown): string {
  if (url instanceof URL) return url.href;
  if (typeof url === "string") {
    try {
      return new URL(url).href;
    } catch {
      // Refused below, with the rest.
    }
  }
  const expected = name === "work"
    ? "a function or an absolute module URL"
    : "an absolute module URL";
  throw new TypeError(
    `${action}: "${name}" must be ${expected}, received ${describe(url)}`,
  );
}
