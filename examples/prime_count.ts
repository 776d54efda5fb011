/**
 * The CPU-bound job of `examples/threads.ts`: counts the primes below a
 * limit. A module with a default export, so a pool can run it in worker
 * threads while a test imports it directly.
 * @module
 */

/** Counts the primes below `limit`, the slow way, on purpose. */
export default function countPrimes(limit: number): number {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}
