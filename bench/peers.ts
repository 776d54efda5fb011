/**
 * The pool against the libraries people reach for to bound concurrency:
 * p-queue, p-limit, p-map (`pMap` and `pMapIterable`), RxJS `mergeMap` and
 * fastq, as a plain script that runs unchanged under Deno, Bun and
 * Node.js 20. Three workloads:
 *
 * 1. Overhead: 200,000 no-op jobs (`async (n) => n`, the same function
 *    for everyone) at concurrency 8 and 64, through the pool
 *    (`source.pipeThrough(autoScale(job, { maxWorkers }))`, defaults
 *    otherwise: unordered output) and through each peer wrapped in the
 *    stream-in, stream-out pipeline a careful user would write around it
 *    (`_peer_pipes.ts`: pull-based input, bounded memory, backpressure,
 *    errors passed on). Those rows are the fair comparison. For context,
 *    the same peers raw, fed from an array and collecting an array
 *    (`_peer_baselines.ts`), and three floors: one `for await` loop over
 *    the source, N loops sharing one reader, and an identity
 *    `TransformStream`.
 * 2. I/O-shaped: 2,000 jobs that each await a 2 ms `setTimeout`, at
 *    concurrency 64, through the pool and every stream-wrapped peer, with
 *    the N-loop floor as a reference, 25 repetitions (a run is short and
 *    timers are noisy). Little's law puts the ideal at jobs x latency /
 *    concurrency = 62.5 ms.
 * 3. Memory: 1,000,000 no-op jobs at concurrency 64 through the pool and
 *    each stream-wrapped peer, three times each, every run in a fresh
 *    child process of the same runtime (`_peer_memory.ts`), sampling heap
 *    used and RSS every 10,000 results; and two floors that run no job,
 *    the source read alone and the source through an identity
 *    `TransformStream`, for the RSS the harness and the streams take.
 *
 * Every run streams the numbers 0 to jobs - 1 from a pull-based
 * `ReadableStream` that makes them on demand, reads every result with a
 * reader loop (or collects the array, for the raw rows), and checks the
 * count and the sum of the results, so a lost or duplicated result fails
 * the bench.
 *
 * Run it with (the repetition count is optional, 5 by default; `--quick`
 * runs small job counts twice, for development):
 *
 *     deno task bench:peers [repetitions] [--quick]
 *     deno run --allow-run --allow-read=node_modules \
 *       --v8-flags=--expose-gc bench/peers.ts [repetitions] [--quick]
 *     node_modules/.bin/bun bench/peers.ts [repetitions] [--quick]
 *     deno task bench:peers:node [repetitions] [--quick]
 *
 * Deno needs `--allow-run` for the memory children, `--allow-read` for the
 * peers' versions. Node.js 20 cannot run TypeScript, so the last task
 * bundles this script into `bench/.build/peers.mjs` and runs that with
 * `node --expose-gc` (see `node.ts`). Only the Markdown report goes to
 * stdout, progress goes to stderr.
 *
 * Built for a noisy shared machine: one warm-up round of every contender
 * first, then repetitions that rotate the contenders' order (and reverse
 * it every other time), so a slow spell does not always land on the same
 * one. Medians, with min-max; a ratio to the pool is the median of the
 * per-repetition ratios. No collection is forced between timed runs (see
 * `run.ts`: under V8 it would measure re-optimisation instead).
 *
 * How to read it: in the overhead table a ratio below 1 means the
 * contender is slower than the pool at the same concurrency; the floors
 * show what streams and promises cost with no scheduling at all. In the
 * I/O table the ratio to the ideal shows how much of the time is the
 * pipeline's (and the timers' own lateness, which the floor shows). In the
 * memory table, the live heap growth is what a contender retains as the
 * stream flows; a bounded pipeline stays flat however long the stream.
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import {
  type BaselineContender,
  countingSource,
  FLOORS,
  type JobInput,
  RAW_PEERS,
  readAndTally,
  type Tally,
} from "./_peer_baselines.ts";
import {
  measureInChild,
  MEMORY_CHILD,
  type MemoryResult,
  runMemoryChild,
} from "./_peer_memory.ts";
import {
  type Job,
  OURS,
  PEER_PIPES,
  type PipeContender,
} from "./_peer_pipes.ts";
import { runtimeName } from "./_runtime.ts";
import {
  formatCount,
  formatFixed,
  median,
  medianWithSpread,
} from "./_summary.ts";
import { asyncNoop } from "./scenarios.ts";

/** The sizes of one bench run. */
interface Plan {
  readonly repetitions: number;
  /**
   * Repetitions of the I/O workload, which is short and timer-bound, so
   * it needs more of them for a steady median.
   */
  readonly ioRepetitions: number;
  readonly overheadJobs: number;
  readonly ioJobs: number;
  readonly memoryJobs: number;
  /** Fresh child processes per contender in the memory workload. */
  readonly memoryRuns: number;
}

