/**
 * The module the browser checks hand to thread pools by URL. Plain
 * JavaScript, served as is: the page imports it too, to compute the
 * expected results on the main thread. Each job says what to do.
 * @module
 */

/**
 * Runs one job in a worker thread.
 *
 * @param {{ kind: "primes", below: number }
 *   | { kind: "where" }
 *   | { kind: "await-abort" }
 *   | { kind: "throw", message: string }
 *   | { kind: "uncloneable-result" }} job
 * @param {{ signal: AbortSignal }} context
 * @returns {Promise<unknown>}
 */
export default async function run(job, context) {
  switch (job.kind) {
    case "primes":
      return countPrimes(job.below);
    case "where":
      // Only a worker thread has a WorkerGlobalScope.
      return typeof WorkerGlobalScope === "function" &&
        globalThis instanceof WorkerGlobalScope;
    case "await-abort":
      // Settles only when the pool's abort reaches the thread.
      return await new Promise((_, reject) => {
        const { signal } = context;
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason), {
          once: true,
        });
      });
    case "throw":
      throw new RangeError(job.message);
    case "uncloneable-result":
      // A function cannot be structured-cloned back to the page.
      return { format: (n) => String(n) };
  }
  throw new TypeError(`Cannot run job: unknown kind ${String(job.kind)}`);
}

/**
 * How many primes are below `limit`, by trial division: slow on purpose,
 * so that the job is CPU work.
 *
 * @param {number} limit
 * @returns {number}
 */
function countPrimes(limit) {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let isPrime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        isPrime = false;
        break;
      }
    }
    if (isPrime) count++;
  }
  return count;
}
