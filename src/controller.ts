/**
 * The controller: the one place that starts and retires workers, hands
 * them jobs, and ends the pool. It gathers a snapshot, asks the pure policy
 * in `scale_policy.ts`, and applies the answer; workers only run jobs and
 * report back.
 *
 * Everything here runs on one thread, and every change of a worker's state
 * happens inside the controller's own methods, so a retire can never race
 * with a worker taking a job: only idle workers are retired, and a worker
 * is idle exactly while it sits in `#idle`.
 * @module
 */

import { Deque } from "./deque.ts";
import { FanIn } from "./fan_in.ts";
import { Intake } from "./intake.ts";
import { RunningJobContext } from "./job_context.ts";
import type { ResolvedOptions } from "./options.ts";
import type { PoolStats } from "./pool_stats.ts";
import { ScaleEvent, type ScaleReason } from "./scale_event.ts";
import {
  idleCheckIntervalMs,
  outputRoom,
  planRetirement,
  type PoolSnapshot,
  type ScaleLimits,
  workersToStart,
} from "./scale_policy.ts";
import type { Work } from "./work.ts";

/**
 * How the pool ended. Every ending goes through `#shutdown`, and the first
 * one wins:
 * - `"end"`: the writable closed and every job finished.
 * - `"abort"`: the pool's own signal aborted; the output closes.
 * - `"error"`: a job failed; the output errors with its error.
 * - `"input-abort"`: the writable was aborted; the output errors with the
 *   abort reason, as a `TransformStream`'s would.
 * - `"cancel"`: the reader cancelled the output.
 */
type Ending = "end" | "abort" | "error" | "input-abort" | "cancel";

interface PoolWorker<I> {
  readonly id: number;
  // The job running now and its input number; context is undefined while
  // the worker is idle.
  job: I | undefined;
  seq: number;
  context: RunningJobContext | undefined;
  // When an idle check first saw this worker idle; undefined until then.
  // Reading a clock on every job costs more than a no-op job, so idle time
  // is sampled by the idle checks instead: this is a lower bound on when
  // the worker went idle, and a worker is never retired early.
  idleSeenAtMs: number | undefined;
  // Bound once per worker: one job runs at a time, so a job's settlement
  // needs no closure of its own.
  readonly onFulfilled: (value: unknown) => void;
  readonly onRejected: (reason: unknown) => void;
}

/** Runs one pool: its intake, its workers, its output and its ending. */
export class Controller<I, O> {
  readonly readable: ReadableStream<O>;
  readonly writable: WritableStream<I>;
  readonly closed: Promise<void>;

  #work: Work<I, O>;
  #limits: ScaleLimits;
  #signal: AbortSignal | undefined;
  #dispatchEvent: (event: ScaleEvent) => void;
  #intake: Intake<I>;
  #fanIn: FanIn<O>;
  #writableController!: WritableStreamDefaultController;

  #workers = new Set<PoolWorker<I>>();
  // Idle workers, longest idle at the front. New jobs go to the back (the
  // most recently busy), so surplus workers age at the front and retire.
  #idle = new Deque<PoolWorker<I>>();
  #busy = 0;
  #nextWorkerId = 1;
  #peakWorkers = 0;
  #scaleUps = 0;
  #scaleDowns = 0;

  // The single idle-check timer; armed only while a surplus worker idles.
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  // Re-entrant pumps (a synchronous job finishing inside the dispatch
  // loop, a pull during an enqueue) fold into the running one.
  #pumping = false;
  #pumpAgain = false;
  // The readable side's pull, left pending while no job waits for room.
  #parkedPull: Settlers | undefined;

  #closeRequest: Settlers | undefined;
  #ending: Ending | undefined;
  #reason: unknown;
  #resolveClosed!: () => void;
  // Events wait here until the "start" event is out, so that listeners
  // added right after construction see every event, in order.
  #pendingEvents: ScaleEvent[] | undefined = [];

