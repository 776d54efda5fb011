/**
 * The machinery behind the interleaving tests: a virtual clock whose timers
 * fire when fast-check's scheduler says, jobs, sources and readers that
 * settle through the same scheduler, and a driver that runs a pool step by
 * step, checking invariants after each step and failing on a hang.
 * @module
 */

import assert from "node:assert/strict";
import { type ReadOutcome, readToEnd } from "./_helpers.ts";
import fc from "fast-check";
import {
  type JobContext,
  type PoolStats,
  ScaleEvent,
  type SettledResult,
} from "../mod.ts";
import type { Clock, TimerHandle } from "../src/clock.ts";
import { Controller } from "../src/controller.ts";
import { type AutoScaleOptions, resolveOptions } from "../src/options.ts";

// Far more steps than any generated run needs: past it, a run is looping.
export const MAX_STEPS = 20_000;

/** How one job behaves, attempt after attempt. */
export interface JobPlan {
  /**
   * `"sync"` returns or throws at once, `"scheduled"` settles when the
   * scheduler says, `"slow"` after `durationMs` of virtual time, `"hang"`
   * never settles unless its signal aborts.
   */
  readonly pace: "sync" | "scheduled" | "slow" | "hang";
  /** How long a `"slow"` attempt takes, in virtual milliseconds. */
  readonly durationMs?: number;
  /** How many attempts fail before one succeeds. */
  readonly failures: number;
  /** Whether it rejects with its signal's reason as soon as that aborts. */
  readonly heedsSignal: boolean;
}

/** A job's own failure, naming the job and the attempt. */
export class JobError extends Error {
  readonly job: number;
  constructor(job: number, attempt: number) {
    super(`job ${job} failed on attempt ${attempt}`);
    this.job = job;
  }
}

/** What the jobs of one run did. */
export interface WorkLog {
  /** Attempts started, per job. */
  readonly starts: number[];
  /** Jobs started after the test asked the pool to stop. */
  readonly startedLate: number[];
  /** Each abort a job's signal saw, in the order they came. */
  readonly aborts: SeenAbort[];
  /** Set by the test when it aborts the pool. */
  stopped: boolean;
}

/** An abort as a job saw it. */
export interface SeenAbort {
  readonly job: number;
  readonly reason: unknown;
  /** How long the attempt had run, in virtual milliseconds. */
  readonly afterMs: number;
}

/** Plans with one of `paces`, failing one of `failures` times first. */
export function jobPlan(
  paces: readonly JobPlan["pace"][],
  failures: readonly number[] = [0],
): fc.Arbitrary<JobPlan> {
  return fc.record({
    pace: fc.constantFrom(...paces),
    durationMs: fc.integer({ min: 0, max: 8 }),
    failures: fc.constantFrom(...failures),
    heedsSignal: fc.boolean(),
  });
}

/** What can end a run early, and when. */
export interface Endings {
  /** Aborts the pool's signal after this many scheduler steps. */
  readonly abortAfterSteps?: number;
  readonly abortReason?: unknown;
  /** Drains the pool after this many scheduler steps. */
  readonly drain?: { afterSteps: number; deadlineMs: number | undefined };
  /** Cancels the output once this many results were read. */
  readonly cancelAfterReads?: number;
  /** Errors the source instead of handing out this job. */
  readonly sourceErrorAt?: number;
  readonly sourceError?: unknown;
}

/** One pool fed by a scheduled source and read by a scheduled reader. */
export interface Run {
  readonly pool: Controller<number, unknown>;
  readonly events: ScaleEvent[];
  readonly log: WorkLog;
  readonly source: ScheduledSource;
  /** Runs the scheduler until the pool has closed and the reader is done. */
  settle(): Promise<ReadOutcome>;
}