/** Which table a row belongs to, which sets its label. */
type Group = "ours" | "stream" | "raw" | "floor";

/** One row of the overhead or I/O table. */
interface Contender {
  readonly label: string;
  readonly group: Group;
  readonly run: (
    input: JobInput,
    job: Job,
    concurrency: number,
  ) => Promise<Tally>;
}

const FULL: Plan = {
  repetitions: 5,
  ioRepetitions: 25,
  overheadJobs: 200_000,
  ioJobs: 2_000,
  memoryJobs: 1_000_000,
  memoryRuns: 3,
};
const QUICK: Plan = {
  repetitions: 2,
  ioRepetitions: 2,
  overheadJobs: 20_000,
  ioJobs: 500,
  memoryJobs: 100_000,
  memoryRuns: 1,
};
const CONCURRENCIES: readonly number[] = [8, 64];
const IO_CONCURRENCY = 64;
const IO_LATENCY_MS = 2;
const MEMORY_CONCURRENCY = 64;
const BYTES_PER_MB = 1024 * 1024;
// The resolution of the memory table's columns: live heap growth with two
// decimals, every other size with one.
const LIVE_GROWTH_UNIT_MB = 0.01;
const MB_COLUMN_UNIT_MB = 0.1;
/**
 * The memory workload's references, which run no job: the source read
 * directly, so what the counting source and the reader alone cost shows,
 * and the same through an identity `TransformStream`, what `pipeThrough`
 * costs by itself.
 */
const MEMORY_FLOORS: readonly PipeContender[] = [
  {
    id: "floor-source",
    name: "floor: the source read directly, no job run",
    pipe: (source) => source,
  },
  {
    id: "floor-identity",
    name: "floor: `pipeThrough(new TransformStream())`, no job run",
    pipe: (source) => source.pipeThrough(new TransformStream()),
  },
];
const SCRIPT = fileURLToPath(import.meta.url);

const args = process.argv.slice(2);
if (args[0] === MEMORY_CHILD) {
  const [, id, jobs, concurrency] = args;
  const contender = [OURS, ...PEER_PIPES, ...MEMORY_FLOORS].find((c) =>
    c.id === id
  );
  if (contender === undefined) {
    throw new RangeError(
      `Cannot run memory child: unknown contender id, received ${id}`,
    );
  }
  await runMemoryChild(contender, asyncNoop, Number(jobs), Number(concurrency));
} else {
  console.log(await report(parsePlan(args)));
}

function parsePlan(args: readonly string[]): Plan {
  const isQuick = args.includes("--quick");
  const counts = args.filter((arg) => arg !== "--quick");
  const plan = isQuick ? QUICK : FULL;
  if (counts.length === 0) return plan;
  const repetitions = Number(counts[0]);
  if (counts.length > 1 || !Number.isInteger(repetitions) || repetitions < 1) {
    throw new RangeError(
      `Cannot run bench: the arguments must be a repetition count (an integer >= 1) and --quick, received ${
        args.join(" ")
      }`,
    );
  }
  return { ...plan, repetitions };
}

