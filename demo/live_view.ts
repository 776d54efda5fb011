/**
 * The terminal view: one frame, redrawn in place with ANSI escape codes.
 * Each worker slot is a row whose cells are the last six seconds, busy at
 * the bottom and idle above, so the rows together read as a stacked area
 * chart of the pool's size over time.
 * @module
 */

import type { ScaleEvent } from "../mod.ts";
import type { LoadState } from "./bursty_load.ts";
import { count, seconds, signed } from "./format.ts";
import type { Reading } from "./meter.ts";
import { write } from "./runtime.ts";
import type { PoolSettings, View } from "./view.ts";

/** Columns of history per slot, one per frame: six seconds at 10 frames/s. */
const TIMELINE_COLUMNS = 60;
const RULE_COLUMNS = 72;
const EVENT_LINES = 4;
// Title, status, axis, counts, rule and footer, around the slots and events.
const FIXED_LINES = 6;

const ESC = "\x1b[";
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
// With autowrap off, a terminal narrower than a line cuts it instead of
// wrapping it, which would push the frame down and break the redraw.
const WRAP_OFF = `${ESC}?7l`;
const WRAP_ON = `${ESC}?7h`;
const CLEAR_TO_END_OF_LINE = `${ESC}K`;

type SlotState = "busy" | "idle" | "off" | "unknown";

const GLYPHS: Record<SlotState, string> = {
  busy: "█",
  idle: "▒",
  off: "·",
  unknown: " ",
};

// SGR codes: green, yellow, dim.
const SLOT_STYLES: Record<SlotState, string> = {
  busy: "32",
  idle: "33",
  off: "2",
  unknown: "0",
};

interface Sample {
  readonly elapsedMs: number;
  readonly workers: number;
  readonly busy: number;
}

/** A line of the event log: one scale event, or a run of them. */
interface LoggedEvent {
  readonly atMs: number;
  readonly from: number;
  to: number;
  readonly reason: string;
  /** The frame it arrived before; only events of one frame merge. */
  readonly frame: number;
  /** How many events the line stands for. */
  merged: number;
}

/**
 * The rows the frame needs, plus one for the cursor below it. The frame
 * can only be redrawn in place when the whole of it fits on screen.
 */
export function liveViewRows(settings: PoolSettings): number {
  return settings.maxWorkers + EVENT_LINES + FIXED_LINES + 1;
}

/** Redraws the whole pool on each update. */
export class LiveView implements View {
  #settings: PoolSettings;
  #color: boolean;
  #history: Sample[] = [];
  #events: LoggedEvent[] = [];
  #frame = 0;
  #linesDrawn = 0;
  #released = false;
  // What a Ctrl-C does now; a notice replaces it once the demo stops.
  #footer = "Ctrl-C drains the pool";

  /**
   * Hides the cursor until {@linkcode LiveView.release}.
   *
   * @param settings The pool's options.
   * @param color Whether to use colors.
   */
  constructor(settings: PoolSettings, color: boolean) {
    this.#settings = settings;
    this.#color = color;
    write(HIDE_CURSOR + WRAP_OFF);
  }

  update(reading: Reading, load: LoadState): void {
    this.#draw(reading, load, this.#footer);
  }

