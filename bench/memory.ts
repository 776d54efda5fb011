/**
 * Pool memory over a long stream: 1,000,000 async no-op jobs through a
 * pool of up to 8 workers, from a generator-backed `ReadableStream` (so no
 * input array is counted), read to the end. The floor (an identity
 * `TransformStream`) streams the same jobs first, in the same process, as
 * the baseline.
 *
 * It samples heap used and RSS at the start (after a full collection),
 * every 100,000 results and at the end, and prints a Markdown table: the
 * heap at the start, its peak and at the end, the growth (peak - start and
 * end - start) and the RSS, for the floor and the pool. The target is a
 * pool heap growth (peak - start) under 10 MB: a pool that holds on to
 * finished jobs or results would grow with the stream instead.
 *
 * Run it with:
 *
 *     deno task bench:memory
 *     deno run --v8-flags=--expose-gc bench/memory.ts
 *     bun bench/memory.ts
 *
 * A full collection before each sample shows what is live, not garbage
 * waiting for the collector. Deno exposes one only with `--expose-gc`,
 * Bun always (`Bun.gc`); without one, the numbers include garbage and the
 * table says so. Forced collections slow the run down (see `run.ts`), so
 * the jobs/s here are not throughput figures. 1 MB here is 2^20 bytes.
 * @module
 */

import {
  canCollectGarbage,
  collectGarbage,
  type MemorySample,
  runtimeName,
  sampleMemory,
} from "./_runtime.ts";
import { asyncNoop, floor, type Pipe, pool, readToEnd } from "./scenarios.ts";

const JOBS = 1_000_000;
const SAMPLE_EVERY = 100_000;
const WARMUP_JOBS = 20_000;
const MAX_WORKERS = 8;
const LIMIT_MB = 10;
const BYTES_PER_MB = 1024 * 1024;

/** What one pipe's run of {@linkcode JOBS} jobs did to memory. */
interface MemoryRun {
  /** After a full collection, before the streams exist. */
  readonly start: MemorySample;
  /** Every sample, start and end included; after a collection if any. */
  readonly samples: readonly MemorySample[];
  /** The same instants, before that collection. */
  readonly rawSamples: readonly MemorySample[];
  /** After the output ended and a full collection. */
  readonly end: MemorySample;
  readonly seconds: number;
}

const poolPipe = pool(asyncNoop, MAX_WORKERS);

// Compiles both paths first, so that code and its feedback are not
// counted as growth of whichever side runs first.
await streamThrough(floor, WARMUP_JOBS);
await streamThrough(poolPipe, WARMUP_JOBS);

const floorRun = await measure(floor);
const poolRun = await measure(poolPipe);
console.log(report(floorRun, poolRun));

async function measure(pipe: Pipe): Promise<MemoryRun> {
  const samples: MemorySample[] = [];
  const rawSamples: MemorySample[] = [];
  const sample = () => {
    rawSamples.push(sampleMemory());
    collectGarbage();
    samples.push(sampleMemory());
  };

  sample();
  const startMs = performance.now();
  await streamThrough(pipe, JOBS, sample);
  const seconds = (performance.now() - startMs) / 1000;
  sample();

  return {
    start: samples[0],
    samples,
    rawSamples,
    end: samples[samples.length - 1],
    seconds,
  };
}

async function streamThrough(
  pipe: Pipe,
  jobs: number,
  onSample?: () => void,
): Promise<void> {
  const source = ReadableStream.from(numbers(jobs));
  const read = await readToEnd(pipe(source), {
    sampleEvery: SAMPLE_EVERY,
    onSample,
  });
  if (read !== jobs) {
    throw new Error(
      `Memory bench failed: expected ${jobs} results, received ${read}`,
    );
  }
}

function* numbers(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

function report(floorRun: MemoryRun, poolRun: MemoryRun): string {
  const collected = canCollectGarbage();
  const heapPeak = (run: MemoryRun) => peak(run.samples, "heapUsedBytes");
  const heapGrowth = (run: MemoryRun) =>
    heapPeak(run) - run.start.heapUsedBytes;
  const rows: Array<[string, (run: MemoryRun) => number, number]> = [
    ["heap used at start", (run) => run.start.heapUsedBytes, 2],
    [
      collected ? "heap used, peak of samples (after GC)" : "heap used, peak",
      heapPeak,
      2,
    ],
    [
      "heap used, peak of samples (before GC)",
      (run) => peak(run.rawSamples, "heapUsedBytes"),
      2,
    ],
    ["heap used at end", (run) => run.end.heapUsedBytes, 2],
    ["**heap growth, peak - start**", heapGrowth, 2],
    [
      "heap growth, end - start",
      (run) => run.end.heapUsedBytes - run.start.heapUsedBytes,
      2,
    ],
    ["RSS at start", (run) => run.start.rssBytes, 1],
    ["RSS, peak of samples", (run) => peak(run.rawSamples, "rssBytes"), 1],
    ["RSS at end", (run) => run.end.rssBytes, 1],
  ];
  const poolGrowthMb = heapGrowth(poolRun) / BYTES_PER_MB;
  const lines = [
    `### Memory on ${runtimeName()}`,
    "",
    `${JOBS.toLocaleString("en-US")} async no-op jobs from a generator, ` +
    `pool of up to ${MAX_WORKERS} workers; samples at the start, every ` +
    `${SAMPLE_EVERY.toLocaleString("en-US")} results and at the end, ` +
    (collected
      ? "each after a full GC."
      : "with no GC exposed, so samples include uncollected garbage."),
    "",
    "| MB | floor | pool | pool - floor |",
    "| --- | ---: | ---: | ---: |",
    ...rows.map(([label, measureOf, digits]) => {
      const floorMb = measureOf(floorRun) / BYTES_PER_MB;
      const poolMb = measureOf(poolRun) / BYTES_PER_MB;
      return `| ${label} | ${floorMb.toFixed(digits)} | ${
        poolMb.toFixed(digits)
      } | ${(poolMb - floorMb).toFixed(digits)} |`;
    }),
    `| time, s | ${floorRun.seconds.toFixed(2)} | ${
      poolRun.seconds.toFixed(2)
    } | |`,
    "",
    `Pool heap growth: ${poolGrowthMb.toFixed(2)} MB, ` +
    (poolGrowthMb < LIMIT_MB
      ? `under the ${LIMIT_MB} MB target.`
      : `NOT under the ${LIMIT_MB} MB target.`),
  ];
  return lines.join("\n");
}

function peak(
  samples: readonly MemorySample[],
  key: keyof MemorySample,
): number {
  return Math.max(...samples.map((sample) => sample[key]));
}
