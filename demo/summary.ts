/**
 * The report printed once the pool has closed: what ran, what did not, and
 * what autoscaling saved against a pool fixed at `maxWorkers`.
 * @module
 */

import type { PoolStats } from "../mod.ts";
import { seconds } from "./format.ts";

/** Everything the summary reports. */
export interface SummaryInput {
  /** Whether Ctrl-C stopped the demo before its load ran out. */
  readonly interrupted: boolean;
  /** Milliseconds from the start until the pool closed. */
  readonly elapsedMs: number;
  /** The pool's last snapshot. */
  readonly stats: PoolStats;
  readonly maxWorkers: number;
  /** Jobs a worker picked up. */
  readonly started: number;
  /** Jobs still waiting in the pool's queue when it was aborted. */
  readonly droppedFromQueue: number;
  readonly workerSeconds: number;
  readonly busySeconds: number;
}

/** The summary as lines of plain text, each ending in a newline. */
export function formatSummary(input: SummaryInput): string {
  const { stats, maxWorkers } = input;
  const accepted = input.started + input.droppedFromQueue;
  const stoppedMidJob = input.started - stats.completed;
  const notFinished = accepted - stats.completed;
  const fixedWorkerSeconds = maxWorkers * input.elapsedMs / 1000;

  const lines = [
    input.interrupted
      ? "Summary: stopped by Ctrl-C"
      : "Summary: the load ran out and the pool closed",
    row("jobs accepted", `${accepted}`),
    row("jobs run", `${stats.completed}`),
    row(
      "not finished",
      notFinished === 0 ? "0" : `${notFinished} (${stoppedMidJob} stopped ` +
        `mid-job, ${input.droppedFromQueue} dropped from the queue)`,
    ),
    row("elapsed", seconds(input.elapsedMs, 1)),
    row("peak workers", `${stats.peakWorkers} of ${maxWorkers}`),
    row("scale-ups", `${stats.scaleUps}`),
    row("scale-downs", `${stats.scaleDowns}`),
    row(
      "worker-seconds",
      `${input.workerSeconds.toFixed(1)} used, against ${
        fixedWorkerSeconds.toFixed(1)
      } for a fixed pool of ${maxWorkers} (${
        percent(input.workerSeconds, fixedWorkerSeconds)
      })`,
    ),
    row(
      "busy",
      `${input.busySeconds.toFixed(1)} worker-seconds running jobs (${
        percent(input.busySeconds, input.workerSeconds)
      } of those used)`,
    ),
  ];
  return lines.map((line) => `${line}\n`).join("");
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(15)} ${value}`;
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round(part * 100 / whole)}%` : "-";
}
