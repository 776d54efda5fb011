/**
 * The pool's options, their defaults, and the validation that runs before
 * any stream, timer or worker exists.
 * @module
 */

import { type Clock, SYSTEM_CLOCK } from "./clock.ts";
import {
  type ResolvedRetry,
  type RetryOptions,
  withRetryDefaults,
} from "./retry.ts";

/**
 * Options for {@linkcode autoScale}.
 *
 * @typeParam I The job type, seen by `retry.retryIf` and `key`.
 * @typeParam R The per-worker resource that `setup` returns.
 */
export interface AutoScaleOptions<I = unknown, R = unknown> {
  /**
   * Workers kept alive while the pool runs, even when idle. They start at
   * once.
   * @default {1}
   */
  minWorkers?: number;
  /**
   * The most workers that run at the same time.
   * @default {8} (`navigator.hardwareConcurrency` times `jobsPerThread`
   * for threads; or `minWorkers`, when that is larger)
   */
  maxWorkers?: number;
  /**
   * Milliseconds a worker may idle before the controller retires it, while
   * more than `minWorkers` are alive.
   * @default {100}
   */
  idleTimeout?: number;
  /**
   * Aborting it shuts the pool down: input is refused, every running job's
   * signal aborts and the output closes once every worker has exited.
   */
  signal?: AbortSignal;
  /**
   * Deliver results in input order instead of completion order. Workers
   * then wait rather than run more than `maxWorkers` jobs ahead of the
   * oldest one still running.
   * @default {false}
   */
  ordered?: boolean;
  /**
   * Jobs the pool accepts ahead of its workers before the writable side
   * signals backpressure.
   * @default {maxWorkers}
   */
  highWaterMark?: number;
  /**
   * Milliseconds one attempt of a job may run. Past it the job's signal
   * aborts with a `DOMException` named `"TimeoutError"`, the attempt counts
   * as failed, and the worker moves on at once: a job that ignores its
   * signal keeps running outside the pool, which ignores its result. It
   * also bounds how long a shutdown waits for running jobs.
   * @default {undefined} (no limit)
   */
  timeout?: number;
  /** Try failed jobs again; see {@linkcode RetryOptions}. */
  retry?: RetryOptions<I>;
  /** How fast the pool grows and shrinks; see {@linkcode ScalingOptions}. */
  scaling?: ScalingOptions;
  /**
   * Runs when a worker starts, before it takes a job; what it returns (or
   * resolves to) reaches every job that worker runs as `context.resource`.
   * A worker counts as capacity on its way while it sets up. A setup that
   * fails fails the pool with an error whose `cause` is the failure.
   *
   * TypeScript infers `context.resource`'s type from here only if this
   * function's parameter, when it has one, is annotated: `(workerId:
   * number) => connect(workerId)`. Unannotated, the work function is typed
   * first and the resource is `unknown`.
   */
  setup?: (workerId: number) => R | PromiseLike<R>;
  /**
   * Runs once for every worker that leaves after its setup: retired, given
   * up at a timeout, or at shutdown. The pool closes only after every
   * teardown has settled; one that fails is reported as a
   * {@linkcode WorkerErrorEvent} and does not stop the others.
   */
  teardown?: (resource: R, workerId: number) => void | PromiseLike<void>;
  /**
   * With a module URL as the work: what to transfer to the thread with
   * each job instead of copying it (an `ArrayBuffer`, say). Results are
   * always copied. What is transferred leaves this thread: the job keeps
   * an empty, detached buffer, which `unfinished()` and settled records
   * show, and a retry of the job fails with a `DataCloneError`. Leave
   * `transfer` out for jobs that may be retried.
   */
  transfer?: (job: I) => Transferable[];
  /**
   * With a module URL as the work: how many of the pool's workers may share
   * one thread, each with a job in it. Above 1, workers take a thread each
   * until there are `maxWorkers / jobsPerThread` threads, and beyond that
   * share them, up to this many on each; a job goes to the least loaded
   * thread. A thread then has its next job at hand as it finishes one,
   * instead of idling for a message round trip, which is most of what a
   * tiny job costs; async jobs in one thread run concurrently. That thread
   * count comes from `maxWorkers` as the pool is made: workers that
   * `resize()` adds beyond it share threads.
   *
   * The price: a job may wait in its thread behind another, and its
   * `timeout` counts the wait; and a job given up at its timeout ends its
   * thread, which fails the other jobs in it as a dying thread would.
   * @default {1}
   */
  jobsPerThread?: number;
  /**
   * With a module URL as the work: the module each thread starts from, in
   * place of the built-in one, which is served from a `blob:` URL so that
   * nothing has to be served beside the package. A page whose
   * Content-Security-Policy forbids `blob:` workers bundles this package's
   * `thread-host` module, serves it from its own origin and names it here.
   * Absolute, like the work's URL.
   * @default {undefined} (the built-in host, from a `blob:` URL)
   */
  threadHost?: URL | string;
  /**
   * Jobs with the same key run one at a time, in arrival order (a retried
   * job keeps its key busy); jobs with different keys run in parallel. A
   * job waiting for its key does not hold back jobs with other keys, and
   * does not count as pressure. A key that cannot be computed fails the
   * pool.
   */
  key?: (job: I) => string | number;
  /**
   * Deliver one {@linkcode SettledResult} per job, fulfilled or rejected,
   * instead of failing the pool on the first job that fails for good.
   * @default {false}
   */
  settled?: boolean;
}

