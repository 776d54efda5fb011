/**
 * Pool throughput under `deno bench`: 100,000 no-op jobs per iteration,
 * async and sync, on up to 8 and 64 workers, streamed in from an array and
 * read out to the end, plus the bare-pair reference (the pool's stream
 * shape with no pool in it; see `scenarios.ts`). Each scenario is its own
 * group, with the floor
 * (`ReadableStream.from(array).pipeThrough(new TransformStream())`) as its
 * baseline, so `deno bench` prints how many times slower than the floor
 * each is; the pool's target is at most 1.43x (70% of the floor's rate).
 *
 * Run it with:
 *
 *     deno task bench
 *     deno bench bench/throughput_bench.ts
 *
 * No collection is forced between iterations: under V8 a forced full
 * collection deoptimises code compiled against the previous iteration's
 * streams, and the bench would then measure re-optimisation (see
 * `run.ts`).
 *
 * `deno bench` runs one case's iterations back to back, so noise on a
 * shared machine lands on one side of a ratio; groups alternate which side
 * runs first to spread it. `run.ts` pairs the two sides per repetition
 * instead, and is also the way to run these scenarios under Bun:
 *
 *     bun bench/run.ts
 * @module
 */

import { floor, type Pipe, runOnce, SCENARIOS } from "./scenarios.ts";

// Each iteration is a whole 100,000-job run (tens of milliseconds), so a
// few iterations already give a stable mean; this keeps the bench short on
// a shared machine.
const ITERATIONS = 20;
const WARMUP_ITERATIONS = 3;

for (const [index, scenario] of SCENARIOS.entries()) {
  const group = scenario.name;
  const floorCase = () => register(group, "floor", floor, true);
  const scenarioCase = () => register(group, group, scenario.pipe, false);
  if (index % 2 === 0) {
    floorCase();
    scenarioCase();
  } else {
    scenarioCase();
    floorCase();
  }
}

function register(
  group: string,
  name: string,
  pipe: Pipe,
  baseline: boolean,
): void {
  Deno.bench({
    name,
    group,
    baseline,
    n: ITERATIONS,
    warmup: WARMUP_ITERATIONS,
    // An async function, not one returning a promise: `deno bench` awaits
    // only functions it sees are async, and would otherwise overlap runs.
    fn: async () => {
      await runOnce(pipe);
    },
  });
}
