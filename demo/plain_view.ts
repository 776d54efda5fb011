/**
 * The view for logs and CI, where stdout is not a terminal: a status line
 * every half second and a line per scale event, plain ASCII, no escape
 * codes.
 * @module
 */

import type { ScaleEvent } from "../mod.ts";
import type { LoadState } from "./bursty_load.ts";
import { count, seconds, signed } from "./format.ts";
import type { Reading } from "./meter.ts";
import { write } from "./runtime.ts";
import type { PoolSettings, View } from "./view.ts";

const STATUS_INTERVAL_MS = 500;

/** Prints the pool's progress line by line. */
export class PlainView implements View {
  #nextStatusMs = STATUS_INTERVAL_MS;

  /** Prints the settings, so that a log says what it shows. */
  constructor(settings: PoolSettings) {
    const { minWorkers, maxWorkers, idleTimeout } = settings;
    write(
      `autoScale demo: minWorkers ${minWorkers}, maxWorkers ${maxWorkers}, idleTimeout ${idleTimeout} ms\n`,
    );
  }

  update(reading: Reading, load: LoadState): void {
    // Samples come every 100 ms or so; print the first one past each mark.
    if (reading.elapsedMs < this.#nextStatusMs) return;
    while (this.#nextStatusMs <= reading.elapsedMs) {
      this.#nextStatusMs += STATUS_INTERVAL_MS;
    }
    this.#status(reading, load);
  }

  scale(event: ScaleEvent, elapsedMs: number): void {
    const delta = signed(event.to - event.from).padStart(3);
    write(
      `${stamp(elapsedMs)}  scale ${delta} ${
        event.reason.padEnd(8)
      } ${event.from} -> ${event.to}\n`,
    );
  }

  notice(text: string, elapsedMs: number): void {
    write(`${stamp(elapsedMs)}  ${text}\n`);
  }

  end(reading: Reading, load: LoadState): void {
    this.#status(reading, load);
  }

  release(): void {}

  #status(reading: Reading, load: LoadState): void {
    const { workers, busy, queued, completed } = reading.stats;
    write(
      `${stamp(reading.elapsedMs)}  workers ${count(workers, 2)}  busy ${
        count(busy, 2)
      }  queued ${count(queued, 2)}  completed ${count(completed, 5)}  jobs/s ${
        count(reading.jobsPerSecond, 4)
      }  ${load.label}\n`,
    );
  }
}

function stamp(elapsedMs: number): string {
  return `t=${seconds(elapsedMs).replace(" ", "")}`.padEnd(8);
}
