/**
 * Retrying failed jobs: the options, and the pure rules for whether and
 * when to try again.
 * @module
 */

/**
 * How a pool retries a job that throws, rejects or times out.
 *
 * @typeParam I The job type.
 */
export interface RetryOptions<I = unknown> {
  /** Attempts in all, the first included; an integer >= 1. */
  attempts: number;
  /**
   * Milliseconds to wait before attempt `attempt` (2 for the first retry):
   * a number is the base of an exponential backoff with full jitter, a
   * uniformly random wait in `[0, delay * 2 ** (attempt - 2)]`, capped at
   * `maxDelay`; a function returns the exact wait.
   * @default {100}
   */
  delay?: number | ((attempt: number, error: unknown) => number);
  /**
   * The longest wait the exponential backoff picks, in milliseconds.
   * @default {30000}
   */
  maxDelay?: number;
  /**
   * Whether a failure is worth another attempt; every failure is, unless
   * this says otherwise.
   */
  retryIf?: (error: unknown, job: I) => boolean;
}

/** Retry options with defaults applied. */
export interface ResolvedRetry<I> {
  readonly attempts: number;
  readonly delay: number | ((attempt: number, error: unknown) => number);
  readonly maxDelayMs: number;
  readonly retryIf: ((error: unknown, job: I) => boolean) | undefined;
}

const DEFAULT_BASE_DELAY_MS = 100;
const DEFAULT_MAX_DELAY_MS = 30_000;

/** Whether a job that failed on attempt `attempt` gets another one. */
export function shouldRetry<I>(
  retry: ResolvedRetry<I> | undefined,
  attempt: number,
  error: unknown,
  job: I,
): boolean {
  if (retry === undefined || attempt >= retry.attempts) return false;
  return retry.retryIf === undefined || retry.retryIf(error, job) === true;
}

/**
 * How long to wait before attempt `attempt`. `random` is a number in
 * `[0, 1)`, passed in so the rule stays pure.
 */
export function retryDelayMs<I>(
  retry: ResolvedRetry<I>,
  attempt: number,
  error: unknown,
  random: number,
): number {
  if (typeof retry.delay === "function") {
    const delayMs = retry.delay(attempt, error);
    return Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
  }
  const ceiling = Math.min(
    retry.maxDelayMs,
    retry.delay * 2 ** Math.max(0, attempt - 2),
  );
  return random * ceiling;
}

/** The defaults, applied to validated options. */
export function withRetryDefaults<I>(
  options: RetryOptions<I>,
): ResolvedRetry<I> {
  return {
    attempts: options.attempts,
    delay: options.delay ?? DEFAULT_BASE_DELAY_MS,
    maxDelayMs: options.maxDelay ?? DEFAULT_MAX_DELAY_MS,
    retryIf: options.retryIf,
  };
}