async function report(plan: Plan): Promise<string> {
  const streamRows = [OURS, ...PEER_PIPES].map(pipeRow);
  const overheadRows = [
    ...streamRows,
    ...RAW_PEERS.map((c) => baselineRow(c, "raw")),
    ...FLOORS.map((c) => baselineRow(c, "floor")),
  ];
  const ioRows = [...streamRows, baselineRow(FLOORS[1], "floor")];
  const overhead = await measureOverhead(plan, overheadRows);
  const io = await measureIo(plan, ioRows);
  const memory = await measureMemory(plan);
  return [
    `### Peers on ${runtimeName()}`,
    "",
    `${plan.repetitions} repetitions (${plan.ioRepetitions} of the ` +
    "I/O workload) after a warm-up round, the " +
    "contenders' order rotating (and reversing) each repetition; " +
    "medians (min-max). Every run checked the count and sum of its results.",
    "",
    overheadTable(plan, overheadRows, overhead),
    "",
    ioTable(plan, ioRows, io),
    "",
    memoryTable(plan, memory),
  ].join("\n");
}

/** Per concurrency, per row: jobs/s of each repetition. */
type Rates = Map<number, number[][]>;

async function measureOverhead(
  plan: Plan,
  rows: readonly Contender[],
): Promise<Rates> {
  const input = jobInput(plan.overheadJobs);
  progress(`overhead: warm-up, ${rows.length} contenders`);
  for (const concurrency of CONCURRENCIES) {
    for (const row of rows) await timedRun(row, input, asyncNoop, concurrency);
  }
  const rates: Rates = new Map(
    CONCURRENCIES.map((c) => [c, rows.map(() => [])]),
  );
  for (let repetition = 0; repetition < plan.repetitions; repetition++) {
    progress(`overhead: repetition ${repetition + 1}/${plan.repetitions}`);
    for (const concurrency of CONCURRENCIES) {
      for (const index of rotation(rows.length, repetition, plan.repetitions)) {
        const ms = await timedRun(rows[index], input, asyncNoop, concurrency);
        rates.get(concurrency)![index].push(input.count / (ms / 1000));
      }
    }
  }
  return rates;
}

async function measureIo(
  plan: Plan,
  rows: readonly Contender[],
): Promise<number[][]> {
  const input = jobInput(plan.ioJobs);
  const job: Job = (n) =>
    new Promise((resolve) => setTimeout(resolve, IO_LATENCY_MS, n));
  progress(`I/O: warm-up, ${rows.length} contenders`);
  for (const row of rows) await timedRun(row, input, job, IO_CONCURRENCY);
  const elapsedMs: number[][] = rows.map(() => []);
  for (let repetition = 0; repetition < plan.ioRepetitions; repetition++) {
    progress(`I/O: repetition ${repetition + 1}/${plan.ioRepetitions}`);
    for (
      const index of rotation(rows.length, repetition, plan.ioRepetitions)
    ) {
      elapsedMs[index].push(
        await timedRun(rows[index], input, job, IO_CONCURRENCY),
      );
    }
  }
  return elapsedMs;
}

/** One contender's memory runs, each in a fresh process. */
type MemoryRuns = readonly [PipeContender, MemoryResult[]];

async function measureMemory(plan: Plan): Promise<MemoryRuns[]> {
  const contenders = [OURS, ...PEER_PIPES, ...MEMORY_FLOORS];
  const runs = contenders.map((c): [PipeContender, MemoryResult[]] => [c, []]);
  for (let repetition = 0; repetition < plan.memoryRuns; repetition++) {
    for (
      const index of rotation(contenders.length, repetition, plan.memoryRuns)
    ) {
      const [contender, results] = runs[index];
      progress(
        `memory: ${contender.id}, in a child process ` +
          `(${repetition + 1}/${plan.memoryRuns})`,
      );
      const result = await measureInChild({
        script: SCRIPT,
        contender,
        jobs: plan.memoryJobs,
        concurrency: MEMORY_CONCURRENCY,
      });
      checkTally(`${contender.id} (memory)`, result.tally, plan.memoryJobs);
      results.push(result);
    }
  }
  return runs;
}

/**
 * The order of `count` rows in one repetition: rotated by an even share
 * of the rows each time, and reversed every other time, so each row runs
 * early, late, before and after each other row across the repetitions.
 */
function rotation(
  count: number,
  repetition: number,
  repetitions: number,
): number[] {
  const step = Math.ceil(count / repetitions);
  const start = (repetition * step) % count;
  const order = Array.from({ length: count }, (_, i) => (start + i) % count);
  return repetition % 2 === 0 ? order : order.reverse();
}

