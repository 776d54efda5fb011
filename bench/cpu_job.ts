/**
 * The CPU-bound job of `threads.ts`: a xorshift loop of `iterations`
 * steps, pure computation with no allocation and no I/O. Its default export
 * is the work function, so the thread backend runs this module in each
 * worker thread, while the in-thread pool and the bare workers import the
 * same function: every side runs the same code on the same input.
 *
 * The result depends on every step, so no engine can skip the loop, and
 * it is the same for the same input, so the bench checks every result.
 * @module
 */

/** Runs `iterations` xorshift steps and returns the final state. */
export default function cpuJob(iterations: number): number {
  let state = 0x9e3779b9 | 0;
  for (let i = 0; i < iterations; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
  }
  return state;
}
