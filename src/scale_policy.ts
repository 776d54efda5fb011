/**
 * The controller's decisions, as pure functions of a snapshot. Nothing here
 * reads a clock, starts a timer or touches a worker: the controller gathers
 * the numbers, asks, and applies the answer. That keeps every rule testable
 * with hand-built snapshots.
 * @module
 */

/** What the controller knows about the pool at one instant. */
export interface PoolSnapshot {
  /** Workers alive: starting, idle or busy. */
  readonly alive: number;
  /** Workers whose setup still runs: capacity on its way. */
  readonly starting: number;
  /** Workers alive and waiting for a job. */
  readonly idle: number;
  /** Workers running a job. */
  readonly busy: number;
  /**
   * Jobs ready to run and not yet taken by a worker: new jobs, and failed
   * ones whose retry backoff is over.
   */
  readonly queued: number;
  /**
   * 1 when the job an ordered pool's output waits for is ready to run (a
   * retry now due, or a job its key held back), else 0. Only its result
   * can release those held behind it, so it runs even without room.
   */
  readonly blockingJobs: number;
  /** Results finished but held back to restore input order. */
  readonly heldForOrder: number;
  /** Results delivered to the output and not read yet. */
  readonly unread: number;
}

/** The bounds the controller keeps the pool within. */
export interface ScaleLimits {
  /** Workers kept alive even when idle. */
  readonly minWorkers: number;
  /** Workers never exceeded. */
  readonly maxWorkers: number;
  /** How long a worker may idle before it is retired, in milliseconds. */
  readonly idleTimeoutMs: number;
  /**
   * How long each step of the scale-up ramp lasts, in milliseconds; 0 for
   * no ramp (every runnable job gets a worker at once).
   */
  readonly rampIntervalMs: number;
  /** The most workers retired per `idleTimeoutMs`; Infinity for no limit. */
  readonly retireStep: number;
}

/**
 * The scale-up ramp while jobs keep waiting: the current step's size, when
 * it began, and how many workers it started so far.
 */
export interface Ramp {
  readonly step: number;
  readonly stepStartedMs: number;
  readonly startedInStep: number;
}

/** Which idle workers to retire now, and when to look again. */
export interface RetirementPlan {
  /** How many of the longest-idle workers to retire now. */
  readonly retire: number;
  /**
   * Milliseconds until the next idle worker reaches the timeout, or
   * `undefined` when no further retirement can come from the idle set as
   * it stands.
   */
  readonly recheckInMs: number | undefined;
}

/**
 * How many idle checks run per `idleTimeout` while a surplus worker idles.
 * Idle time is sampled by these checks, so a worker retires after idling
 * between `idleTimeout` and `idleTimeout * (1 + 1 / IDLE_CHECKS_PER_TIMEOUT)`
 * milliseconds, give or take timer lateness.
 */
export const IDLE_CHECKS_PER_TIMEOUT = 4;

/**
 * How many more jobs may start without their results outgrowing the
 * output's budget of `maxWorkers`: running jobs, held results and unread
 * results all count, so a reader that lags stops new work instead of
 * piling up results.
 */
export function outputRoom(
  snapshot: PoolSnapshot,
  limits: ScaleLimits,
): number {
  return limits.maxWorkers - snapshot.unread - snapshot.busy -
    snapshot.heldForOrder;
}

/**
 * Whether the job an ordered output waits for may start without output
 * room. Results held behind it may fill the room while it waits out its
 * backoff or its key, and only its result can release them; so it may pass
 * the budget by the room held results take, never by unread results, which
 * the reader releases by reading.
 */
export function mayStartBlocking(
  snapshot: PoolSnapshot,
  limits: ScaleLimits,
): boolean {
  return limits.maxWorkers - snapshot.unread - snapshot.busy > 0;
}

/**
 * How many jobs could start now if there were workers for them: waiting
 * jobs as far as output room goes, or else the job the output waits for.
 */