/** Runs `row` once and returns its elapsed milliseconds. */
async function timedRun(
  row: Contender,
  input: JobInput,
  job: Job,
  concurrency: number,
): Promise<number> {
  const startMs = performance.now();
  const tally = await row.run(input, job, concurrency);
  const ms = performance.now() - startMs;
  checkTally(row.label, tally, input.count);
  return ms;
}

/**
 * @throws {Error} The results are not each of 0 to `jobs` - 1 once, by
 * count and sum.
 */
function checkTally(label: string, tally: Tally, jobs: number): void {
  const sum = (jobs * (jobs - 1)) / 2;
  if (tally.count !== jobs || tally.sum !== sum) {
    throw new Error(
      `Bench run failed (${label}): expected ${jobs} results summing to ${sum}, received ${tally.count} summing to ${tally.sum}`,
    );
  }
}

function jobInput(count: number): JobInput {
  return {
    count,
    array: Array.from({ length: count }, (_, i) => i),
    source: () => countingSource(count),
  };
}

function pipeRow(contender: PipeContender): Contender {
  return {
    label: labelOf(contender),
    group: contender === OURS ? "ours" : "stream",
    run: (input, job, concurrency) =>
      readAndTally(contender.pipe(input.source(), job, concurrency)),
  };
}

function baselineRow(contender: BaselineContender, group: Group): Contender {
  const label = labelOf(contender);
  return {
    label: group === "raw" ? `raw, for context: ${label}` : label,
    group,
    run: contender.run,
  };
}

function labelOf(
  contender: { readonly name: string; readonly packageName?: string },
): string {
  const { name, packageName } = contender;
  return packageName === undefined
    ? name
    : `${packageName} ${packageVersion(packageName)}: ${name}`;
}

function overheadTable(
  plan: Plan,
  rows: readonly Contender[],
  rates: Rates,
): string {
  const oursIndex = rows.findIndex((row) => row.group === "ours");
  const header = CONCURRENCIES.flatMap((c) => [
    `jobs/s, concurrency ${c}`,
    `ratio to ours, ${c}`,
  ]);
  const lines = [
    `#### Overhead: ${formatCount(plan.overheadJobs)} no-op jobs`,
    "",
    `| contender | ${header.join(" | ")} |`,
    `| --- |${" ---: |".repeat(header.length)}`,
  ];
  const atLeastOurs: string[] = [];
  for (const [index, row] of rows.entries()) {
    const cells = CONCURRENCIES.flatMap((concurrency) => {
      const own = rates.get(concurrency)![index];
      const ours = rates.get(concurrency)![oursIndex];
      const ratios = own.map((rate, i) => rate / ours[i]);
      if (row.group === "stream" && median(ratios) >= 1) {
        atLeastOurs.push(
          `${row.label} at concurrency ${concurrency} (${
            formatFixed(2)(median(ratios))
          })`,
        );
      }
      return [
        medianWithSpread(own, formatCount),
        index === oursIndex
          ? "1 (baseline)"
          : medianWithSpread(ratios, formatFixed(2)),
      ];
    });
    lines.push(`| ${row.label} | ${cells.join(" | ")} |`);
  }
  lines.push(
    "",
    "Read it as: jobs/s from the first job pulled to the last result " +
      "read, median (min-max); a ratio is the contender's jobs/s over " +
      "ours in the same repetition, so below 1 it is slower than ours. " +
      "Stream-wrapped rows are the fair comparison. Raw rows skip the " +
      "streams (array in, array out, every job queued at once), and the " +
      "floors show the cost of the source, the reader and the promises " +
      "with no scheduling at all; the identity `TransformStream` runs no " +
      "job.",
    "",
    atLeastOurs.length === 0
      ? `${targetWord()} met: ` +
        "ours is ahead of every stream-wrapped peer (every " +
        "median ratio < 1)."
      : `${targetWord()} missed: a stream-wrapped peer is at least as fast as ours: ${
        atLeastOurs.join("; ")
      }.`,
  );
  return lines.join("\n");
}