/**
 * Tuning for the controller's two rules. The defaults favour latency: every
 * job that could run gets a worker at once, and every worker idle past
 * `idleTimeout` retires. With bursty input that costs worker churn, which
 * the ramp and the retire step trade for a little latency at the start of
 * each burst.
 */
export interface ScalingOptions {
  /**
   * Milliseconds per step of the scale-up ramp. While jobs keep waiting,
   * the first step adds one worker, and each later step twice as many as
   * the one before, never more than the runnable jobs. 0: no ramp.
   * @default {0}
   */
  rampInterval?: number;
  /**
   * The most workers retired per `idleTimeout`, so that a pool between two
   * bursts shrinks gradually instead of all at once.
   * @default {Infinity} (no limit)
   */
  retireStep?: number;
}

/** Every option, validated, with defaults applied. */
export interface ResolvedOptions {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly idleTimeoutMs: number;
  readonly rampIntervalMs: number;
  readonly retireStep: number;
  readonly signal: AbortSignal | undefined;
  readonly ordered: boolean;
  readonly highWaterMark: number;
  readonly timeoutMs: number | undefined;
  readonly retry: ResolvedRetry<unknown> | undefined;
  readonly settled: boolean;
  readonly key: ((job: unknown) => string | number) | undefined;
  readonly setup: ((workerId: number) => unknown) | undefined;
  readonly teardown:
    | ((resource: unknown, workerId: number) => void | PromiseLike<void>)
    | undefined;
  /** Time and timers; tests substitute a controllable clock. */
  readonly clock: Clock;
}

const DEFAULT_MIN_WORKERS = 1;
const DEFAULT_MAX_WORKERS = 8;
const DEFAULT_IDLE_TIMEOUT_MS = 100;

/**
 * Checks `options` and fills in the defaults.
 *
 * @throws {TypeError} An option has the wrong type.
 * @throws {RangeError} A number is out of range, or the bounds conflict.
 */
