/**
 * The threads a pool runs a module's jobs in, and how its workers share
 * them. Each of the pool's workers holds a lease on the group, which is its
 * per-worker resource: the controller scales workers as always, and the
 * group keeps as many threads as they need.
 *
 * With `jobsPerThread` at 1, a thread per worker. Above it, a thread per
 * worker up to `maxWorkers / jobsPerThread` threads (parallelism first),
 * and beyond that the workers share them, up to `jobsPerThread` on each.
 * Each job goes to the least loaded thread when it runs, not to a thread
 * fixed by its worker, so that two jobs never share a thread while another
 * sits idle.
 * @module
 */

import type { RunningJobContext } from "./job_context.ts";
import { WorkerThread } from "./worker_thread.ts";

/**
 * How many threads `workers` workers need: one each up to `spread`
 * threads, and beyond that enough for none to hold more than
 * `jobsPerThread` workers. Never more threads than workers.
 */
export function threadsWanted(
  workers: number,
  jobsPerThread: number,
  spread: number,
): number {
  return Math.max(
    Math.min(workers, spread),
    Math.ceil(workers / jobsPerThread),
  );
}

/** One worker's share of a {@linkcode ThreadGroup}: its resource. */
export class ThreadLease {
  readonly #group: ThreadGroup;
  readonly #workerId: number;
  /** Where this worker's latest job went, to find it if it is given up. */
  #thread: WorkerThread | undefined;
  #context: RunningJobContext | undefined;

  constructor(group: ThreadGroup, workerId: number) {
    this.#group = group;
    this.#workerId = workerId;
  }

  /** Runs one job of this worker's in the group's least loaded thread. */
  run(
    job: unknown,
    context: RunningJobContext,
    transfer: Transferable[] | undefined,
  ): Promise<unknown> {
    const thread = this.#group.pick();
    this.#thread = thread;
    this.#context = context;
    return thread.run(job, context, this.#workerId, transfer);
  }

  /**
   * The thread that still runs this worker's latest job, if one does. The
   * pool lets a worker go with its job unsettled only when it gave the job
   * up at its timeout.
   */
  get abandonedIn(): WorkerThread | undefined {
    const thread = this.#thread;
    const context = this.#context;
    return context !== undefined && thread?.holds(context) ? thread : undefined;
  }
}

/** Where a group's threads start from and what they load. */
export interface ThreadGroupOptions {
  /** The user's module, whose default export runs each job. */
  readonly moduleUrl: string;
  /** The thread host module; the built-in blob if undefined. */
  readonly hostUrl: string | undefined;
  /** How many workers may share a thread. */
  readonly jobsPerThread: number;
  /** How many threads to run before any is shared. */
  readonly spread: number;
}

/** The threads that run a module's jobs for one pool. */
export class ThreadGroup {
  readonly #moduleUrl: string;
  readonly #hostUrl: string | undefined;
  readonly #jobsPerThread: number;
  readonly #spread: number;
  readonly #threads: WorkerThread[] = [];
  #workers = 0;

  constructor(options: ThreadGroupOptions) {
    this.#moduleUrl = options.moduleUrl;
    this.#hostUrl = options.hostUrl;
    this.#jobsPerThread = options.jobsPerThread;
    this.#spread = options.spread;
  }

  /** Threads running or starting; not the dead ones waiting for a job. */
  get alive(): number {
    let alive = 0;
    for (const thread of this.#threads) if (!thread.dead) alive++;
    return alive;
  }

  /**
   * Gives a starting worker its lease, once the thread it adds, if it adds
   * one, has loaded the module: a starting thread is capacity on its way.
   */
  join(workerId: number): ThreadLease | Promise<ThreadLease> {
    this.#workers++;
    const lease = new ThreadLease(this, workerId);
    if (this.#threads.length >= this.#wanted()) return lease;
    let thread: WorkerThread;
    try {
      thread = this.#add();
    } catch (error) {
      // A runtime may refuse the thread outright (a bad host URL, say).
      this.#workers--;
      throw error;
    }
    return thread.started.then(() => lease, (error) => {
      // The pool fails; this worker leaves without a teardown.
      this.#workers--;
      this.#remove(thread);
      throw error;
    });
  }

  /**
   * Lets a leaving worker go. A job it gave up may still run: its thread
   * is terminated, since nothing else would stop it, and the other jobs
   * there fail as they would if the thread died.
   */
  leave(lease: ThreadLease): void {
    this.#workers--;
    lease.abandonedIn?.terminate(
      "The worker thread was terminated: a job in it timed out",
    );
    this.#trim();
  }

  /**
   * The thread for the next job: the least loaded live one, unless every
   * live one is full and a dead one can restart.
   */
  pick(): WorkerThread {
    let best: WorkerThread | undefined;
    let dead: WorkerThread | undefined;
    for (const thread of this.#threads) {
      if (thread.dead) dead ??= thread;
      else if (best === undefined || thread.load < best.load) best = thread;
    }
    if (best === undefined || (best.load >= this.#jobsPerThread && dead)) {
      // None at all only while a failed start ends the pool.
      return dead ?? best ?? this.#add();
    }
    return best;
  }

  #add(): WorkerThread {
    const thread = new WorkerThread(
      this.#moduleUrl,
      this.#hostUrl,
      () => this.#onIdle(),
    );
    this.#threads.push(thread);
    return thread;
  }

  #wanted(): number {
    return threadsWanted(this.#workers, this.#jobsPerThread, this.#spread);
  }

  /** Ends threads beyond what the workers need: dead ones, then idle ones. */
  #trim(): void {
    let extra = this.#threads.length - this.#wanted();
    for (let i = this.#threads.length - 1; i >= 0 && extra > 0; i--) {
      if (this.#threads[i].dead) {
        this.#threads.splice(i, 1);
        extra--;
      }
    }
    for (let i = this.#threads.length - 1; i >= 0 && extra > 0; i--) {
      const thread = this.#threads[i];
      // A thread starting with no job is one a joining worker waits for.
      if (thread.load === 0 && !thread.starting) {
        this.#remove(thread);
        extra--;
      }
    }
    // Any left are busy with other workers' jobs, or starting: each goes
    // when it idles.
  }

  #onIdle(): void {
    if (this.#threads.length > this.#wanted()) this.#trim();
  }

  #remove(thread: WorkerThread): void {
    thread.terminate();
    const index = this.#threads.indexOf(thread);
    // A thread that failed to start may have been trimmed already.
    if (index !== -1) this.#threads.splice(index, 1);
  }
}
