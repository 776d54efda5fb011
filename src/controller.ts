/**
 * The controller: the one place that starts and retires workers, hands
 * them jobs, decides what a failure leads to, and ends the pool. It
 * gathers a snapshot, asks the pure policy in `scale_policy.ts`, and
 * applies the answer; workers only run jobs and report back.
 *
 * Everything here runs on one thread, and every change of a worker's state
 * happens inside the controller's own methods, so a retire can never race
 * with a worker taking a job: only idle workers are retired, and a worker
 * is idle exactly while it sits in `#idle`.
 * @module
 */

import type { Clock, TimerHandle } from "./clock.ts";
import { Deque } from "./deque.ts";
import { FanIn, type Undelivered } from "./fan_in.ts";
import { IdleChecks } from "./idle_checks.ts";
import { FifoIntake, type Intake } from "./intake.ts";
import { RunningJobContext } from "./job_context.ts";
import { isPromiseLike } from "./promise_like.ts";
import { JobDeadlines } from "./job_deadlines.ts";
import { KeyedIntake } from "./keyed_intake.ts";
import { describe, type ResolvedOptions } from "./options.ts";
import type { PoolStats } from "./pool_stats.ts";
import {
  type AttemptSettled,
  createPoolWorker,
  type PoolWorker,
} from "./pool_worker.ts";
import { type ResolvedRetry, retryDelayMs, shouldRetry } from "./retry.ts";
import { RetryQueue } from "./retry_queue.ts";
import { ScaleEvent, type ScaleReason } from "./scale_event.ts";
import { WorkerErrorEvent } from "./worker_error_event.ts";
import { WorkerResources } from "./worker_resources.ts";
import {
  mayStartBlocking,
  outputRoom,
  type PoolSnapshot,
  type Ramp,
  rampAllowance,
  type ScaleLimits,
  workersToStart,
} from "./scale_policy.ts";
import type { Work } from "./work.ts";

/**
 * How the pool ended. Every ending goes through `#shutdown`, and the first
 * one wins:
 * - `"end"`: the input closed or drained, and every job finished.
 * - `"abort"`: the pool's own signal aborted; the output closes.
 * - `"deadline"`: a drain ran past its deadline; the output closes.
 * - `"error"`: a job failed for good; the output errors with its error.
 * - `"input-abort"`: the writable was aborted; the output errors with the
 *   abort reason, as a `TransformStream`'s would.
 * - `"cancel"`: the reader cancelled the output.
 */
type Ending = "end" | "abort" | "deadline" | "error" | "input-abort" | "cancel";

/** Runs one pool: its intake, its workers, its output and its ending. */
export class Controller<I, O> {
  readonly readable: ReadableStream<O>;
  readonly writable: WritableStream<I>;
  readonly closed: Promise<void>;

  #work: Work<I, unknown>;
  // Changed in place by resize(); the idle checks read the same object.
  #limits: { -readonly [K in keyof ScaleLimits]: ScaleLimits[K] };
  #highWaterMark: number;
  #retry: ResolvedRetry<I> | undefined;
  #settled: boolean;
  #signal: AbortSignal | undefined;
  #clock: Clock;
  #dispatchEvent: (event: Event) => void;
  #resources: WorkerResources<unknown>;
  #intake: Intake<I>;
  #keyOf: ((job: I) => unknown) | undefined;
  #fanIn: FanIn<I, O>;
  #writableController!: WritableStreamDefaultController;

  #workers = new Set<PoolWorker<I>>();
  // Idle workers, longest idle at the front. New jobs go to the back (the
  // most recently busy), so surplus workers age at the front and retire.
  #idle = new Deque<PoolWorker<I>>();
  #busy = 0;
  #starting = 0;
  #teardownFailures = 0;
  #nextWorkerId = 1;
  #peakWorkers = 0;
  #scaleUps = 0;
  #scaleDowns = 0;
  #retried = 0;
  #timedOut = 0;
  // Jobs whose failure ended the pool; failures delivered as records are
  // counted by the fan-in.
  #failedFatally = 0;

  #ordered: boolean;
  // Ready retries go before new jobs, to finish what was started.
  #retries: RetryQueue<I>;