export function startRun(
  s: fc.Scheduler,
  plans: readonly JobPlan[],
  options: AutoScaleOptions<number>,
  endings: Endings = {},
): Run {
  const log: WorkLog = {
    starts: plans.map(() => 0),
    startedLate: [],
    aborts: [],
    stopped: false,
  };
  const events: ScaleEvent[] = [];
  const clock = scheduledClock(s);
  const stop = new AbortController();
  const resolved = resolveOptions(
    { ...options, signal: stop.signal } as AutoScaleOptions<unknown>,
    "Cannot create pool",
  );
  const pool = new Controller<number, unknown>(
    scheduledWork(s, clock, plans, log),
    { ...resolved, clock },
    (event: Event) => {
      if (event instanceof ScaleEvent) events.push(event);
    },
  );
  const source = scheduledSource(
    s,
    plans.length,
    endings.sourceErrorAt,
    endings.sourceError,
  );
  const reading = readToEnd(source.stream.pipeThrough(pool), {
    cancelAfterReads: endings.cancelAfterReads,
    pause: (read) => s.schedule(Promise.resolve(), `read pause ${read}`),
  });
  if (endings.abortAfterSteps !== undefined) {
    afterSteps(s, endings.abortAfterSteps, "abort", () => {
      log.stopped = true;
      stop.abort(endings.abortReason);
    });
  }
  const drain = endings.drain;
  if (drain !== undefined) {
    afterSteps(s, drain.afterSteps, "drain", () => {
      pool.drain(drain.deadlineMs);
    });
  }
  return {
    pool,
    events,
    log,
    source,
    settle: async () => {
      await runScheduled(
        s,
        Promise.all([pool.closed, reading]),
        () => {
          const stats = pool.stats();
          assert.ok(stats.workers <= resolved.maxWorkers, "workers <= max");
          assert.ok(stats.busy <= stats.workers, "busy <= workers");
          assert.equal(stats.workers, events.at(-1)?.to ?? 0);
          return stats;
        },
      );
      return await reading;
    },
  };
}

/**
 * Virtual time and its pending timers. Someone else decides when time
 * passes: a timer fires only through `fireNext` or `advance`, and always
 * the one due soonest, moving the time up to its due time, never back. So
 * timers fire in due order and never early, as real ones do.
 */
export class VirtualTime implements Clock {
  #nowMs = 0;
  #lastId = 0;
  #pending = new Map<number, { dueMs: number; callback: () => void }>();
  #onSet: (delayMs: number) => void;

  /** @param onSet Told of every timer set, to arrange for it to fire. */
  constructor(onSet: (delayMs: number) => void = () => {}) {
    this.#onSet = onSet;
  }

  now = (): number => this.#nowMs;

  setTimeout = (callback: () => void, delayMs: number): TimerHandle => {
    const id = ++this.#lastId;
    this.#pending.set(id, { dueMs: this.#nowMs + delayMs, callback });
    this.#onSet(delayMs);
    return id as unknown as TimerHandle;
  };

  clearTimeout = (handle: TimerHandle | undefined): void => {
    this.#pending.delete(handle as unknown as number);
  };

  /** Fires the timer due soonest, if one is due by `untilMs`. */
  fireNext(untilMs = Infinity): boolean {
    let soonest: [number, { dueMs: number; callback: () => void }] | undefined;
    for (const entry of this.#pending) {
      if (soonest === undefined || entry[1].dueMs < soonest[1].dueMs) {
        soonest = entry;
      }
    }
    if (soonest === undefined || soonest[1].dueMs > untilMs) return false;
    const [id, { dueMs, callback }] = soonest;
    this.#pending.delete(id);
    this.#nowMs = Math.max(this.#nowMs, dueMs);
    callback();
    return true;
  }

  /** Moves time `ms` forward, firing timers as they come due. */
  advance(ms: number): void {
    const untilMs = this.#nowMs + ms;
    while (this.fireNext(untilMs));
    this.#nowMs = untilMs;
  }
}

