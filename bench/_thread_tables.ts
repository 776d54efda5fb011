/**
 * The report `threads.ts` prints, from what it measured: one Markdown
 * table per part, each with the sentences that say how to read it and
 * whether the targets were met, and the sentence on the process's OS
 * threads. Pure: every number comes in through the report objects, so the
 * bench script keeps the measuring and this file the wording.
 *
 * Every ratio is taken within one repetition, then summarised by its
 * median, so a slow spell on a shared machine lands on both sides of a
 * ratio instead of on one side's median.
 * @module
 */

import {
  formatCount,
  formatFixed,
  median,
  medianWithSpread,
} from "./_summary.ts";

/** What one side's timed runs measured, one entry a run. */
export interface Measured {
  readonly wallMs: readonly number[];
  /**
   * From the start of the timing to the first result; NaN where the side
   * does not show it.
   */
  readonly firstResultMs: readonly number[];
}

/** A side by the name its row shows, with what it measured. */
export interface Side extends Measured {
  readonly name: string;
}

/** Part 1, CPU-bound jobs: the setup and every side's measurements. */
export interface CpuReport {
  readonly threads: number;
  readonly jobs: number;
  /** The job time the calibration aimed at, in ms. */
  readonly targetJobMs: number;
  /** The calibrated loop length of one job. */
  readonly iterations: number;
  /** One job's measured time in this thread, in ms. */
  readonly jobMs: number;
  /** The thread backend's warm speedup over the in-thread pool to meet. */
  readonly speedupTarget: number;
  /** (a) The thread backend, warm. */
  readonly warm: Side;
  /** (b) The in-thread pool: the baseline of every speedup. */
  readonly inThread: Side;
  /** (c) Bare workers, warm: the floor. */
  readonly bare: Side;
  /** The peers, warm. */
  readonly peers: readonly Side[];
  /** (a) cold: the thread backend with its threads started in the timing. */
  readonly cold: Side;
  /** (c) cold: bare workers started in the timing. */
  readonly bareCold: Side;
}

/** Part 2, tiny jobs: every side's measurements. */
export interface TinyReport {
  readonly jobs: number;
  /** The thread backend: the baseline of the ratios at one job a thread. */
  readonly ours: Side;
  readonly peers: readonly Side[];
  /** How many jobs each thread holds in the shared rows. */
  readonly jobsPerThread: number;
  /** The thread backend with `jobsPerThread`: the shared rows' baseline. */
  readonly oursShared: Side;
  /** The peers that can, holding `jobsPerThread` jobs per thread. */
  readonly sharedPeers: readonly Side[];
  /** Bare Web `Worker`s, one job in flight per thread. */
  readonly roundTrip: Side;
  /** The same on `node:worker_threads`. */
  readonly nodeRoundTrip: Side;
  /** Bare Web `Worker`s, every job posted at once. */
  readonly pipelined: Side;
  /** The in-thread pool: the pool's own cost, with no thread. */
  readonly inThread: Side;
  /** One sentence per peer left out. */
  readonly leftOut: readonly string[];
}

/** The process's OS thread count at one moment, if it could be read. */
export interface ThreadCount {
  readonly when: string;
  readonly count: number | undefined;
}