export function runnableJobs(
  snapshot: PoolSnapshot,
  limits: ScaleLimits,
): number {
  const room = Math.max(0, outputRoom(snapshot, limits));
  const runnable = Math.min(snapshot.queued, room);
  if (runnable > 0 || snapshot.blockingJobs === 0) return runnable;
  return mayStartBlocking(snapshot, limits) ? 1 : 0;
}

/**
 * How many workers to start now: enough to refill the minimum, and while
 * jobs could run with no worker idle, one per such job, up to the
 * maximum.
 */
export function workersToStart(
  snapshot: PoolSnapshot,
  limits: ScaleLimits,
): number {
  const refill = Math.max(0, limits.minWorkers - snapshot.alive);
  if (snapshot.idle > 0) return refill;
  // More workers cannot help a lagging reader; results would only pile up.
  // Workers still starting will take runnable jobs as soon as they can.
  const runnable = runnableJobs(snapshot, limits) - snapshot.starting;
  if (runnable <= 0) return refill;
  const headroom = limits.maxWorkers - snapshot.alive;
  return Math.max(refill, Math.min(runnable, headroom));
}

/**
 * How many workers the ramp lets start at `nowMs`, and the ramp that
 * applies then. Pressure that begins starts a ramp at one worker per step;
 * every `rampIntervalMs` the pressure lasts doubles the step, so a long
 * burst still reaches `maxWorkers` in a few steps while a short one stays
 * small.
 *
 * @param ramp The ramp so far, or `undefined` when pressure begins now.
 */
export function rampAllowance(
  ramp: Ramp | undefined,
  nowMs: number,
  limits: ScaleLimits,
): { readonly allowed: number; readonly ramp: Ramp } {
  if (ramp === undefined) {
    return {
      allowed: 1,
      ramp: { step: 1, stepStartedMs: nowMs, startedInStep: 0 },
    };
  }
  const steps = Math.floor(
    (nowMs - ramp.stepStartedMs) / limits.rampIntervalMs,
  );
  if (steps <= 0) return { allowed: ramp.step - ramp.startedInStep, ramp };
  const next = {
    step: Math.min(ramp.step * 2 ** steps, limits.maxWorkers),
    stepStartedMs: ramp.stepStartedMs + steps * limits.rampIntervalMs,
    startedInStep: 0,
  };
  return { allowed: next.step, ramp: next };
}

/** How long to wait before the next idle check. */
export function idleCheckIntervalMs(limits: ScaleLimits): number {
  return limits.idleTimeoutMs / IDLE_CHECKS_PER_TIMEOUT;
}

/**
 * Which idle workers have idled past the timeout and may go while more
 * than the minimum are alive, and when to check again.
 *
 * @param idleForMs How long each idle worker has idled at least, longest
 * first.
 * @param allowance The most that may retire now (see `retireStep`), and
 * in how many milliseconds it is renewed.
 */
export function planRetirement(
  idleForMs: readonly number[],
  alive: number,
  limits: ScaleLimits,
  allowance: { readonly count: number; readonly renewedInMs: number } = {
    count: Infinity,
    renewedInMs: 0,
  },
): RetirementPlan {
  const surplus = Math.min(alive - limits.minWorkers, allowance.count);
  let retire = 0;
  while (
    retire < surplus && retire < idleForMs.length &&
    idleForMs[retire] >= limits.idleTimeoutMs
  ) {
    retire++;
  }
  const nextIdle = idleForMs[retire];
  if (alive - retire <= limits.minWorkers || nextIdle === undefined) {
    return { retire, recheckInMs: undefined };
  }
  // Check again when the next worker is due, and meanwhile often enough
  // that workers going idle from now on are sampled soon after; but not
  // before the allowance is renewed, if it ran out.
  const due = limits.idleTimeoutMs - nextIdle;
  const recheckInMs = Math.min(due, idleCheckIntervalMs(limits));
  if (retire < allowance.count) return { retire, recheckInMs };
  return { retire, recheckInMs: Math.max(recheckInMs, allowance.renewedInMs) };
}