export function resolveOptions(
  options: AutoScaleOptions<unknown> | undefined,
  action: string,
): ResolvedOptions {
  options = checkOptionsObject(action, options);
  const minWorkers = optionalCount(
    action,
    "minWorkers",
    options.minWorkers,
    0,
  ) ?? DEFAULT_MIN_WORKERS;
  const maxWorkers = optionalCount(
    action,
    "maxWorkers",
    options.maxWorkers,
    1,
  ) ?? Math.max(DEFAULT_MAX_WORKERS, minWorkers);
  checkBounds(action, minWorkers, maxWorkers);
  const idleTimeoutMs = optionalDuration(
    action,
    "idleTimeout",
    options.idleTimeout,
  ) ?? DEFAULT_IDLE_TIMEOUT_MS;
  const highWaterMark = optionalCount(
    action,
    "highWaterMark",
    options.highWaterMark,
    0,
  ) ?? maxWorkers;
  const scaling = optionalScaling(action, options.scaling);
  return {
    minWorkers,
    maxWorkers,
    idleTimeoutMs,
    rampIntervalMs: scaling.rampIntervalMs,
    retireStep: scaling.retireStep,
    signal: optionalSignal(action, "signal", options.signal),
    ordered: optionalBoolean(action, "ordered", options.ordered) ?? false,
    highWaterMark,
    timeoutMs: optionalDuration(action, "timeout", options.timeout, true),
    retry: optionalRetry(action, options.retry),
    settled: optionalBoolean(action, "settled", options.settled) ?? false,
    key: optionalFunction(action, "key", options.key),
    setup: optionalFunction(action, "setup", options.setup),
    teardown: optionalFunction(action, "teardown", options.teardown),
    clock: SYSTEM_CLOCK,
  };
}

/** New worker bounds for a running pool; an omitted one stays. */
export interface ResizeOptions {
  /** Workers kept alive even when idle; an integer >= 0. */
  minWorkers?: number;
  /** The most workers at once; an integer >= 1. */
  maxWorkers?: number;
}

/**
 * Checks new bounds against each other and the ones they replace.
 *
 * @throws {TypeError} A bound has the wrong type.
 * @throws {RangeError} A bound is out of range, or the bounds conflict.
 */
export function resolveResize(
  action: string,
  options: ResizeOptions,
  current: { readonly minWorkers: number; readonly maxWorkers: number },
): { minWorkers: number; maxWorkers: number } {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `${action}: "options" must be an object, received ${describe(options)}`,
    );
  }
  const minWorkers =
    optionalCount(action, "minWorkers", options.minWorkers, 0) ??
      current.minWorkers;
  const maxWorkers =
    optionalCount(action, "maxWorkers", options.maxWorkers, 1) ??
      current.maxWorkers;
  checkBounds(action, minWorkers, maxWorkers);
  return { minWorkers, maxWorkers };
}

/**
 * Checks an optional drain deadline.
 *
 * @throws {TypeError} It is not a number.
 * @throws {RangeError} It is negative or not finite.
 */
export function checkDeadline(
  action: string,
  deadlineMs: unknown,
): number | undefined {
  return optionalDuration(action, "deadlineMs", deadlineMs);
}

/**
 * Checks that options, if given, are an object.
 *
 * @throws {TypeError} They are not.
 */
export function checkOptionsObject<T extends object>(
  action: string,
  options: T | undefined,
): T {
  if (options === undefined) return {} as T;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `${action}: "options" must be an object, received ${describe(options)}`,
    );
  }
  return options;
}

/**
 * Checks that `minWorkers` and `maxWorkers` are worker counts that fit
 * together.
 *
 * @throws {TypeError} A count is not a number.
 * @throws {RangeError} A count is out of range, or the bounds conflict.
 */
export function checkWorkerBounds(
  action: string,
  minWorkers: unknown,
  maxWorkers: unknown,
): void {
  checkBounds(
    action,
    requiredCount(action, "minWorkers", minWorkers, 0),
    requiredCount(action, "maxWorkers", maxWorkers, 1),
  );
}

/** Checks that a value is an `AbortSignal`. */
export function checkSignal(
  action: string,
  name: string,
  value: unknown,
): AbortSignal {
  if (!(value instanceof AbortSignal)) {
    throw new TypeError(
      `${action}: "${name}" must be an AbortSignal, received ${
        describe(value)
      }`,
    );
  }
  return value;
}

/** Checks that a value is a function. */
export function checkFunction(
  action: string,
  name: string,
  value: unknown,
): void {
  if (typeof value !== "function") {
    throw new TypeError(
      `${action}: "${name}" must be a function, received ${describe(value)}`,
    );
  }
}

