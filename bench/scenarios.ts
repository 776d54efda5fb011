/**
 * The throughput scenarios, defined once for `throughput_bench.ts`
 * (`deno bench`) and `run.ts` (a plain script for Deno and Bun): no-op
 * jobs, async and sync, through pools of 8 and 64 workers, each measured
 * against the floor for anything stream-in, stream-out.
 *
 * The floor is `source.pipeThrough(new TransformStream())`: an identity
 * pair with nothing behind it. A pool can never beat it, since it is a
 * pair too, plus workers, so "pool jobs/s / floor jobs/s" is the share of
 * the streams' own speed the pool keeps.
 *
 * Under Deno the floor is more than a plain pair: its `pipeTo` hands
 * chunks bound for an identity `TransformStream` straight to the readable
 * side, skipping the writable side's write queue. A pool's writable is a
 * `WritableStream` of its own and cannot take that path, so under Deno
 * even a pair that only forwards chunks falls well short of the floor.
 * That pair, {@linkcode barePair}, runs as a reference scenario: the
 * pool's stream shape with no pool in it, the most a pool built this way
 * can reach.
 *
 * Every run streams {@linkcode JOBS_PER_RUN} numbers from
 * `ReadableStream.from(array)` and reads the output to the end with a
 * reader loop, then checks that every job came out once.
 * @module
 */

import { autoScale, type Work } from "../mod.ts";

/** Jobs streamed through the pair in one run. */
export const JOBS_PER_RUN = 100_000;

/** Turns a stream of jobs into a stream of results. */
export type Pipe = (source: ReadableStream<number>) => ReadableStream<number>;

/** One configuration to measure against the floor. */
export interface Scenario {
  /** A short label: the kind of job and the worker bound. */
  readonly name: string;
  /** Builds fresh streams for each run and pipes the jobs through them. */
  readonly pipe: Pipe;
  /**
   * Whether the pool targets apply: `false` for a reference that only
   * shows what the streams themselves cost.
   */
  readonly isPool: boolean;
}

/** Options for {@linkcode readToEnd}. */
export interface ReadToEndOptions {
  /** Calls `onSample` after every this many results. */
  readonly sampleEvery?: number;
  /** Called with the count of results read so far. */
  readonly onSample?: (count: number) => void;
}

/**
 * A job that does nothing, as an async function on purpose: its result
 * settles through a promise, the path most real jobs take.
 */
// deno-lint-ignore require-await
export async function asyncNoop(n: number): Promise<number> {
  return n;
}

/** A job that does nothing and returns at once. */
export function syncNoop(n: number): number {
  return n;
}

/** The worker bounds measured. */
export const CONCURRENCIES: readonly number[] = [8, 64];

/** The floor: an identity `TransformStream`, the fastest stream pair. */
export function floor(source: ReadableStream<number>): ReadableStream<number> {
  return source.pipeThrough(new TransformStream<number, number>());
}

/** Pipes through a new pool running `work` on up to `maxWorkers` workers. */
export function pool(work: Work<number, number>, maxWorkers: number): Pipe {
  return (source) => source.pipeThrough(autoScale(work, { maxWorkers }));
}

/**
 * The pool's stream shape with no pool in it: a `WritableStream` whose
 * `write` enqueues each chunk into a `ReadableStream` with the pool's
 * default result budget (8). It ignores the readable side's backpressure,
 * which a reader loop that keeps up never needs.
 */
export function barePair(
  source: ReadableStream<number>,
): ReadableStream<number> {
  let output!: ReadableStreamDefaultController<number>;
  const readable = new ReadableStream<number>({
    start: (controller) => {
      output = controller;
    },
  }, { highWaterMark: 8 });
  const writable = new WritableStream<number>({
    write: (chunk) => output.enqueue(chunk),
    close: () => output.close(),
  }, { highWaterMark: 1 });
  return source.pipeThrough({ writable, readable });
}

/**
 * Every scenario: pools with async jobs, then with sync jobs, smaller
 * pools first; last the bare-pair reference.
 */
export const SCENARIOS: readonly Scenario[] = [
  ...CONCURRENCIES.map((maxWorkers) => ({
    name: `async no-op, maxWorkers ${maxWorkers}`,
    pipe: pool(asyncNoop, maxWorkers),
    isPool: true,
  })),
  ...CONCURRENCIES.map((maxWorkers) => ({
    name: `sync no-op, maxWorkers ${maxWorkers}`,
    pipe: pool(syncNoop, maxWorkers),
    isPool: true,
  })),
  {
    name: "reference: bare pair, no pool",
    pipe: barePair,
    isPool: false,
  },
];

// Built once and shared by every run: both sides read the same array, and
// building it is not part of what is timed.
const JOBS: readonly number[] = Array.from(
  { length: JOBS_PER_RUN },
  (_, i) => i,
);

/**
 * One run: streams {@linkcode JOBS_PER_RUN} jobs from an array through
 * `pipe` and reads every result.
 *
 * @throws {Error} Results were lost or duplicated.
 */
export async function runOnce(pipe: Pipe): Promise<void> {
  const read = await readToEnd(pipe(ReadableStream.from(JOBS)));
  if (read !== JOBS_PER_RUN) {
    throw new Error(
      `Bench run failed: expected ${JOBS_PER_RUN} results, received ${read}`,
    );
  }
}

/**
 * Reads `stream` to the end with a reader loop, the way a consumer that
 * does nothing with its results would, and returns how many it read.
 */
export async function readToEnd(
  stream: ReadableStream<unknown>,
  options: ReadToEndOptions = {},
): Promise<number> {
  const { sampleEvery = Infinity, onSample } = options;
  const reader = stream.getReader();
  let count = 0;
  let nextSample = sampleEvery;
  while (true) {
    const { done } = await reader.read();
    if (done) return count;
    count++;
    if (count === nextSample) {
      onSample?.(count);
      nextSample += sampleEvery;
    }
  }
}
