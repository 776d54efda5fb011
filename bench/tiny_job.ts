/**
 * The tiny job of `threads.ts`, far cheaper than the message that carries
 * it, so a pool's own cost per job is all a run measures. Its default
 * export is the work function, the shape the thread backend and tinypool
 * both load from a worker file; `_workerpool_worker.ts` and
 * `_raw_worker.ts` register the same function.
 * @module
 */

/** Adds one. */
export default function increment(n: number): number {
  return n + 1;
}