/** A pool whose timers run on `time`. */
export function virtualPool<I>(
  work: (job: I, context: JobContext) => unknown,
  options: AutoScaleOptions<I>,
  time: VirtualTime,
): Controller<I, unknown> {
  const resolved = resolveOptions(
    options as AutoScaleOptions<unknown>,
    "Cannot create pool",
  );
  return new Controller<I, unknown>(
    work,
    { ...resolved, clock: time },
    () => {},
  );
}

/**
 * A virtual clock whose time passes when the scheduler says: each timer
 * set schedules one step, and each such step fires the timer due soonest.
 * The scheduler so picks when time passes relative to everything else.
 */
export function scheduledClock(s: fc.Scheduler): VirtualTime {
  const time: VirtualTime = new VirtualTime((delayMs) => {
    s.schedule(Promise.resolve(), `timer +${delayMs} ms`).then(() => {
      time.fireNext();
    });
  });
  return time;
}

/**
 * Runs each job by its plan: scheduled outcomes land when `s` says, slow
 * ones when `clock` gets there. Every abort a job sees is logged with the
 * virtual time its attempt had run; only jobs that heed their signal stop.
 */
export function scheduledWork(
  s: fc.Scheduler,
  clock: Clock,
  plans: readonly JobPlan[],
  log: WorkLog,
): (job: number, context: JobContext) => number | Promise<number> {
  return (job, context) => {
    log.starts[job]++;
    if (log.stopped) log.startedLate.push(job);
    const plan = plans[job];
    const fails = context.attempt <= plan.failures;
    const settle = () => {
      if (fails) throw new JobError(job, context.attempt);
      return resultOf(job);
    };
    if (plan.pace === "sync") return settle();
    const label = `job ${job} try ${context.attempt}`;
    // Outcomes settle inside a scheduled step or a timer, never before,
    // so no rejection waits unhandled.
    const outcome = plan.pace === "scheduled"
      ? s.schedule(Promise.resolve(), label).then(settle)
      : plan.pace === "slow"
      ? new Promise<void>((resolve) => {
        clock.setTimeout(resolve, plan.durationMs ?? 0);
      }).then(settle)
      : new Promise<number>(() => {});
    const { signal } = context;
    const startedAtMs = clock.now();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const afterMs = clock.now() - startedAtMs;
        log.aborts.push({ job, reason: signal.reason, afterMs });
        if (plan.heedsSignal) reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      outcome.then(resolve, reject).finally(() => {
        signal.removeEventListener("abort", onAbort);
      });
    });
  };
}

/** A source of jobs `0..count - 1` whose every pull waits for `s`. */
export interface ScheduledSource {
  readonly stream: ReadableStream<number>;
  readonly cancelled: boolean;
  readonly cancelReason: unknown;
}

export function scheduledSource(
  s: fc.Scheduler,
  count: number,
  errorAt: number | undefined,
  error: unknown,
): ScheduledSource {
  let next = 0;
  const state = { cancelled: false, cancelReason: undefined as unknown };
  const stream = new ReadableStream<number>({
    pull: async (controller) => {
      await s.schedule(Promise.resolve(), `pull ${next}`);
      if (state.cancelled) return;
      if (next === errorAt) controller.error(error);
      else if (next === count) controller.close();
      else controller.enqueue(next++);
    },
    cancel: (reason) => {
      state.cancelled = true;
      state.cancelReason = reason;
    },
  }, { highWaterMark: 0 });
  return {
    stream,
    get cancelled() {
      return state.cancelled;
    },
    get cancelReason() {
      return state.cancelReason;
    },
  };
}

/** Runs `action` once `steps` scheduled steps of its own have run. */
export function afterSteps(
  s: fc.Scheduler,
  steps: number,
  label: string,
  action: () => void,
): void {
  let chain = s.schedule(Promise.resolve(), `${label} in ${steps}`);
  for (let left = steps - 1; left >= 0; left--) {
    chain = chain.then(() =>
      s.schedule(Promise.resolve(), `${label} in ${left}`)
    );
  }
  chain.then(action);
}