/** A short, readable rendering of any value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") {
    return value.name ? `function ${value.name}` : "a function";
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") {
    const name = Object.getPrototypeOf(value)?.constructor?.name;
    return name && name !== "Object" ? `an instance of ${name}` : "an object";
  }
  // Covers numbers (NaN, -0 and Infinity included), booleans, symbols and
  // undefined.
  return Object.is(value, -0) ? "-0" : String(value);
}

function checkBounds(
  action: string,
  minWorkers: number,
  maxWorkers: number,
): void {
  if (minWorkers > maxWorkers) {
    throw new RangeError(
      `${action}: "minWorkers" must be <= "maxWorkers" (${maxWorkers}), received ${minWorkers}`,
    );
  }
}

/**
 * A count of at least `least`, if given.
 *
 * @throws {TypeError} It is not a number.
 * @throws {RangeError} It is not an integer >= `least`.
 */
export function optionalCount(
  action: string,
  name: string,
  value: unknown,
  least: number,
): number | undefined {
  if (value === undefined) return undefined;
  return requiredCount(action, name, value, least);
}

function requiredCount(
  action: string,
  name: string,
  value: unknown,
  least: number,
): number {
  if (typeof value !== "number") {
    throw new TypeError(
      `${action}: "${name}" must be a number, received ${describe(value)}`,
    );
  }
  if (!Number.isInteger(value) || value < least) {
    throw new RangeError(
      `${action}: "${name}" must be an integer >= ${least}, received ${
        describe(value)
      }`,
    );
  }
  return value;
}

/**
 * A duration in milliseconds: finite, and >= 0 (or > 0 when zero makes no
 * sense, as for a timeout).
 */
function optionalDuration(
  action: string,
  name: string,
  value: unknown,
  positive = false,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number") {
    throw new TypeError(
      `${action}: "${name}" must be a number of milliseconds, received ${
        describe(value)
      }`,
    );
  }
  if (!Number.isFinite(value) || value < 0 || (positive && value === 0)) {
    throw new RangeError(
      `${action}: "${name}" must be a finite number ${
        positive ? ">" : ">="
      } 0, received ${describe(value)}`,
    );
  }
  return value;
}

function optionalScaling(
  action: string,
  value: unknown,
): { rampIntervalMs: number; retireStep: number } {
  if (value === undefined) return { rampIntervalMs: 0, retireStep: Infinity };
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `${action}: "scaling" must be an object, received ${describe(value)}`,
    );
  }
  const scaling = value as ScalingOptions;
  return {
    rampIntervalMs:
      optionalDuration(action, "scaling.rampInterval", scaling.rampInterval) ??
        0,
    retireStep:
      optionalCount(action, "scaling.retireStep", scaling.retireStep, 1) ??
        Infinity,
  };
}

function optionalRetry(
  action: string,
  value: unknown,
): ResolvedRetry<unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `${action}: "retry" must be an object, received ${describe(value)}`,
    );
  }
  const retry = value as RetryOptions<unknown>;
  requiredCount(action, "retry.attempts", retry.attempts, 1);
  if (typeof retry.delay !== "function") {
    optionalDuration(action, "retry.delay", retry.delay);
  }
  optionalDuration(action, "retry.maxDelay", retry.maxDelay);
  if (retry.retryIf !== undefined) {
    checkFunction(action, "retry.retryIf", retry.retryIf);
  }
  return withRetryDefaults(retry);
}

function optionalFunction<F>(
  action: string,
  name: string,
  value: F | undefined,
): F | undefined {
  if (value !== undefined) checkFunction(action, name, value);
  return value;
}

function optionalSignal(
  action: string,
  name: string,
  value: unknown,
): AbortSignal | undefined {
  if (value === undefined) return undefined;
  return checkSignal(action, name, value);
}

function optionalBoolean(
  action: string,
  name: string,
  value: unknown,
): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") {
    throw new TypeError(
      `${action}: "${name}" must be a boolean, received ${describe(value)}`,
    );
  }
  return value;
}
