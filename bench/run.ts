/**
 * Pool throughput as a plain script that runs the same under Deno and Bun:
 * the scenarios of `scenarios.ts` (100,000 no-op jobs per run, async and
 * sync, on up to 8 and 64 workers, and the bare-pair reference), each
 * paired with the floor
 * (`ReadableStream.from(array).pipeThrough(new TransformStream())`) in
 * every repetition. Prints a Markdown table with the runtime's name and
 * version: jobs/s (median and min-max over the repetitions) and the ratio
 * to the floor (the median of the per-repetition ratios, and their
 * min-max). The target is a median ratio of at least 0.70 for every pool.
 *
 * Run it with:
 *
 *     deno task bench:run
 *     deno run bench/run.ts
 *     bun bench/run.ts
 *
 * Built for a noisy shared machine: one warm-up round first, then
 * repetitions that alternate which side of each pair runs first, so a
 * slow spell or a major collection does not always land on the same side.
 * Medians, not means, summarise the repetitions; the floor row pools the
 * floor runs of every pair.
 *
 * No collection is forced between runs, on purpose. Under V8 a full
 * collection deoptimises code compiled against the previous run's objects
 * (the stream and pool instances it embedded), so every run after one
 * starts cold: both sides slow down, the pool far more than the
 * floor, and the ratio measures re-optimisation rather than the pool.
 * Scavenges come from each run's own allocation, so each side pays mostly
 * for its own garbage anyway.
 * @module
 */

import { runtimeName } from "./_runtime.ts";
import { formatCount, median } from "./_summary.ts";
import {
  floor,
  JOBS_PER_RUN,
  type Pipe,
  runOnce,
  SCENARIOS,
} from "./scenarios.ts";

const REPETITIONS = 7;
const WARMUP_ROUNDS = 1;
const TARGET_RATIO = 0.7;

/** One scenario's measurements, one entry per repetition. */
interface Measured {
  readonly name: string;
  readonly isPool: boolean;
  readonly jobsPerSecond: number[];
  readonly ratios: number[];
}

for (let round = 0; round < WARMUP_ROUNDS; round++) {
  for (const scenario of SCENARIOS) {
    await runOnce(floor);
    await runOnce(scenario.pipe);
  }
}

const floorJobsPerSecond: number[] = [];
const measured: Measured[] = SCENARIOS.map(({ name, isPool }) => ({
  name,
  isPool,
  jobsPerSecond: [],
  ratios: [],
}));
// Repetitions outermost, so every scenario samples the whole stretch of
// time the bench runs in, not one slice of it.
for (let repetition = 0; repetition < REPETITIONS; repetition++) {
  for (const [index, scenario] of SCENARIOS.entries()) {
    const isScenarioFirst = (repetition + index) % 2 === 0;
    let scenarioRate: number;
    let floorRate: number;
    if (isScenarioFirst) {
      scenarioRate = await jobsPerSecond(scenario.pipe);
      floorRate = await jobsPerSecond(floor);
    } else {
      floorRate = await jobsPerSecond(floor);
      scenarioRate = await jobsPerSecond(scenario.pipe);
    }
    floorJobsPerSecond.push(floorRate);
    measured[index].jobsPerSecond.push(scenarioRate);
    measured[index].ratios.push(scenarioRate / floorRate);
  }
}

console.log(report());

async function jobsPerSecond(pipe: Pipe): Promise<number> {
  const startMs = performance.now();
  await runOnce(pipe);
  return JOBS_PER_RUN / ((performance.now() - startMs) / 1000);
}

function report(): string {
  const lines = [
    `### Throughput on ${runtimeName()}`,
    "",
    `${JOBS_PER_RUN.toLocaleString("en-US")} jobs per run, ` +
    `${REPETITIONS} repetitions after ${WARMUP_ROUNDS} warm-up round, ` +
    "scenario and floor alternating which runs first; " +
    "the floor row pools the floor runs of every pair.",
    "",
    "| scenario | jobs/s (median) | min-max | ratio to floor (median) | ratio min-max |",
    "| --- | ---: | ---: | ---: | ---: |",
    row(
      "floor: from(array).pipeThrough(new TransformStream())",
      floorJobsPerSecond,
      undefined,
    ),
  ];
  for (const { name, jobsPerSecond, ratios } of measured) {
    lines.push(row(name, jobsPerSecond, ratios));
  }
  const short = measured.filter(({ isPool, ratios }) =>
    isPool && median(ratios) < TARGET_RATIO
  );
  lines.push(
    "",
    short.length === 0
      ? `Target met: every pool's median ratio is >= ${TARGET_RATIO}.`
      : `Target missed (median ratio < ${TARGET_RATIO}): ${
        // Three decimals: the table's two can round a miss up to 0.70.
        short.map(({ name, ratios }) =>
          `${name} (${median(ratios).toFixed(3)})`
        ).join("; ")}.`,
  );
  return lines.join("\n");
}

function row(
  name: string,
  rates: readonly number[],
  ratios: readonly number[] | undefined,
): string {
  const ratioCells = ratios === undefined ? ["1 (baseline)", "-"] : [
    median(ratios).toFixed(2),
    `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`,
  ];
  return `| ${name} | ${formatCount(median(rates))} | ${
    formatCount(Math.min(...rates))
  }-${formatCount(Math.max(...rates))} | ${ratioCells.join(" | ")} |`;
}
