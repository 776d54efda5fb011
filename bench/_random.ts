/**
 * A seeded pseudo-random generator, so that every pool a bench compares
 * sees the same keys and the same job durations, run after run.
 * @module
 */

/**
 * Returns a function that yields numbers in [0, 1), the same sequence for
 * the same seed (mulberry32: fast, and plenty for shaping a workload).
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
