/**
 * The report printed once the pool has closed: how the demo stopped, where
 * every accepted job ended up, and what autoscaling saved against a pool
 * fixed at `maxWorkers`.
 * @module
 */

import type { PoolStats } from "../mod.ts";
import { seconds } from "./format.ts";
import type { StopSignal } from "./runtime.ts";

/** How a signal stopped the demo before its load ran out. */
export interface StopRequest {
  /** The first signal, which started the drain. */
  readonly signal: StopSignal;
  /** Milliseconds from the start to that signal. */
  readonly atMs: number;
  /** Whether a second signal aborted the drain. */
  aborted: boolean;
}

/** Everything the summary reports. */
export interface SummaryInput {
  /** The signal that stopped the demo, or `undefined` if the load ran out. */
  readonly stop: StopRequest | undefined;
  /** The deadline the drain was given, in milliseconds. */
  readonly drainDeadlineMs: number;
  /** Milliseconds from the start until the pool closed. */
  readonly elapsedMs: number;
  /** The pool's last snapshot. */
  readonly stats: PoolStats;
  /** The ids of the jobs `unfinished()` listed, in input order. */
  readonly unfinishedIds: readonly number[];
  readonly maxWorkers: number;
  /** Jobs a worker picked up. */
  readonly started: number;
  readonly workerSeconds: number;
  readonly busySeconds: number;
}

// Enough ids to find the jobs in a log, few enough to keep one line.
const UNFINISHED_IDS_SHOWN = 5;

/**
 * Whether every accepted job is accounted for: delivered, failed, or
 * listed by `unfinished()`.
 */
export function isAccountedFor(stats: PoolStats, unfinished: number): boolean {
  return stats.completed + stats.failed + unfinished === stats.accepted;
}

/** The summary as lines of plain text, each ending in a newline. */
export function formatSummary(input: SummaryInput): string {
  const { stats, maxWorkers, stop } = input;
  const unfinished = input.unfinishedIds.length;
  const fixedWorkerSeconds = maxWorkers * input.elapsedMs / 1000;

  const lines = [
    headline(input),
    row("jobs accepted", `${stats.accepted}`),
    row("completed", `${stats.completed}`),
    row("failed", `${stats.failed}`),
    row("unfinished", describeUnfinished(input)),
    row("accounting", accounting(stats, unfinished)),
    ...(stop === undefined ? [] : [
      row(
        "drain",
        `${seconds(input.elapsedMs - stop.atMs)} from ${stop.signal} ` +
          `to closed (deadline ${seconds(input.drainDeadlineMs, 1)})`,
      ),
    ]),
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

/** The first line: how the demo ended. */
function headline(input: SummaryInput): string {
  const { stop } = input;
  if (stop === undefined) {
    return "Summary: the load ran out and the pool closed";
  }
  const by = stop.signal === "SIGINT" ? "Ctrl-C (SIGINT)" : "SIGTERM";
  if (stop.aborted) {
    return `Summary: ${by} started a drain, a second signal aborted it`;
  }
  // A drain leaves jobs unfinished only when its deadline cuts it short.
  if (input.unfinishedIds.length > 0) {
    return `Summary: ${by} started a drain, which ran past its deadline`;
  }
  return `Summary: ${by} drained the pool: intake stopped, every accepted job finished`;
}

/**
 * How many jobs did not finish, the first few ids, and how far they got.
 * The demo never retries, so every job a worker picked up either
 * completed, failed, or was running when the pool stopped.
 */
function describeUnfinished(input: SummaryInput): string {
  const ids = input.unfinishedIds;
  if (ids.length === 0) return "0";
  const shown = ids.slice(0, UNFINISHED_IDS_SHOWN).join(", ");
  const more = ids.length > UNFINISHED_IDS_SHOWN
    ? ` and ${ids.length - UNFINISHED_IDS_SHOWN} more`
    : "";
  const { completed, failed } = input.stats;
  const running = input.started - completed - failed;
  return `${ids.length}: ids ${shown}${more} (${running} running when ` +
    `the pool stopped, ${ids.length - running} never started)`;
}

/** The accounting invariant, checked, as one line. */
function accounting(stats: PoolStats, unfinished: number): string {
  const { completed, failed, accepted } = stats;
  const sum = completed + failed + unfinished;
  const terms =
    `${completed} completed + ${failed} failed + ${unfinished} unfinished = ${sum}`;
  return isAccountedFor(stats, unfinished)
    ? `${terms} = accepted (ok)`
    : `${terms}, but ${accepted} accepted (MISMATCH)`;
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(15)} ${value}`;
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round(part * 100 / whole)}%` : "-";
}
