/**
 * An abortable timer, the stand-in for real I/O in the demo.
 * @module
 */

/**
 * Resolves after `ms` milliseconds, or rejects with `signal.reason` as soon
 * as `signal` aborts. Either way it leaves no timer and no listener behind,
 * so an aborted pool can end without waiting for sleeping jobs.
 */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer: ReturnType<typeof setTimeout> = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