  #idleChecks: IdleChecks<PoolWorker<I>>;
  // Undefined without a timeout.
  #deadlines: JobDeadlines<PoolWorker<I>> | undefined;
  #settledAttempt: AttemptSettled<I> = {
    fulfilled: (worker, value) => this.#onJobDone(worker, value),
    rejected: (worker, reason) => this.#onJobFailed(worker, reason),
  };
  #drainTimer: TimerHandle | undefined;
  // The scale-up ramp while pressure lasts, and the timer for its next
  // step; both unused without a ramp.
  #ramp: Ramp | undefined;
  #rampTimer: TimerHandle | undefined;
  #drainDeadlineMs = Infinity;
  // Re-entrant pumps (a synchronous job finishing inside the dispatch
  // loop, a pull during an enqueue) fold into the running one.
  #pumping = false;
  #pumpAgain = false;
  // The readable side's pull, left pending while no job waits for room.
  #parkedPull: Settlers | undefined;
  // The writable side's write in progress, held while the intake is full.
  #heldWrite: Settlers | undefined;

  #closeRequest: Settlers | undefined;
  #draining = false;
  #ending: Ending | undefined;
  #reason: unknown;
  #finished = false;
  #unfinished: Undelivered<I>[] = [];
  #resolveClosed!: () => void;
  // Events wait here until the "start" event is out, so that listeners
  // added right after construction see every event, in order.
  #pendingEvents: ScaleEvent[] | undefined = [];
  #countThreads: () => number;

  /**
   * @param countThreads How many worker threads the work runs in now, for
   * `stats()`; none unless told.
   */
  constructor(
    work: Work<I, unknown>,
    options: ResolvedOptions,
    dispatchEvent: (event: Event) => void,
    countThreads: () => number = () => 0,
  ) {
    this.#work = work;
    this.#countThreads = countThreads;
    this.#limits = {
      minWorkers: options.minWorkers,
      maxWorkers: options.maxWorkers,
      idleTimeoutMs: options.idleTimeoutMs,
      rampIntervalMs: options.rampIntervalMs,
      retireStep: options.retireStep,
    };
    this.#highWaterMark = options.highWaterMark;
    // Validated with unknown jobs; called with this pool's.
    this.#keyOf = options.key as ((job: I) => unknown) | undefined;
    this.#intake = this.#keyOf === undefined
      ? new FifoIntake()
      : new KeyedIntake();
    // Validated with unknown jobs; retryIf is called with this pool's.
    this.#retry = options.retry as ResolvedRetry<I> | undefined;
    this.#settled = options.settled;
    this.#signal = options.signal;
    this.#clock = options.clock;
    this.#dispatchEvent = dispatchEvent;
    this.#resources = new WorkerResources(
      { setup: options.setup, teardown: options.teardown },
      (error, workerId) => {
        this.#teardownFailures++;
        this.#dispatchEvent(
          new WorkerErrorEvent("error", { error, workerId }),
        );
      },
      () => this.#maybeFinish(),
    );
    this.#idleChecks = new IdleChecks(
      this.#clock,
      this.#limits,
      this.#idle,
      () => this.#workers.size,
      (count) => this.#retireIdle(count, "idle"),
    );
    if (options.timeoutMs !== undefined) {
      this.#deadlines = new JobDeadlines(
        this.#clock,
        options.timeoutMs,
        () => this.#workers,
        (worker) => this.#giveUp(worker),
      );
    }
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#ordered = options.ordered;
    this.#retries = new RetryQueue(this.#clock, () => this.#pump());
    this.#fanIn = new FanIn<I, O>(options.ordered, options.maxWorkers, {
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
      threads: this.#countThreads(),
      starting: this.#starting,
      busy: this.#busy,
      queued: this.#intake.length,
      runnable: this.#waiting(),
      completed: this.#fanIn.fulfilled,
      peakWorkers: this.#peakWorkers,
      scaleUps: this.#scaleUps,
      scaleDowns: this.#scaleDowns,
      accepted: this.#intake.accepted,
      failed: this.#failedFatally + this.#fanIn.rejected,
      retried: this.#retried,
      timedOut: this.#timedOut,
      retrying: this.#retries.size,
      teardownFailures: this.#teardownFailures,
    };
  }

  /**
   * Stops taking jobs, finishes those accepted, then ends the pool; past
   * `deadlineMs` it aborts what is left instead.
   */
  drain(deadlineMs: number | undefined): Promise<void> {
    if (this.#ending !== undefined) return this.closed;
    if (!this.#draining && this.#closeRequest === undefined) {
      this.#draining = true;
      // Erroring the writable is what makes a pipe cancel its source. A
      // write in progress already put its job in the intake, where it
      // still runs.
      this.#writableController.error(
        new DOMException(
          "The pool is draining: it takes no more jobs",
          "AbortError",
        ),
      );
      this.#releaseWrite();
    }
    this.#draining = true;
    if (deadlineMs !== undefined) this.#armDrainDeadline(deadlineMs);
    this.#pump();
    return this.closed;
  }

  /**
   * Applies new worker bounds. Idle workers above the new maximum retire
   * now, busy ones when their job ends; workers missing from the new
   * minimum start now; waiting jobs get the new room at once.
   */
  resize(minWorkers: number, maxWorkers: number): void {
    if (this.#ending !== undefined) return;
    this.#limits.minWorkers = minWorkers;
    this.#limits.maxWorkers = maxWorkers;
    this.#fanIn.ensureBudget(maxWorkers);
    const surplus = this.#workers.size - maxWorkers;
    if (surplus > 0) {
      this.#retireIdle(Math.min(surplus, this.#idle.length), "resize");
    }
    const missing = minWorkers - this.#workers.size;
    if (missing > 0) this.#startWorkers(missing, "resize");
    this.#pump();
  }

  /** Accepted jobs whose result was not delivered, in input order. */
  unfinished(): I[] {
    if (!this.#finished) {
      throw new Error(
        "Cannot list unfinished jobs: the pool has not closed yet; await closed first",
      );
    }
    return this.#unfinished.map(({ job }) => job);
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
    return this.#waiting() > 0 &&
      outputRoom(this.#snapshot(), this.#limits) <= 0;
  }

  #unparkPull(): void {
    const parked = this.#parkedPull;
    this.#parkedPull = undefined;
    parked?.resolve();
  }

  #accept(job: I): Promise<void> | undefined {
    let key: unknown;
    if (this.#keyOf !== undefined) {
      try {
        key = checkKey(this.#keyOf(job));
      } catch (error) {
        // A key that cannot be computed is a bug in the pool's setup, not
        // a job failure to retry or deliver: it fails the pool.
        this.#intake.acceptFailed();
        this.#failedFatally++;
        this.#shutdown("error", error);
        return undefined;
      }
    }
    // The common case: nothing waits and a worker idles with room to spare.
    // The job goes straight to it, as the pump would send it, minus the
    // queue round trip: nothing else can have changed since the last pump.
    if (
      !this.#pumping && this.#ending === undefined && this.#waiting() === 0 &&
      this.#idle.length > 0 && outputRoom(this.#snapshot(), this.#limits) > 0
    ) {
      const seq = this.#intake.acceptToRun(job, key);
      if (seq >= 0) {
        this.#run(this.#idle.pop() as PoolWorker<I>, job, seq, 1, key);
      }
    } else {
      this.#intake.accept(job, key);
      this.#pump();
    }
    return this.#isIntakeFull() ? this.#holdWrite() : undefined;
  }

  #holdWrite(): Promise<void> {
    this.#heldWrite ??= settlers();
    return this.#heldWrite.promise;
  }

  #releaseWrite(): void {
    const held = this.#heldWrite;
    this.#heldWrite = undefined;
    held?.resolve();
  }

  // Retries count against the high-water mark, so that failing jobs
  // cannot pile up in backoff while the input keeps flowing.
  #isIntakeFull(): boolean {
    return this.#intake.length + this.#retries.size > this.#highWaterMark;
  }

  /** Jobs ready to run: runnable new ones, and retries now due. */
  #waiting(): number {
    return this.#intake.runnable + this.#retries.readyCount;
  }

  #requestClose(): Promise<void> {
    const request = settlers();
    this.#closeRequest = request;
    this.#pump();
    return request.promise;
  }

  /**
   * Hands waiting jobs to idle workers, starts workers the policy asks
   * for, and repeats until nothing changes; then releases a held write,
   * wakes the reader's pull, arms the idle timer, or ends the pool if the
   * work is done.
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
        if (this.#waiting() > 0) {
          this.#dispatch();
          // A job that failed synchronously may have ended the pool.
          if (this.#ending !== undefined) return;
        }
        // The policy starts workers only for waiting jobs or a missing
        // minimum; most pumps have neither, and skip the snapshot.
        if (
          this.#waiting() > 0 ||
          this.#workers.size < this.#limits.minWorkers
        ) {
          const start = workersToStart(this.#snapshot(), this.#limits);
          if (start > 0) this.#scaleUp(start);
        }
      } while (this.#pumpAgain);
      this.#afterPump();
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Hands ready retries, then new jobs, to idle workers while the output
   * has room; the job an ordered output waits for goes even without.
   */
  #dispatch(): void {
    while (this.#idle.length > 0) {
      const hasRoom = outputRoom(this.#snapshot(), this.#limits) > 0;
      const retry = this.#retries.firstReady;
      if (retry !== undefined && (hasRoom || this.#isBlocking(retry.seq))) {
        this.#retries.takeReady();
        const worker = this.#idle.pop() as PoolWorker<I>;
        this.#run(worker, retry.job, retry.seq, retry.attempt, retry.key);
      } else if (
        this.#intake.runnable > 0 &&
        (hasRoom || this.#isBlocking(this.#intake.nextSeq))
      ) {
        const seq = this.#intake.nextSeq;
        const worker = this.#idle.pop() as PoolWorker<I>;
        const job = this.#intake.take();
        this.#run(worker, job, seq, 1, this.#intake.takenKey);
      } else {
        return;
      }
    }
  }

  /**
   * Whether job `seq` is the one an ordered output waits for, and may
   * start without room (see `mayStartBlocking`).
   */
  #isBlocking(seq: number): boolean {
    return this.#ordered && seq === this.#fanIn.nextSeq &&
      mayStartBlocking(this.#snapshot(), this.#limits);
  }

  /** 1 when the job an ordered output waits for is ready to run, else 0. */
  #blockingJobs(): number {
    if (!this.#ordered) return 0;
    const next = this.#fanIn.nextSeq;
    if (this.#retries.firstReady?.seq === next) return 1;
    return this.#intake.runnable > 0 && this.#intake.nextSeq === next ? 1 : 0;
  }

  /** Starts `count` workers, or as many as the ramp allows now. */
  #scaleUp(count: number): void {
    if (this.#limits.rampIntervalMs === 0) {
      this.#startWorkers(count, "pressure");
      return;
    }
    const now = this.#clock.now();
    const { allowed, ramp } = rampAllowance(this.#ramp, now, this.#limits);
    const started = Math.min(count, allowed);
    this.#ramp = { ...ramp, startedInStep: ramp.startedInStep + started };
    if (started > 0) this.#startWorkers(started, "pressure");
    if (started < count && this.#rampTimer === undefined) {
      this.#rampTimer = this.#clock.setTimeout(() => {
        this.#rampTimer = undefined;
        this.#pump();
      }, ramp.stepStartedMs + this.#limits.rampIntervalMs - now);
    }
  }

  #afterPump(): void {
    if (
      (this.#closeRequest !== undefined || this.#draining) &&
      this.#busy === 0 && this.#intake.length === 0 &&
      this.#retries.size === 0 && this.#fanIn.held === 0
    ) {
      this.#shutdown("end", undefined);
      return;
    }
    if (!this.#isIntakeFull()) this.#releaseWrite();
    if (this.#parkedPull !== undefined && this.#isWaitingForRoom()) {
      this.#unparkPull();
    }
    this.#idleChecks.armIfNeeded();
    // Pressure is over once a worker idles, not when the queue empties:
    // jobs arriving one at a time into a busy pool are one burst. The next
    // burst starts its ramp from one worker again.
    if (this.#ramp !== undefined && this.#idle.length > 0) {
      this.#ramp = undefined;
      this.#clock.clearTimeout(this.#rampTimer);
      this.#rampTimer = undefined;
    }
  }

  // One snapshot object, refreshed in place: the pump reads it several
  // times per job, and the policy never keeps it.
  #snapshotView: MutableSnapshot = {
    alive: 0,
    starting: 0,
    idle: 0,
    busy: 0,
    queued: 0,
    blockingJobs: 0,
    heldForOrder: 0,
    unread: 0,
  };

  #snapshot(): PoolSnapshot {
    const view = this.#snapshotView;
    view.alive = this.#workers.size;
    view.starting = this.#starting;
    view.idle = this.#idle.length;
    view.busy = this.#busy;
    view.queued = this.#waiting();
    view.blockingJobs = this.#blockingJobs();
    view.heldForOrder = this.#fanIn.held;
    view.unread = this.#fanIn.unread;
    return view;
  }

  #run(
    worker: PoolWorker<I>,
    job: I,
    seq: number,
    attempt: number,
    key: unknown,
  ): void {
    const context = new RunningJobContext(worker.id, attempt, worker.resource);
    worker.job = job;
    worker.seq = seq;
    worker.attempt = attempt;
    worker.key = key;
    worker.context = context;
    this.#busy++;
    this.#deadlines?.start(worker);
    let result: unknown;
    let isNative: boolean;
    try {
      result = this.#work(job, context);
      // Reading `then` may throw too: that fails the job like a throw.
      isNative = result instanceof Promise;
      if (!isNative && !isPromiseLike(result)) {
        this.#onJobDone(worker, result);
        return;
      }
    } catch (error) {
      this.#onJobFailed(worker, error);
      return;
    }
    // A native promise settles once; any other thenable is adopted by one
    // first, so a misbehaving thenable cannot deliver a result twice.
    const promise = isNative
      ? result as Promise<unknown>
      : Promise.resolve(result);
    promise.then(worker.onFulfilled, worker.onRejected);
  }

  #onJobDone(worker: PoolWorker<I>, value: unknown): void {
    if (worker.givenUp) return;
    const job = worker.job as I;
    const { seq, key } = worker;
    this.#finishAttempt(worker);
    if (this.#ending !== undefined) {
      this.#unfinished.push({ seq, job });
      this.#exitWorker(worker);
      return;
    }
    // Idle before delivering: the enqueue may pull, and a pump from there
    // must see every worker either idle or busy.
    this.#releaseWorker(worker);
    this.#intake.release(key);
    const item = this.#settled ? { job, status: "fulfilled", value } : value;
    this.#fanIn.deliver(seq, job, item as O, false);
    this.#pump();
  }

  #onJobFailed(worker: PoolWorker<I>, error: unknown): void {
    if (worker.givenUp) return;
    const job = worker.job as I;
    const { seq, attempt, key } = worker;
    this.#finishAttempt(worker);
    if (this.#ending !== undefined) {
      this.#unfinished.push({ seq, job });
      this.#exitWorker(worker);
      return;
    }
    this.#releaseWorker(worker);
    this.#onFailure(job, seq, attempt, key, error);
  }

  /** Retries a failed attempt, delivers it as a record, or fails the pool. */
  #onFailure(
    job: I,
    seq: number,
    attempt: number,
    key: unknown,
    error: unknown,
  ): void {
    const retry = this.#retry;
    let delayMs: number | undefined;
    try {
      if (retry !== undefined && shouldRetry(retry, attempt, error, job)) {
        delayMs = retryDelayMs(retry, attempt + 1, error, Math.random());
      }
    } catch (retryError) {
      // A throwing retryIf or delay is a bug to surface, not to retry:
      // the job fails with its error.
      error = retryError;
    }
    if (delayMs !== undefined) {
      this.#retried++;
      // The key stays busy: the job's next attempt keeps its place.
      this.#retries.add(job, seq, attempt + 1, key, delayMs);
      this.#pump();
      return;
    }
    this.#intake.release(key);
    if (this.#settled) {
      const record = { job, status: "rejected", reason: error };
      this.#fanIn.deliver(seq, job, record as O, true);
      this.#pump();
      return;
    }
    this.#failedFatally++;
    this.#shutdown("error", error);
  }

  #finishAttempt(worker: PoolWorker<I>): void {
    worker.job = undefined;
    worker.context = undefined;
    this.#busy--;
  }

  /**
   * A worker whose attempt ended, or whose setup did, goes idle, or
   * retires if the pool was resized below its count: busy workers are
   * never cut short.
   */
  #releaseWorker(worker: PoolWorker<I>): void {
    if (this.#workers.size <= this.#limits.maxWorkers) {
      this.#makeIdle(worker);
      return;
    }
    const from = this.#workers.size;
    this.#removeWorker(worker);
    this.#emit(from, this.#workers.size, "resize");
  }

  /** Takes a worker out of the pool and tears its resource down. */
  #removeWorker(worker: PoolWorker<I>): void {
    this.#workers.delete(worker);
    if (!worker.starting) this.#resources.tearDown(worker.resource, worker.id);
  }

  #makeIdle(worker: PoolWorker<I>): void {
    worker.idleSeenAtMs = undefined;
    this.#idle.push(worker);
  }

  #createWorker(): PoolWorker<I> {
    return createPoolWorker(this.#nextWorkerId++, this.#settledAttempt);
  }

  #startWorkers(count: number, reason: ScaleReason): void {
    if (count === 0) return;
    const from = this.#workers.size;
    const started: PoolWorker<I>[] = [];
    for (let i = 0; i < count; i++) {
      const worker = this.#createWorker();
      this.#workers.add(worker);
      started.push(worker);
    }
    if (reason === "pressure") this.#scaleUps += count;
    this.#peakWorkers = Math.max(this.#peakWorkers, this.#workers.size);
    this.#emit(from, this.#workers.size, reason);
    // After the event, so that a failing setup ends the pool after the
    // start it belongs to.
    for (const worker of started) this.#launch(worker);
    // New workers may be idle: let the pump loop hand them jobs.
    this.#pumpAgain = true;
  }

  /** Readies a new worker: idle at once, or once its setup is done. */
  #launch(worker: PoolWorker<I>): void {
    if (!this.#resources.hasSetup) {
      this.#makeIdle(worker);
      return;
    }
    worker.starting = true;
    this.#starting++;
    this.#resources.setUp(
      worker.id,
      (resource) => this.#onSetUp(worker, resource),
      (error) => this.#onSetupFailed(worker, error),
    );
  }

  #onSetUp(worker: PoolWorker<I>, resource: unknown): void {
    worker.resource = resource;
    worker.starting = false;
    this.#starting--;
    if (this.#ending !== undefined) {
      this.#exitWorker(worker);
      return;
    }
    this.#releaseWorker(worker);
    this.#pump();
  }

  /** A setup that fails fails the pool: no worker could be trusted. */
  #onSetupFailed(worker: PoolWorker<I>, error: unknown): void {
    this.#starting--;
    // Still marked as starting, so that it leaves without a teardown.
    this.#shutdown(
      "error",
      new Error(`Cannot start worker ${worker.id}: its setup failed`, {
        cause: error,
      }),
    );
    this.#exitWorker(worker);
  }

  /** Retires the `count` longest-idle workers. */
  #retireIdle(count: number, reason: ScaleReason): void {
    if (count === 0) return;
    const from = this.#workers.size;
    for (let i = 0; i < count; i++) {
      this.#removeWorker(this.#idle.shift() as PoolWorker<I>);
    }
    if (reason === "idle") this.#scaleDowns += count;
    this.#emit(from, this.#workers.size, reason);
  }

  /** A worker busy or starting when shutdown began leaves. */
  #exitWorker(worker: PoolWorker<I>): void {
    const from = this.#workers.size;
    this.#removeWorker(worker);
    this.#emit(from, this.#workers.size, "shutdown");
    this.#maybeFinish();
  }

  /**
   * Finishes the ending once every worker has left and every teardown
   * has settled.
   */
  #maybeFinish(): void {
    if (
      this.#ending !== undefined && !this.#finished &&
      this.#workers.size === 0 && this.#resources.pending === 0
    ) {
      this.#finish();
    }
  }

  /**
   * Gives up an attempt past its timeout: its signal aborts, it fails, and
   * a fresh worker takes the slot at once. The old record leaves the pool,
   * so whatever the attempt does later is ignored.
   */
  #giveUp(worker: PoolWorker<I>): void {
    const job = worker.job as I;
    const { seq, attempt, key, context } = worker;
    const error = new DOMException(
      `The job timed out after ${this.#deadlines?.timeoutMs} ms`,
      "TimeoutError",
    );
    this.#timedOut++;
    worker.givenUp = true;
    this.#finishAttempt(worker);
    if (this.#ending !== undefined) {
      this.#unfinished.push({ seq, job });
      this.#exitWorker(worker);
    } else {
      // The slot goes to a fresh worker at once, so the count does not
      // change; the old one is torn down now, even if its job runs on,
      // ignoring its signal. The failure is booked before the fresh worker
      // starts: a setup that finishes at once makes it idle and pumps, and
      // with nothing else left that pump would end the pool while this
      // job's retry or record is still on its way.
      this.#removeWorker(worker);
      const replacement = this.#createWorker();
      this.#workers.add(replacement);
      this.#onFailure(job, seq, attempt, key, error);
      if (this.#ending === undefined) {
        this.#launch(replacement);
        // Without a setup it is idle now, with jobs perhaps waiting.
        this.#pump();
      } else {
        // The failure ended the pool: the fresh worker never starts.
        this.#workers.delete(replacement);
        this.#emit(this.#workers.size + 1, this.#workers.size, "shutdown");
        this.#maybeFinish();
      }
    }
    // Last, once the pool is consistent: the job's abort listeners run
    // synchronously and may call back into the pool.
    RunningJobContext.abort(context as RunningJobContext, error);
  }

  #armDrainDeadline(deadlineMs: number): void {
    const dueMs = this.#clock.now() + deadlineMs;
    if (dueMs >= this.#drainDeadlineMs) return;
    this.#drainDeadlineMs = dueMs;
    this.#clock.clearTimeout(this.#drainTimer);
    this.#drainTimer = this.#clock.setTimeout(() => {
      this.#drainTimer = undefined;
      this.#shutdown(
        "deadline",
        new DOMException("The drain deadline passed", "TimeoutError"),
      );
    }, deadlineMs);
  }

  /**
   * The one way the pool ends. It stops intake, sets aside every job not
   * yet running as unfinished, aborts running jobs, clears the idle timer,
   * removes the signal listener and retires idle workers; once the last
   * busy worker has left, `#finish` ends the output and resolves `closed`.
   * The first ending wins; later calls just return `closed`.
   */
  #shutdown(ending: Ending, reason: unknown): Promise<void> {
    if (this.#ending !== undefined) return this.closed;
    this.#ending = ending;
    this.#reason = reason;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#idleChecks.clear();
    this.#clock.clearTimeout(this.#rampTimer);
    this.#rampTimer = undefined;
    this.#unparkPull();
    // An identity TransformStream errors its writable side when its
    // readable side is cancelled, which is what cancels the upstream pipe;
    // the pair does the same for every ending but a normal one.
    if (ending !== "end" && ending !== "input-abort") {
      this.#writableController.error(reason);
    }
    this.#unfinished.push(...this.#intake.drain());
    this.#releaseWrite();
    this.#unfinished.push(...this.#retries.drain());
    this.#unfinished.push(...this.#fanIn.dropHeld());
    for (const worker of this.#workers) {
      if (worker.context !== undefined) {
        RunningJobContext.abort(worker.context, reason);
      }
    }
    this.#retireIdle(this.#idle.length, "shutdown");
    this.#maybeFinish();
    return this.closed;
  }

  /** Ends the output the way the ending asks, then resolves `closed`. */
  #finish(): void {
    const reason = this.#reason;
    switch (this.#ending) {
      case "end":
      case "abort":
      case "deadline":
        this.#fanIn.close();
        break;
      case "error":
      case "input-abort":
        this.#unfinished.push(...this.#fanIn.error(reason));
        break;
      case "cancel":
        break;
    }
    if (this.#ending === "end") this.#closeRequest?.resolve();
    else this.#closeRequest?.reject(reason);
    this.#deadlines?.clear();
    this.#clock.clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    this.#unfinished.sort((a, b) => a.seq - b.seq);
    this.#finished = true;
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

type MutableSnapshot = {
  -readonly [K in keyof PoolSnapshot]: PoolSnapshot[K];
};

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

/** A job's key, which must be a string or a number. */
function checkKey(key: unknown): string | number {
  if (typeof key === "string" || typeof key === "number") return key;
  throw new TypeError(
    `Cannot queue job: "key" must return a string or a number, received ${
      describe(key)
    }`,
  );
}
