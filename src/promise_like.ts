/**
 * Telling a promise-like result from a plain value: user code (jobs,
 * setups, teardowns) may return either, and a plain value is handled at
 * once, without a microtask.
 * @module
 */

/**
 * Whether `value` has a callable `then`. Reading `then` may throw (a
 * hostile getter); callers treat that as the user code failing.
 */
export function isPromiseLike<T>(
  value: T | PromiseLike<T>,
): value is PromiseLike<T> {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null && typeof (value as PromiseLike<T>).then === "function";
}