  constructor(
    work: Work<I, O>,
    options: ResolvedOptions,
    dispatchEvent: (event: ScaleEvent) => void,
  ) {
    this.#work = work;
    this.#limits = {
      minWorkers: options.minWorkers,
      maxWorkers: options.maxWorkers,
      idleTimeoutMs: options.idleTimeoutMs,
    };
    this.#signal = options.signal;
    this.#dispatchEvent = dispatchEvent;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#intake = new Intake(options.highWaterMark);
    this.#fanIn = new FanIn<O>(options.ordered, options.maxWorkers, {
      pull: () => this.#onPull(),
      cancel: (reason) => this.#shutdown("cancel", reason),
    });
    this.readable = this.#fanIn.readable;
    // The writable's own queue holds one chunk, the one being written: the
    // intake is the real buffer, so the pair adds no stream hop of its own.
    this.writable = new WritableStream<I>({
      start: (controller) => {
        this.#writableController = controller;
      },
      write: (job) => this.#accept(job),
      close: () => this.#requestClose(),
      abort: (reason) => this.#shutdown("input-abort", reason),
    }, { highWaterMark: 1 });
    queueMicrotask(() => this.#flushPendingEvents());

    const signal = this.#signal;
    if (signal?.aborted) {
      this.#shutdown("abort", signal.reason);
      return;
    }
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#startWorkers(this.#limits.minWorkers, "start");
  }

  /** A fresh snapshot of the pool's numbers. */
  stats(): PoolStats {
    return {
      workers: this.#workers.size,
      busy: this.#busy,
      queued: this.#intake.length,
      completed: this.#fanIn.delivered,
      peakWorkers: this.#peakWorkers,
      scaleUps: this.#scaleUps,
      scaleDowns: this.#scaleDowns,
    };
  }

  #onAbort = (): void => {
    this.#shutdown("abort", this.#signal?.reason);
  };

  /**
   * The readable side wants more. The pool only needs that news while
   * jobs wait for output room; otherwise the pull is parked (left pending)
   * so the stream stops calling it on every enqueue.
   */
  #onPull(): Promise<void> | undefined {
    this.#pump();
    if (this.#ending !== undefined || this.#isWaitingForRoom()) {
      return undefined;
    }
    this.#parkedPull ??= settlers();
    return this.#parkedPull.promise;
  }

  #isWaitingForRoom(): boolean {
    return this.#intake.length > 0 && outputRoom(this.#snapshot()) <= 0;
  }

  #unparkPull(): void {
    const parked = this.#parkedPull;
    this.#parkedPull = undefined;
    parked?.resolve();
  }

  #accept(job: I): Promise<void> | undefined {
    this.#intake.accept(job);
    this.#pump();
    return this.#intake.backpressure();
  }

  #requestClose(): Promise<void> {
    const request = settlers();
    this.#closeRequest = request;
    this.#pump();
    return request.promise;
  }

  /**
   * Hands queued jobs to idle workers, starts workers the policy asks for,
   * and repeats until nothing changes; then arms the idle timer or ends
   * the pool if the work is done.
   */
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        if (this.#ending !== undefined) return;
        if (this.#intake.length > 0) {
          this.#dispatch();
          // A job that failed synchronously may have ended the pool.
          if (this.#ending !== undefined) return;
        }
        // The policy starts workers only for waiting jobs or a missing
        // minimum; most pumps have neither, and skip the snapshot.
        if (
          this.#intake.length > 0 ||
          this.#workers.size < this.#limits.minWorkers
        ) {
          const start = workersToStart(this.#snapshot(), this.#limits);
          if (start > 0) this.#startWorkers(start, "pressure");
        }
      } while (this.#pumpAgain);
      this.#afterPump();
    } finally {
      this.#pumping = false;
    }
  }

  #dispatch(): void {
    while (
      this.#intake.length > 0 && this.#idle.length > 0 &&
      outputRoom(this.#snapshot()) > 0
    ) {
      const worker = this.#idle.pop() as PoolWorker<I>;
      worker.seq = this.#intake.nextSeq;
      this.#run(worker, this.#intake.take());
    }
  }

  #afterPump(): void {
    if (
      this.#closeRequest !== undefined && this.#intake.length === 0 &&
      this.#busy === 0 && this.#fanIn.held === 0
    ) {
      this.#shutdown("end", undefined);
      return;
    }
    if (this.#parkedPull !== undefined && this.#isWaitingForRoom()) {
      this.#unparkPull();
    }
    if (
      this.#idleTimer === undefined && this.#idle.length > 0 &&
      this.#workers.size > this.#limits.minWorkers
    ) {
      this.#armIdleTimer(idleCheckIntervalMs(this.#limits));
    }
  }

  // One snapshot object, refreshed in place: the pump reads it several
  // times per job, and the policy never keeps it.
  #snapshotView: MutableSnapshot = {
    alive: 0,
    idle: 0,
    busy: 0,
    queued: 0,
    heldForOrder: 0,
    outputDesiredSize: 0,
  };

  #snapshot(): PoolSnapshot {
    const view = this.#snapshotView;
    view.alive = this.#workers.size;
    view.idle = this.#idle.length;
    view.busy = this.#busy;
    view.queued = this.#intake.length;
    view.heldForOrder = this.#fanIn.held;
    view.outputDesiredSize = this.#fanIn.desiredSize;
    return view;
  }

  #run(worker: PoolWorker<I>, job: I): void {
    const context = new RunningJobContext(worker.id);
    worker.job = job;
    worker.context = context;
    this.#busy++;
    let result: O | PromiseLike<O>;
    try {
      result = this.#work(job, context);
      if (!isPromiseLike(result)) {
        this.#onJobDone(worker, result);
        return;
      }
    } catch (error) {
      this.#onJobFailed(worker, error);
      return;
    }
    // A native promise settles once; any other thenable is adopted by one
    // first, so a misbehaving thenable cannot deliver a result twice.
    const promise = result instanceof Promise
      ? result
      : Promise.resolve(result);
    promise.then(worker.onFulfilled, worker.onRejected);
  }

  #onJobDone(worker: PoolWorker<I>, value: O): void {
    const seq = worker.seq;
    this.#finishJob(worker);
    if (this.#ending !== undefined) {
      this.#exitWorker(worker);
      return;
    }
    // Idle before delivering: the enqueue may pull, and a pump from there
    // must see every worker either idle or busy.
    this.#makeIdle(worker);
    this.#fanIn.deliver(seq, value);
    this.#pump();
  }

  #onJobFailed(worker: PoolWorker<I>, error: unknown): void {
    this.#finishJob(worker);
    if (this.#ending !== undefined) {
      this.#exitWorker(worker);
      return;
    }
    // Idle now, so the shutdown retires it with the other idle workers.
    this.#makeIdle(worker);
    this.#shutdown("error", error);
  }

  #finishJob(worker: PoolWorker<I>): void {
    worker.job = undefined;
    worker.context = undefined;
    this.#busy--;
  }

  #makeIdle(worker: PoolWorker<I>): void {
    worker.idleSeenAtMs = undefined;
    this.#idle.push(worker);
  }

  #startWorkers(count: number, reason: ScaleReason): void {
    if (count === 0) return;
    const from = this.#workers.size;
    for (let i = 0; i < count; i++) {
      const worker: PoolWorker<I> = {
        id: this.#nextWorkerId++,
        job: undefined,
        seq: -1,
        context: undefined,
        idleSeenAtMs: undefined,
        onFulfilled: (value) => this.#onJobDone(worker, value as O),
        onRejected: (reason) => this.#onJobFailed(worker, reason),
      };
      this.#workers.add(worker);
      this.#idle.push(worker);
    }
    if (reason === "pressure") this.#scaleUps += count;
    this.#peakWorkers = Math.max(this.#peakWorkers, this.#workers.size);
    this.#emit(from, this.#workers.size, reason);
    // New workers are idle: let the pump loop hand them jobs.
    this.#pumpAgain = true;
  }

  #armIdleTimer(delayMs: number): void {
    this.#idleTimer = setTimeout(this.#onIdleTimer, Math.max(0, delayMs));
  }

  /**
   * Samples how long each idle worker has idled, retires those the policy
   * names, and checks again while surplus workers idle.
   */

  #onIdleTimer = (): void => {
    this.#idleTimer = undefined;
    if (this.#ending !== undefined) return;
    const now = performance.now();
    // Front to back, workers went idle in order, and every check stamps
    // all the unstamped ones: the durations come out longest first.
    const idleForMs: number[] = [];
    for (let i = 0; i < this.#idle.length; i++) {
      const worker = this.#idle.at(i) as PoolWorker<I>;
      worker.idleSeenAtMs ??= now;
      idleForMs.push(now - worker.idleSeenAtMs);
    }
    const plan = planRetirement(idleForMs, this.#workers.size, this.#limits);
    this.#retireIdle(plan.retire, "idle");
    if (plan.recheckInMs !== undefined) this.#armIdleTimer(plan.recheckInMs);
  };

  /** Retires the `count` longest-idle workers. */
  #retireIdle(count: number, reason: ScaleReason): void {
    if (count === 0) return;
    const from = this.#workers.size;
    for (let i = 0; i < count; i++) {
      this.#workers.delete(this.#idle.shift() as PoolWorker<I>);
    }
    if (reason === "idle") this.#scaleDowns += count;
    this.#emit(from, this.#workers.size, reason);
  }

  /** A busy worker whose job settled after shutdown began leaves. */
  #exitWorker(worker: PoolWorker<I>): void {
    const from = this.#workers.size;
    this.#workers.delete(worker);
    this.#emit(from, this.#workers.size, "shutdown");
    if (this.#workers.size === 0) this.#finish();
  }

  /**
   * The one way the pool ends. It stops intake, drops queued jobs and
   * held results, aborts running jobs, clears the timer, removes the
   * signal listener and retires idle workers; once the last busy worker
   * has left, `#finish` ends the output and resolves `closed`. The first
   * ending wins; later calls just return `closed`.
   */
  #shutdown(ending: Ending, reason: unknown): Promise<void> {
    if (this.#ending !== undefined) return this.closed;
    this.#ending = ending;
    this.#reason = reason;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#unparkPull();
    // An identity TransformStream errors its writable side when its
    // readable side is cancelled, which is what cancels the upstream pipe;
    // the pair does the same for every ending but a normal one.
    if (ending !== "end" && ending !== "input-abort") {
      this.#writableController.error(reason);
    }
    this.#intake.drain();
    this.#intake.release();
    this.#fanIn.dropHeld();
    for (const worker of this.#workers) {
      if (worker.context !== undefined) {
        RunningJobContext.abort(worker.context, reason);
      }
    }
    this.#retireIdle(this.#idle.length, "shutdown");
    if (this.#workers.size === 0) this.#finish();
    return this.closed;
  }

  /** Ends the output the way the ending asks, then resolves `closed`. */
  #finish(): void {
    const reason = this.#reason;
    switch (this.#ending) {
      case "end":
      case "abort":
        this.#fanIn.close();
        break;
      case "error":
      case "input-abort":
        this.#fanIn.error(reason);
        break;
      case "cancel":
        break;
    }
    if (this.#ending === "end") this.#closeRequest?.resolve();
    else this.#closeRequest?.reject(reason);
    this.#resolveClosed();
  }

  #emit(from: number, to: number, reason: ScaleReason): void {
    const event = new ScaleEvent("scale", { from, to, reason });
    if (this.#pendingEvents !== undefined) this.#pendingEvents.push(event);
    else this.#dispatchEvent(event);
  }

  #flushPendingEvents(): void {
    const events = this.#pendingEvents ?? [];
    this.#pendingEvents = undefined;
    for (const event of events) this.#dispatchEvent(event);
  }
}

type MutableSnapshot = { -readonly [K in keyof PoolSnapshot]: PoolSnapshot[K] };

interface Settlers {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
}

function settlers(): Settlers {
  let resolve!: () => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<void>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  return { promise, resolve, reject };
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null && typeof (value as PromiseLike<T>).then === "function";
}
