/**
 * CPU-bound jobs on worker threads: counting primes in eight ranges, once
 * on the calling thread and once on a pool of threads, to show the same
 * pipeline using every core.
 *
 * Run it with `deno run --allow-read examples/threads.ts`.
 * @module
 */

import { autoScale } from "../mod.ts";
import countPrimes from "./prime_count.ts";

// Eight jobs of a few tenths of a second each: long enough that starting
// the threads does not hide what they save.
const LIMITS = Array.from({ length: 8 }, (_, i) => 1_500_000 + i * 10_000);

async function run(
  pool: ReadableWritablePair<number, number>,
): Promise<{ total: number; ms: number }> {
  const startedAt = performance.now();
  let total = 0;
  for await (const count of ReadableStream.from(LIMITS).pipeThrough(pool)) {
    total += count;
  }
  return { total, ms: performance.now() - startedAt };
}

const inThread = autoScale(countPrimes, { maxWorkers: 1 });
const oneThread = await run(inThread);
await inThread.closed;

const threads = autoScale<number, number>(
  new URL("./prime_count.ts", import.meta.url),
);
const manyThreads = await run(threads);
await threads.closed;

console.log(
  `calling thread: ${oneThread.ms.toFixed(0)} ms; ` +
    `${threads.stats().peakWorkers} threads: ${manyThreads.ms.toFixed(0)} ms`,
);
if (oneThread.total !== manyThreads.total) {
  console.error("the threads counted differently");
  Deno.exit(1);
}
console.log(`${manyThreads.total} primes either way: example ok`);