/** Part 1's table: wall time, first result, speedup, speed of the floor. */
export function cpuTable(report: CpuReport): string {
  const { threads, jobs, jobMs, warm, inThread, bare, cold, bareCold } = report;
  const x = (values: number[]): string =>
    medianWithSpread(values, formatFixed(2));
  const row = (side: Side, cells: string[]): string =>
    `| ${
      [
        side.name,
        medianWithSpread(side.wallMs, formatCount),
        side.firstResultMs.some(Number.isNaN)
          ? "-"
          : medianWithSpread(side.firstResultMs, formatCount),
        ...cells,
      ].join(" | ")
    } |`;
  const startUpMs = (coldSide: Side, warmSide: Side): string =>
    formatCount(
      median(coldSide.firstResultMs) - median(warmSide.firstResultMs),
    );
  const wallStartUpMs = (coldSide: Side, warmSide: Side): string =>
    formatCount(median(coldSide.wallMs) - median(warmSide.wallMs));
  const speedups = ratios(inThread, warm);
  return [
    `#### Part 1: CPU-bound, ${jobs} jobs of ${report.targetJobMs} ms`,
    "",
    `The job: ${formatCount(report.iterations)} loop steps, ` +
    `${formatFixed(1)(jobMs)} ms in this thread ` +
    `(median of 5), so ${jobs} of them take about ` +
    `${formatCount(jobs * jobMs)} ms serially and ` +
    `${formatCount((jobs * jobMs) / threads)} ms on ` +
    `${threads} threads. First result: from the start of the timing to ` +
    "the first result, one job's time plus, cold, the threads' start-up. " +
    "Speedup: (b)'s wall time over the row's, in the same repetition. " +
    "Speed of bare workers: the bare workers' wall time over the row's " +
    "(1 is as fast as bare workers; cold rows against the cold bare " +
    "workers). The peers are warmed like (a), each thread having run one " +
    "job, and get every job at once.",
    "",
    "| side | wall ms | first result ms | speedup over (b) | speed of bare workers (c) |",
    "| --- | ---: | ---: | ---: | ---: |",
    row(warm, [x(speedups), x(ratios(bare, warm))]),
    row(inThread, ["1 (baseline)", "-"]),
    row(bare, [x(ratios(inThread, bare)), "1 (baseline)"]),
    ...report.peers.map((peer) =>
      row(peer, [x(ratios(inThread, peer)), x(ratios(bare, peer))])
    ),
    row(cold, [x(ratios(inThread, cold)), x(ratios(bareCold, cold))]),
    row(bareCold, [x(ratios(inThread, bareCold)), "1 (baseline)"]),
    "",
    "Thread start-up, the first result cold minus warm (medians): thread " +
    `backend ${startUpMs(cold, warm)} ms, bare workers ` +
    `${startUpMs(bareCold, bare)} ms; as wall time, cold minus warm: ` +
    `thread backend ${wallStartUpMs(cold, warm)} ms, bare workers ` +
    `${wallStartUpMs(bareCold, bare)} ms.`,
    "",
    `Target (speedup of (a) over (b) >= ${report.speedupTarget}): ${
      median(speedups) >= report.speedupTarget ? "met" : "missed"
    }, median ${formatFixed(2)(median(speedups))}.`,
    "",
  ].join("\n");
}

