/**
 * The contenders of `peers.ts` that are not stream pipelines: the peers
 * used raw, the way their documentation shows (every job from an array,
 * every result collected), and the floors, the least any stream-in
 * pipeline can cost. They put the stream-wrapped rows in context and are
 * not held to the same rules: a raw peer has the whole input in memory
 * and, for most, a promise per job at once.
 *
 * Every contender reports what it received as a {@linkcode Tally}, which
 * the bench checks after each run.
 * @module
 */

import fastq from "fastq";
import pLimit from "p-limit";
import pMap, { pMapIterable } from "p-map";
import PQueue from "p-queue";
import { from, lastValueFrom, mergeMap, toArray } from "rxjs";
import type { Job } from "./_peer_pipes.ts";

/** How many results came out, and their sum. */
export interface Tally {
  readonly count: number;
  readonly sum: number;
}

/** The jobs of one run, as an array and as a fresh pull-based stream. */
export interface JobInput {
  readonly count: number;
  /** Built once per job count, outside the timing, and shared. */
  readonly array: readonly number[];
  /** A new stream of the numbers 0 to `count` - 1, made on demand. */
  source(): ReadableStream<number>;
}

/** A contender with its own input and output. */
export interface BaselineContender {
  readonly name: string;
  /** The npm package, whose installed version the report adds. */
  readonly packageName?: string;
  readonly run: (
    input: JobInput,
    job: Job,
    concurrency: number,
  ) => Promise<Tally>;
}

/** The peers raw: an array in, an array of results out. */
export const RAW_PEERS: readonly BaselineContender[] = [
  {
    name: "`queue.addAll(thunks)`",
    packageName: "p-queue",
    run: async ({ array }, job, concurrency) =>
      tallyOf(
        await new PQueue({ concurrency }).addAll(
          array.map((n) => () => job(n)),
        ),
      ),
  },
  {
    name: "`limit.map(array, job)`",
    packageName: "p-limit",
    run: async ({ array }, job, concurrency) =>
      tallyOf(await pLimit(concurrency).map(array, job)),
  },
  {
    name: "`Promise.all(array.map(queue.push))`",
    packageName: "fastq",
    run: async ({ array }, job, concurrency) => {
      const queue = fastq.promise(job, concurrency);
      return tallyOf(await Promise.all(array.map((n) => queue.push(n))));
    },
  },
  {
    name: "`pMap(array, job)`",
    packageName: "p-map",
    run: async ({ array }, job, concurrency) =>
      tallyOf(await pMap(array, job, { concurrency })),
  },
  {
    name: "`pMapIterable(array, job)`, collected (input order)",
    packageName: "p-map",
    run: async ({ array }, job, concurrency) => {
      let count = 0;
      let sum = 0;
      for await (const result of pMapIterable(array, job, { concurrency })) {
        count++;
        sum += result;
      }
      return { count, sum };
    },
  },
  {
    name: "`from(array).pipe(mergeMap(job, n), toArray())`",
    packageName: "rxjs",
    run: async ({ array }, job, concurrency) =>
      tallyOf(
        await lastValueFrom(
          from(array).pipe(mergeMap(job, concurrency), toArray()),
        ),
      ),
  },
];

/** What any stream-in pipeline costs at least. */
export const FLOORS: readonly BaselineContender[] = [
  {
    name: "floor: one `for await` loop over the source, awaiting each job",
    run: async (input, job) => {
      let count = 0;
      let sum = 0;
      for await (const n of input.source()) {
        const result = await job(n);
        sum += result;
        count++;
      }
      return { count, sum };
    },
  },
  {
    name: "floor: N loops sharing one reader (N = concurrency)",
    run: async (input, job, concurrency) => {
      const reader = input.source().getReader();
      let count = 0;
      let sum = 0;
      const loop = async (): Promise<void> => {
        while (true) {
          const { done, value } = await reader.read();
          if (done) return;
          // Not `sum += await …`, which reads `sum` before the wait and
          // would lose the other loops' additions meanwhile.
          const result = await job(value);
          sum += result;
          count++;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, loop));
      return { count, sum };
    },
  },
  {
    name: "floor: `pipeThrough(new TransformStream())`, no job run",
    run: (input) =>
      readAndTally(input.source().pipeThrough(new TransformStream())),
  },
];

/**
 * The numbers 0 to `count` - 1, made one at a time as the stream is
 * pulled: nothing is held but a counter.
 */
export function countingSource(count: number): ReadableStream<number> {
  let next = 0;
  return new ReadableStream<number>({
    pull: (controller) => {
      if (next === count) controller.close();
      else controller.enqueue(next++);
    },
  });
}

/** Reads `stream` to the end with a reader loop, counting and summing. */
export async function readAndTally(
  stream: ReadableStream<number>,
): Promise<Tally> {
  const reader = stream.getReader();
  let count = 0;
  let sum = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) return { count, sum };
    count++;
    sum += value;
  }
}

function tallyOf(results: readonly number[]): Tally {
  let sum = 0;
  for (const result of results) sum += result;
  return { count: results.length, sum };
}