function ioTable(
  plan: Plan,
  rows: readonly Contender[],
  elapsedMs: readonly number[][],
): string {
  const idealMs = (plan.ioJobs * IO_LATENCY_MS) / IO_CONCURRENCY;
  const oursIndex = rows.findIndex((row) => row.group === "ours");
  // Our time over the contender's, per repetition: below 1 it is slower.
  const speedRatios = elapsedMs.map((own) =>
    own.map((ms, i) => elapsedMs[oursIndex][i] / ms)
  );
  const atLeastOurs = rows.flatMap((row, index) =>
    row.group === "stream" && median(speedRatios[index]) >= 1
      ? [`${row.label} (${formatFixed(2)(median(speedRatios[index]))})`]
      : []
  );
  const lines = [
    `#### I/O-shaped: ${formatCount(plan.ioJobs)} jobs of a ` +
    `${IO_LATENCY_MS} ms \`setTimeout\`, concurrency ${IO_CONCURRENCY}`,
    "",
    "| contender | elapsed ms | ratio to ideal | speed ratio to ours |",
    "| --- | ---: | ---: | ---: |",
    ...rows.map((row, index) =>
      `| ${row.label} | ${
        medianWithSpread(elapsedMs[index], formatFixed(1))
      } | ${
        medianWithSpread(
          elapsedMs[index].map((ms) => ms / idealMs),
          formatFixed(2),
        )
      } | ${
        index === oursIndex
          ? "1 (baseline)"
          : medianWithSpread(speedRatios[index], formatFixed(2))
      } |`
    ),
    "",
    `Read it as: the ideal is Little's law, jobs x latency / concurrency ` +
    `= ${formatFixed(1)(idealMs)} ms, and 1.00 is perfect. A timer fires ` +
    "a little late in every runtime, so even the floor (N loops that each " +
    "await one job at a time, nothing else) stays above 1; what a " +
    "contender adds beyond the floor is its own. The speed ratio is our " +
    "time over the contender's in the same repetition: below 1 it is " +
    "slower than ours.",
    "",
    atLeastOurs.length === 0
      ? `${targetWord()} met: ` +
        "ours is ahead of every stream-wrapped peer (every " +
        "median speed ratio < 1)."
      : `${targetWord()} missed: ` +
        "a stream-wrapped peer is at least as fast as " +
        `ours: ${atLeastOurs.join("; ")}.`,
  ];
  return lines.join("\n");
}

function memoryTable(plan: Plan, runs: readonly MemoryRuns[]): string {
  const mb = (bytes: number) => formatFixed(1)(bytes / BYTES_PER_MB);
  const spread = (results: readonly MemoryResult[], of: Measure) =>
    medianWithSpread(results.map(of), mb);
  const collected = runs.every(([, results]) =>
    results.every((result) => result.collected)
  );
  const lines = [
    `#### Memory: ${formatCount(plan.memoryJobs)} no-op jobs, ` +
    `concurrency ${MEMORY_CONCURRENCY}, each run in a fresh process`,
    "",
    "| contender | live heap, working size MB | live heap growth after it, MB | heap growth, peak MB | RSS growth, peak MB | RSS at baseline MB | time s |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...runs.map(([contender, results]) =>
      `| ${labelOf(contender)} | ${spread(results, liveSize)} | ${
        medianWithSpread(results.map(liveGrowth), formatLiveGrowth)
      } | ${spread(results, heapGrowth)} | ${spread(results, rssGrowth)} | ${
        mb(median(results.map((result) => result.baseline.rssBytes)))
      } | ${formatFixed(2)(median(results.map((result) => result.seconds)))} |`
    ),
    "",
    `Read it as: ${plan.memoryRuns} run${
      plan.memoryRuns === 1 ? "" : "s"
    } of each contender, each in a ` +
    "fresh process, medians (min-max). The live heap is sampled right " +
    "after a forced collection every 100,000 results. Its working size is " +
    "the first such sample over the baseline (taken after a warm-up run " +
    "and a full collection): the pipeline at its working size. Its growth " +
    `after that is the largest later sample over the first, in units of ` +
    `${LIVE_GROWTH_UNIT_MB} MB: what a contender holds on to as the ` +
    "stream flows, which a pipeline with bounded memory keeps near 0 " +
    "however long the stream. The other heap column samples every 10,000 " +
    "results, garbage included. RSS is the whole process: the floors show " +
    "what it grows by for the source and the reader alone, and through an " +
    "identity stream, with no job run. The forced " +
    "collections slow the runs, so the times are not throughput." +
    (collected
      ? ""
      : " No collection could be forced here, so the live column " +
        "includes garbage too."),
    "",
    memoryVerdict(runs),
  ];
  return lines.join("\n");
}