/** Part 2's table: per-job cost, and where our cost goes. */
export function tinyTable(report: TinyReport): string {
  const { jobs, ours, peers, oursShared, sharedPeers } = report;
  const perJobUs = (side: Side): number[] =>
    side.wallMs.map((ms) => (ms * 1000) / jobs);
  const jobsPerSecond = (side: Side): number[] =>
    side.wallMs.map((ms) => jobs / (ms / 1000));
  const lines = [
    `#### Part 2: per-job overhead, ${formatCount(jobs)} jobs of ` +
    "`n => n + 1`",
    "",
    "µs/job: wall time over the job count, with both threads working. " +
    "Ours ÷ side: our jobs/s over the side's, in the same repetition, " +
    `ours at ${report.jobsPerThread} jobs per thread for the rows that ` +
    "hold as many, at one for every other; above 1 we are faster.",
    "",
    "| side | wall ms | jobs/s | µs/job | ours ÷ side (jobs/s) |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  const sides = [
    ours,
    ...peers,
    oursShared,
    ...sharedPeers,
    report.roundTrip,
    report.nodeRoundTrip,
    report.pipelined,
    report.inThread,
  ];
  for (const side of sides) {
    lines.push(
      `| ${
        [
          side.name,
          medianWithSpread(side.wallMs, formatCount),
          medianWithSpread(jobsPerSecond(side), formatCount),
          medianWithSpread(perJobUs(side), formatFixed(1)),
          side === ours || side === oursShared
            ? "1 (baseline)"
            : medianWithSpread(
              ratios(side, sharedPeers.includes(side) ? oursShared : ours),
              formatFixed(2),
            ),
        ].join(" | ")
      } |`,
    );
  }
  const verdicts = (sides: readonly Side[], baseline: Side): string =>
    sides.map((peer) => {
      const perRepetition = median(ratios(peer, baseline));
      const library = peer.name.split(" (")[0];
      return `${library}: ${perRepetition >= 1 ? "met" : "missed"} (median ${
        formatFixed(2)(perRepetition)
      })`;
    }).join("; ");
  const us = (side: Side): number => median(perJobUs(side));
  const fixed = formatFixed(1);
  const oursUs = us(ours);
  const roundTripUs = us(report.roundTrip);
  const inThreadUs = us(report.inThread);
  lines.push(
    "",
    `Where our ${fixed(oursUs)} µs/job go (medians): a bare round trip ` +
      `between Web \`Worker\`s, one number each way per job, takes ` +
      `${fixed(roundTripUs)}; the pool's own work, measured with no thread, ` +
      `${fixed(inThreadUs)}; ${
        restSentence(oursUs - roundTripUs - inThreadUs)
      } ` +
      "The same bare round trip on " +
      `\`node:worker_threads\`, the channel of tinypool and piscina, takes ` +
      `${fixed(us(report.nodeRoundTrip))}. Posted all at once, the messages ` +
      `take ${fixed(us(report.pipelined))} µs/job: waiting for each reply ` +
      "before sending the next job, as every pool here does at one job " +
      "per thread, costs far more than copying the messages. At " +
      `${report.jobsPerThread} jobs per thread ours take ` +
      `${fixed(us(oursShared))} µs/job: each thread has its next job at ` +
      "hand as it finishes one.",
    "",
    peers.length === 0
      ? "Target (no slower than the peers): not checked, no peer ran."
      : `Target (no slower than the peers), at one job per thread: ${
        verdicts(peers, ours)
      }${
        sharedPeers.length === 0
          ? ""
          : `; at ${report.jobsPerThread} jobs per thread: ${
            verdicts(sharedPeers, oursShared)
          }`
      }.`,
    ...report.leftOut.map((sentence) => `\n${sentence}`),
    "",
  );
  return lines.join("\n");
}

/** The process's OS thread counts, or why they could not be read. */
export function threadCountSentence(counts: readonly ThreadCount[]): string {
  if (counts.some(({ count }) => count === undefined)) {
    return "OS thread count: not readable here (Deno reads `/proc` only " +
      "with `--allow-all`).";
  }
  return `OS threads of the process: ${
    counts.map(({ when, count }) => `${count} ${when}`).join(", ")
  }.`;
}

/**
 * `numerator`'s wall time over `denominator`'s, repetition by repetition:
 * the speedup of `denominator` when `numerator` is the baseline.
 */
function ratios(numerator: Side, denominator: Side): number[] {
  return numerator.wallMs.map((ms, i) => ms / denominator.wallMs[i]);
}

/** What the rest of our per-job time is, which noise can make negative. */
function restSentence(restUs: number): string {
  const rest = formatFixed(1)(restUs);
  // The backend's own script per message (a job id and a pending entry
  // on each side) takes under 0.1 µs a job under Bun, driven in one
  // thread. Cloning an object instead of a number costs more with each
  // field: under Bun a two-field object cloned about as fast as a number,
  // a four-field one about 2.5 µs slower a round trip. A job goes out with
  // three fields and comes back with two. What a run shows beyond that is
  // when the threads woke.
  return restUs > 1
    ? `the rest, ${rest}, is more than the thread backend's own work on ` +
      "a message (a small object instead of a number each way, a job id " +
      "and a pending entry on each side, a microsecond or so): the rest " +
      "of it is how soon the idle threads wake, which varies from run to " +
      "run and between machines."
    : `the rest comes out at ${rest}: what the thread backend adds to a ` +
      "bare message (a small object instead of a number each way, a job " +
      "id and a pending entry on each side) is below this machine's noise.";
}
