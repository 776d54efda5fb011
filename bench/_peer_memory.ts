/**
 * The memory workload of `peers.ts`: each stream-wrapped contender streams
 * a long run of no-op jobs in a fresh child process of the same runtime,
 * so no contender inherits another's heap, compiled code or garbage.
 *
 * The parent spawns the entry script again with {@linkcode MEMORY_CHILD}
 * and the contender's id (via `node:child_process`, which Deno, Bun and
 * Node.js all implement) and reads one JSON line from the child's stdout.
 * The child first streams a short warm-up run, so compiled code is not
 * counted as growth, then forces a full collection where it can and takes
 * the baseline. During the run it samples heap used and RSS every
 * {@linkcode SAMPLE_EVERY} results, and forces a collection before every
 * tenth sample, whose heap is then what is live. 1 MB here is 2^20 bytes.
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import {
  canCollectGarbage,
  collectGarbage,
  type MemorySample,
  sampleMemory,
} from "./_runtime.ts";
import { countingSource, readAndTally, type Tally } from "./_peer_baselines.ts";
import type { Job, PipeContender } from "./_peer_pipes.ts";

/** The first argument that makes the entry script a memory child. */
export const MEMORY_CHILD = "--memory-child";

const SAMPLE_EVERY = 10_000;
const COLLECT_EVERY_SAMPLES = 10;
const WARMUP_JOBS = 20_000;

/** What one child measured, in bytes and seconds. */
export interface MemoryResult {
  readonly tally: Tally;
  readonly baseline: MemorySample;
  /** The largest heap used of every sample, garbage included. */
  readonly peakHeapBytes: number;
  /**
   * The heap used right after the first forced collection of the run,
   * with the pipeline at its working size; the baseline's if there was
   * none.
   */
  readonly firstLiveHeapBytes: number;
  /** The largest heap used right after a forced collection. */
  readonly peakLiveHeapBytes: number;
  readonly peakRssBytes: number;
  readonly seconds: number;
  /** Whether collections could be forced, so "live" means live. */
  readonly collected: boolean;
}

/** Options for {@linkcode measureInChild}. */
export interface ChildOptions {
  /** The entry script, run again as the child. */
  readonly script: string;
  readonly contender: PipeContender;
  readonly jobs: number;
  readonly concurrency: number;
}

/**
 * Runs one contender in a child process of this runtime and returns what
 * it measured.
 *
 * @throws {Error} The child failed or printed no result.
 */
export async function measureInChild(
  options: ChildOptions,
): Promise<MemoryResult> {
  const { script, contender, jobs, concurrency } = options;
  const [command, args] = childCommand(script, [
    MEMORY_CHILD,
    contender.id,
    String(jobs),
    String(concurrency),
  ]);
  const child = spawn(command, args, {
    stdio: ["ignore", "pipe", "inherit"],
  });
  // Ended by SIGTERM (the deadline of `all.ts`), this process takes its
  // child along instead of leaving it to run on.
  const endBoth = (): void => {
    child.kill("SIGTERM");
    process.exit(143);
  };
  process.once("SIGTERM", endBoth);
  let stdout = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => stdout += chunk);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  }).finally(() => process.off("SIGTERM", endBoth));
  if (code !== 0) {
    throw new Error(
      `Memory child failed: ${contender.id} exited with code ${code}`,
    );
  }
  return JSON.parse(stdout) as MemoryResult;
}

/**
 * The child's side: streams `jobs` no-op jobs through `contender` and
 * prints its {@linkcode MemoryResult} as JSON on stdout.
 */
export async function runMemoryChild(
  contender: PipeContender,
  job: Job,
  jobs: number,
  concurrency: number,
): Promise<void> {
  await readAndTally(
    contender.pipe(countingSource(WARMUP_JOBS), job, concurrency),
  );
  collectGarbage();
  const baseline = sampleMemory();
  let peakHeapBytes = baseline.heapUsedBytes;
  let firstLiveHeapBytes: number | undefined;
  let peakLiveHeapBytes = baseline.heapUsedBytes;
  let peakRssBytes = baseline.rssBytes;
  let samples = 0;
  const sample = (): void => {
    samples++;
    const raw = sampleMemory();
    peakHeapBytes = Math.max(peakHeapBytes, raw.heapUsedBytes);
    peakRssBytes = Math.max(peakRssBytes, raw.rssBytes);
    if (samples % COLLECT_EVERY_SAMPLES !== 0) return;
    collectGarbage();
    const live = sampleMemory().heapUsedBytes;
    firstLiveHeapBytes ??= live;
    peakLiveHeapBytes = Math.max(peakLiveHeapBytes, live);
  };

  const startMs = performance.now();
  const reader = contender.pipe(countingSource(jobs), job, concurrency)
    .getReader();
  let count = 0;
  let sum = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    count++;
    sum += value;
    if (count % SAMPLE_EVERY === 0) sample();
  }
  const seconds = (performance.now() - startMs) / 1000;

  const result: MemoryResult = {
    tally: { count, sum },
    baseline,
    peakHeapBytes,
    firstLiveHeapBytes: firstLiveHeapBytes ?? baseline.heapUsedBytes,
    peakLiveHeapBytes,
    peakRssBytes,
    seconds,
    collected: canCollectGarbage(),
  };
  console.log(JSON.stringify(result));
}

/**
 * The command that runs `script` with `args` in this runtime, with the
 * flag that exposes a forced collection when this process has one.
 */
function childCommand(
  script: string,
  args: readonly string[],
): [string, string[]] {
  if ("Deno" in globalThis) {
    const gcFlags = canCollectGarbage() ? ["--v8-flags=--expose-gc"] : [];
    return [process.execPath, ["run", ...gcFlags, script, ...args]];
  }
  // Node.js lists its own flags (`--expose-gc`) here; Bun needs none, as
  // `Bun.gc` is always there.
  const flags = "Bun" in globalThis ? [] : process.execArgv;
  return [process.execPath, [...flags, script, ...args]];
}