/** One measure of a memory run, in bytes. */
type Measure = (result: MemoryResult) => number;

function liveSize(result: MemoryResult): number {
  return result.firstLiveHeapBytes - result.baseline.heapUsedBytes;
}

function liveGrowth(result: MemoryResult): number {
  return result.peakLiveHeapBytes - result.firstLiveHeapBytes;
}

function formatLiveGrowth(bytes: number): string {
  return formatFixed(2)(bytes / BYTES_PER_MB);
}

function heapGrowth(result: MemoryResult): number {
  return result.peakHeapBytes - result.baseline.heapUsedBytes;
}

function rssGrowth(result: MemoryResult): number {
  return result.peakRssBytes - result.baseline.rssBytes;
}

/**
 * Whether ours holds no more than any stream-wrapped peer, by live heap
 * growth and by RSS growth. A peer holds less only if every one of its
 * runs measured below every one of ours, at the table's resolution: where
 * their ranges overlap, the difference is within what runs of one
 * contender vary by.
 */
function memoryVerdict(runs: readonly MemoryRuns[]): string {
  const ours = runs.find(([contender]) => contender === OURS)?.[1];
  if (ours === undefined) return "Target not checked: ours did not run.";
  // Each measure with the unit its column shows: the verdict compares at
  // the table's resolution.
  const measures = [
    ["live heap growth", liveGrowth, LIVE_GROWTH_UNIT_MB],
    ["RSS growth", rssGrowth, MB_COLUMN_UNIT_MB],
  ] as const;
  const lighter = runs.flatMap(([contender, results]) =>
    contender === OURS || MEMORY_FLOORS.includes(contender)
      ? []
      : measures.flatMap(([name, of, unitMb]) => {
        const units = (bytes: number) =>
          Math.round(bytes / BYTES_PER_MB / unitMb);
        return units(Math.max(...results.map(of))) <
            units(Math.min(...ours.map(of)))
          ? [`${labelOf(contender)} by ${name}`]
          : [];
      })
  );
  const verdict = lighter.length === 0
    ? `${targetWord()} met: no stream-wrapped peer holds less memory than ` +
      "ours, by live heap growth or by RSS growth."
    : `${targetWord()} missed: a stream-wrapped peer holds less than ours: ${
      lighter.join("; ")
    }.`;
  const floorRss = runs.flatMap(([contender, results]) =>
    MEMORY_FLOORS.includes(contender)
      ? [`${formatFixed(1)(median(results.map(rssGrowth)) / BYTES_PER_MB)} MB`]
      : []
  );
  // RSS moves with the allocator and the collector's timing, so the
  // floors give the scale of a difference in RSS growth.
  return `${verdict} For scale, with no job run RSS grows by ` +
    `${floorRss.join(" and ")} (the floors).`;
}

/**
 * How a verdict starts: the targets are set for Deno and Bun; under
 * Node.js the same checks are shown for context.
 */
function targetWord(): string {
  return "Deno" in globalThis || "Bun" in globalThis
    ? "Target"
    : "For context (the targets are for Deno and Bun), target";
}

/**
 * The installed version of a package. The bundle for Node.js runs from
 * `bench/.build/`, a level deeper than this file, hence two places.
 */
function packageVersion(name: string): string {
  for (const up of ["../", "../../"]) {
    const manifest = new URL(
      `${up}node_modules/${name}/package.json`,
      import.meta.url,
    );
    try {
      return (JSON.parse(readFileSync(manifest, "utf8")) as {
        version: string;
      }).version;
    } catch {
      // Not here; try a level up.
    }
  }
  throw new Error(`Cannot find the installed version of ${name}`);
}

function progress(message: string): void {
  console.error(`peers: ${message}`);
}