/**
 * Runs scheduled steps until none is left, checking `check` between
 * steps. If `ended` has not settled by then, nothing can move the pool any
 * more: it hangs, and the run fails with what `check` last saw.
 */
export async function runScheduled(
  s: fc.Scheduler,
  ended: Promise<unknown>,
  check: () => unknown,
): Promise<void> {
  let isEnded = false;
  ended.then(() => isEnded = true);
  let seen: unknown = undefined;
  for (let step = 0;; step++) {
    if (s.count() === 0) {
      // Let every microtask and stream hop run: they may schedule more.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (s.count() === 0) {
        if (isEnded) return;
        throw new Error(
          `the pool hangs: nothing is left to schedule, yet it has not closed; last stats: ${
            JSON.stringify(seen)
          }`,
        );
      }
    }
    if (step === MAX_STEPS) {
      throw new Error(
        `the run did not settle within ${MAX_STEPS} steps; last stats: ${
          JSON.stringify(seen)
        }`,
      );
    }
    await s.waitNext(1);
    seen = check();
  }
}

/**
 * Checks the scale events against the bounds and against each other: the
 * first starts from no worker, each starts where the last one ended, the
 * last leaves no worker, and the counters in `stats` add them up.
 */
export function assertScaleEvents(
  events: readonly ScaleEvent[],
  stats: PoolStats,
  bounds: { minWorkers: number; maxWorkers: number },
): void {
  const log = events.map(({ from, to, reason }) => `${from}->${to} ${reason}`);
  let workers = 0;
  let peak = 0;
  let scaleUps = 0;
  let scaleDowns = 0;
  for (const { from, to, reason } of events) {
    assert.equal(
      from,
      workers,
      `each event starts where the last ended: ${log}`,
    );
    assert.ok(to <= bounds.maxWorkers, `above maxWorkers: ${log}`);
    if (reason !== "shutdown") {
      assert.ok(to >= bounds.minWorkers, `below minWorkers: ${log}`);
    }
    if (reason === "pressure") scaleUps += to - from;
    if (reason === "idle") scaleDowns += from - to;
    peak = Math.max(peak, to);
    workers = to;
  }
  assert.equal(workers, 0, `workers left: ${log}`);
  assert.equal(stats.peakWorkers, peak);
  assert.equal(stats.scaleUps, scaleUps);
  assert.equal(stats.scaleDowns, scaleDowns);
}

/** `completed + failed + unfinished().length === accepted`. */
export function assertAccounted(
  stats: PoolStats,
  unfinished: readonly number[],
): void {
  assert.equal(
    stats.completed + stats.failed + unfinished.length,
    stats.accepted,
    `stats: ${JSON.stringify(stats)}, unfinished: ${unfinished}`,
  );
}

/** Lets every pending microtask run, stream hops included. */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

export function assertDistinct(values: readonly number[], what: string): void {
  assert.equal(new Set(values).size, values.length, `${what}: ${values}`);
}

export function resultOf(job: number): number {
  return job * 10;
}

/** The job a result or a settled record belongs to. */
export function jobOf(item: unknown): number {
  if (typeof item === "number") return item / 10;
  return (item as SettledResult<number, number>).job;
}

export function isRejectedRecord(item: unknown): boolean {
  return typeof item === "object" &&
    (item as SettledResult<number, number>).status === "rejected";
}

export function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}

export function sortNumbers(values: readonly unknown[]): number[] {
  return (values as number[]).toSorted((a, b) => a - b);
}

/** `arbitrary`'s values half of the time, `undefined` the other half. */
export function sometimes<T>(
  arbitrary: fc.Arbitrary<T>,
): fc.Arbitrary<T | undefined> {
  return fc.option(arbitrary, { nil: undefined, freq: 2 });
}
