/**
 * The time source and timers the controller uses. Production code uses the
 * platform's; tests substitute one driven by fast-check's scheduler, to
 * explore timer orderings deterministically.
 * @module
 */

/** An opaque timer handle: a number in some runtimes, an object in others. */
export type TimerHandle = ReturnType<typeof setTimeout>;

/** A monotonic clock in milliseconds, with one-shot timers. */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** The platform's clock: `performance.now()` and the global timers. */
export const SYSTEM_CLOCK: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle),
};