  scale(event: ScaleEvent, elapsedMs: number): void {
    const last = this.#events[this.#events.length - 1];
    // Events between two frames that continue one another in the same
    // direction show as one line, so that a worker-by-worker ramp or a
    // shutdown of twelve busy workers does not push everything else out.
    if (
      last !== undefined && last.frame === this.#frame &&
      last.reason === event.reason && last.to === event.from &&
      Math.sign(last.to - last.from) === Math.sign(event.to - event.from)
    ) {
      last.to = event.to;
      last.merged++;
      return;
    }
    this.#events.push({
      atMs: elapsedMs,
      from: event.from,
      to: event.to,
      reason: event.reason,
      frame: this.#frame,
      merged: 1,
    });
    // The event shows on the next frame, at most one frame later.
    if (this.#events.length > EVENT_LINES) this.#events.shift();
  }

  notice(text: string, elapsedMs: number): void {
    // Shows on the next frame, at most one frame later, like an event.
    this.#footer = `${seconds(elapsedMs)}  ${text}`;
  }

  end(reading: Reading, load: LoadState): void {
    this.#draw(reading, load, "pool closed");
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    write(WRAP_ON + SHOW_CURSOR);
  }

  #draw(reading: Reading, load: LoadState, footer: string): void {
    const { stats } = reading;
    this.#history.push({
      elapsedMs: reading.elapsedMs,
      workers: stats.workers,
      busy: stats.busy,
    });
    if (this.#history.length > TIMELINE_COLUMNS) this.#history.shift();

    const lines = [
      this.#title(reading, load),
      this.#status(reading),
      ...this.#slots(),
      this.#axis(),
      ` completed ${stats.completed}   scale-ups ${stats.scaleUps}` +
      `   scale-downs ${stats.scaleDowns}   peak ${stats.peakWorkers}`,
      this.#rule(),
      ...this.#eventLines(),
      ` ${this.#paint("2", footer)}`,
    ];

    // Back to the first line of the previous frame, then overwrite it.
    const up = this.#linesDrawn > 0 ? `${ESC}${this.#linesDrawn}F` : "";
    this.#linesDrawn = lines.length;
    this.#frame++;
    write(
      up + lines.map((line) => line + CLEAR_TO_END_OF_LINE).join("\n") +
        "\n",
    );
  }

  #title(reading: Reading, load: LoadState): string {
    const offered = load.offeredPerSecond > 0
      ? ` · offering ${Math.round(load.offeredPerSecond)} jobs/s`
      : "";
    return ` ${this.#paint("1", "autoScale")} live   t ${
      seconds(reading.elapsedMs, 1).padStart(6)
    }   ${load.label}${offered}`;
  }

  #status(reading: Reading): string {
    const { workers, busy, queued } = reading.stats;
    const { maxWorkers } = this.#settings;
    // The pool queues at most highWaterMark + 1 jobs, and highWaterMark
    // defaults to maxWorkers.
    const queueCells = maxWorkers + 1;
    const filled = Math.min(queued, queueCells);
    const queueBar = this.#paint("36", "■".repeat(filled)) +
      this.#paint("2", "·".repeat(queueCells - filled));
    return ` workers ${count(workers, 2)}/${maxWorkers}   busy ${
      count(busy, 2)
    }   queued ${queueBar} ${count(queued, 2)}   done ${
      count(reading.jobsPerSecond, 4)
    } jobs/s`;
  }

  /** One row per slot, the highest slot first. */
  #slots(): string[] {
    const rows: string[] = [];
    for (let slot = this.#settings.maxWorkers; slot >= 1; slot--) {
      const states: SlotState[] = [];
      const missing = TIMELINE_COLUMNS - this.#history.length;
      for (let i = 0; i < missing; i++) states.push("unknown");
      for (const sample of this.#history) states.push(slotState(slot, sample));
      const now = states[states.length - 1];
      const label = now === "off" ? this.#paint("2", "off") : now;
      rows.push(` ${count(slot, 2)} │${this.#timeline(states)}│ ${label}`);
    }
    return rows;
  }

  /** Paints runs of equal cells at once, to keep the frame small. */
  #timeline(states: SlotState[]): string {
    let line = "";
    let runStart = 0;
    for (let i = 1; i <= states.length; i++) {
      if (i < states.length && states[i] === states[runStart]) continue;
      const state = states[runStart];
      line += this.#paint(
        SLOT_STYLES[state],
        GLYPHS[state].repeat(i - runStart),
      );
      runStart = i;
    }
    return line;
  }

  #axis(): string {
    // Measured rather than derived from the frame rate, since timers run
    // late under load.
    const spanMs = (this.#history.at(-1)?.elapsedMs ?? 0) -
      (this.#history[0]?.elapsedMs ?? 0);
    const left = ` ${seconds(spanMs, 1)} ago `;
    const right = " now ";
    const fill = "─".repeat(TIMELINE_COLUMNS - left.length - right.length);
    return this.#paint("2", `    └${left}${fill}${right}┘`);
  }

  #rule(): string {
    const { minWorkers, maxWorkers, idleTimeout } = this.#settings;
    const left = "── scale events ";
    const right =
      ` minWorkers ${minWorkers} · maxWorkers ${maxWorkers} · idleTimeout ${idleTimeout} ms ──`;
    const fill = "─".repeat(
      Math.max(2, RULE_COLUMNS - left.length - right.length),
    );
    return ` ${this.#paint("2", left + fill + right)}`;
  }

  #eventLines(): string[] {
    const lines = this.#events.map((event) => {
      const delta = event.to - event.from;
      const merged = event.merged > 1
        ? this.#paint("2", `  (${event.merged} events)`)
        : "";
      return `  ${seconds(event.atMs).padStart(8)}  ${
        this.#paint(delta > 0 ? "32" : "33", signed(delta).padStart(3))
      }  ${event.reason.padEnd(8)}  ${count(event.from, 2)} → ${
        count(event.to, 2)
      }${merged}`;
    });
    const blank = EVENT_LINES - lines.length;
    return [...lines, ...Array<string>(blank).fill("")];
  }

  #paint(sgr: string, text: string): string {
    if (!this.#color || sgr === "0") return text;
    return `${ESC}${sgr}m${text}${ESC}0m`;
  }
}

/**
 * A slot's state in one sample. The pool reports counts, not which worker
 * is which, so the lowest slots are drawn busy and the next ones idle.
 */
function slotState(slot: number, sample: Sample): SlotState {
  if (slot <= sample.busy) return "busy";
  if (slot <= sample.workers) return "idle";
  return "off";
}
