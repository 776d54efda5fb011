/**
 * Tiny jobs on worker threads, one by one and in batches: counting the
 * words of 20,000 short lines. Every job costs a message round trip
 * between threads, which takes far longer than counting a line's words.
 * The second pipeline lets four workers share each thread
 * (`jobsPerThread`), so that a thread has its next line at hand as it
 * finishes one; the third groups 500 lines into each job and spreads the
 * counts out again after the pool: the same results, a round trip per
 * 500 lines instead of one per line.
 *
 * Run it with `deno run --allow-read examples/batches.ts`.
 * @module
 */

import { autoScale } from "../mod.ts";

const LINES = Array.from(
  { length: 20_000 },
  (_, i) => `line ${i} ${"has more words ".repeat(i % 4)}ends`,
);
const LINES_PER_JOB = 500;

/** Groups chunks into arrays of `size`; the last may be shorter. */
function batches<T>(size: number): TransformStream<T, T[]> {
  let batch: T[] = [];
  return new TransformStream({
    transform(chunk, controller) {
      batch.push(chunk);
      if (batch.length === size) {
        controller.enqueue(batch);
        batch = [];
      }
    },
    flush(controller) {
      if (batch.length > 0) controller.enqueue(batch);
    },
  });
}

/** Passes on every element of every array, in order. */
function unbatch<T>(): TransformStream<T[], T> {
  return new TransformStream({
    transform(batch, controller) {
      for (const item of batch) controller.enqueue(item);
    },
  });
}

async function sum(
  counts: ReadableStream<number>,
): Promise<{ words: number; ms: number }> {
  const startedAt = performance.now();
  let words = 0;
  for await (const count of counts) words += count;
  return { words, ms: performance.now() - startedAt };
}

const oneLineJobs = autoScale<string, number>(
  new URL("./word_count.ts", import.meta.url),
);
const oneByOne = await sum(ReadableStream.from(LINES).pipeThrough(oneLineJobs));
await oneLineJobs.closed;

const sharedThreads = autoScale<string, number>(
  new URL("./word_count.ts", import.meta.url),
  { jobsPerThread: 4 },
);
const shared = await sum(
  ReadableStream.from(LINES).pipeThrough(sharedThreads),
);
await sharedThreads.closed;

const batchJobs = autoScale<string[], number[]>(
  new URL("./word_counts.ts", import.meta.url),
);
const batched = await sum(
  ReadableStream.from(LINES)
    .pipeThrough(batches(LINES_PER_JOB))
    .pipeThrough(batchJobs)
    .pipeThrough(unbatch()),
);
await batchJobs.closed;

console.log(
  `one line per job: ${oneByOne.ms.toFixed(0)} ms; ` +
    `the same, four jobs per thread: ${shared.ms.toFixed(0)} ms; ` +
    `${LINES_PER_JOB} lines per job: ${batched.ms.toFixed(0)} ms`,
);
if (oneByOne.words !== batched.words || shared.words !== batched.words) {
  console.error("the batches counted differently");
  Deno.exit(1);
}
console.log(`${batched.words} words either way: example ok`);
