/**
 * The scaling timeline as an SVG image: a pure function from recorded
 * series to markup, with no dependency, so that a script draws it without
 * a browser. `bench/timeline.ts` records the series and writes
 * `docs/scaling-timeline.svg`; regenerate it with `deno task chart`.
 *
 * Three panels share the time axis: workers (alive as a step line over
 * its area, busy as a filled area, the fixed pool as a dashed line),
 * waiting jobs (queued in the pool, under those the pool's backpressure
 * holds at the source) and throughput (results per second in bins, over
 * the arrival rate). Bursts are shaded bands across the panels. Above
 * them stand both pools' worker-seconds and p99 latency; numbered markers
 * on the second burst point at the three moves of the controller, which
 * notes under the axis explain; the footer says where and when it ran.
 *
 * The image brings its own white background, so it reads the same on a
 * dark page. Text widths are estimated, not measured: there is no font
 * engine here, so the layout leaves room for a wide font.
 * @module
 */

import {
  bottomOf,
  drawPanel,
  HEADER_GAP,
  INK,
  type Panel,
  type TimeSpan,
  yScale,
} from "./_chart_panel.ts";
import {
  escapeXml,
  evenTicks,
  line,
  rect,
  round,
  type Scale,
  stepArea,
  stepLine,
  type StepPoint,
  text,
} from "./_svg.ts";

export type { TimeSpan } from "./_chart_panel.ts";
export type { StepPoint } from "./_svg.ts";

/** The pool's state at one sampled instant. */
export interface TimelineSample {
  readonly atMs: number;
  /** Workers running a job. */
  readonly busy: number;
  /** Jobs accepted by the pool and waiting for a worker. */
  readonly queued: number;
  /** Jobs due by the schedule that the pool has not accepted yet. */
  readonly held: number;
}

/** What one pool cost and how fast it answered, over the whole run. */
export interface PoolFigures {
  /** The area under the alive-workers curve, in worker-seconds. */
  readonly workerSeconds: number;
  /** The 99th percentile of latency, arrival to result, in ms. */
  readonly p99Ms: number;
}

/** Everything the chart shows; times in ms from the first arrival. */
export interface TimelineData {
  /** Lines under the title: the workload and the pool's settings. */
  readonly subtitle: readonly string[];
  /** Where and when the data was recorded. */
  readonly footer: string;
  /** The end of the time axis: when the pool closed. */
  readonly endMs: number;
  /** When jobs arrive, shaded in every panel. */
  readonly bursts: readonly TimeSpan[];
  /** The autoscaled pool's worker count, exact. */
  readonly alive: readonly StepPoint[];
  /** The autoscaled pool, sampled. */
  readonly samples: readonly TimelineSample[];
  /** How often `samples` were taken, in ms. */
  readonly sampleIntervalMs: number;
  /** The width of a throughput bin, in ms. */
  readonly binMs: number;
  /** Results read per second, one point per bin. */
  readonly completedPerSecond: readonly StepPoint[];
  /** Jobs scheduled to arrive per second, one point per bin. */
  readonly arrivalsPerSecond: readonly StepPoint[];
  readonly minWorkers: number;
  /** The autoscaled pool's bound, and the fixed pool's size. */
  readonly maxWorkers: number;
  /** Jobs the pool queues before it pushes back on its input. */
  readonly highWaterMark: number;
  readonly idleTimeoutMs: number;
  readonly autoscaled: PoolFigures;
  readonly fixed: PoolFigures;
}

const WIDTH = 880;
const MARGIN = 24;
const PLOT_LEFT = 60;
const PLOT_RIGHT = WIDTH - MARGIN;
// GitHub's own stack first, so the chart matches the page around it.
const FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', " +
  "Helvetica, Arial, sans-serif";
const TITLE = "autoScale on a bursty load: the workers follow the jobs";
// Vertical rhythm, in px: baselines of the title and the first subtitle
// line, the subtitle's and the notes' line heights, and from a plot's
// bottom to the next panel's header.
const TITLE_BASELINE = 38;
const SUBTITLE_BASELINE = 62;
const SUBTITLE_LINE = 18;
const NOTE_LINE = 22;
const PANEL_GAP = 36;

// Okabe-Ito hues, which stay apart for the common colour-vision
// deficiencies, on neutral greys for text and rules.
const COLOR = {
  ...INK,
  burst: "#f0f0f0",
  alive: "#0072b2",
  // Opaque tints rather than transparency, so that a burst band behind
  // an area does not change its shade.
  idle: "#d9eaf6",
  busy: "#7cc4ee",
  fixed: "#6e7781",
  queued: "#e69f00",
  held: "#d55e00",
  throughput: "#009e73",
  arrivals: "#8c959f",
} as const;

/** One measure for both pools, formatted, and autoscaled / fixed. */
interface Comparison {
  readonly caption: string;
  readonly autoscaled: string;
  readonly fixed: string;
  readonly ratio: number;
}

/** A numbered marker on the chart and the note that explains it. */
interface Callout {
  readonly x: number;
  readonly y: number;
  readonly note: string;
}

/**
 * Renders the timeline as a standalone SVG document.
 *
 * @param data The recorded series and figures.
 * @returns The SVG markup, ending with a newline.
 */
export function renderTimelineSvg(data: TimelineData): string {
  const x: Scale = (atMs) =>
    PLOT_LEFT + Math.min(Math.max(atMs, 0), data.endMs) / data.endMs *
      (PLOT_RIGHT - PLOT_LEFT);
  const figuresTop = SUBTITLE_BASELINE +
    SUBTITLE_LINE * data.subtitle.length + 12;
  const workers = workersPanel(data, figuresTop + 84 + HEADER_GAP);
  const waiting = waitingPanel(data, bottomOf(workers) + PANEL_GAP);
  const throughput = throughputPanel(data, bottomOf(waiting) + PANEL_GAP);
  const callouts = calloutsOf(data, x, workers, waiting);
  const notesTop = bottomOf(throughput) + 56;
  const height = notesTop + NOTE_LINE * callouts.length + 44;

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" ` +
    `height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" ` +
    `aria-labelledby="tl-title tl-desc" font-family="${FONT}" ` +
    `fill="${COLOR.text}">`,
    `<title id="tl-title">${escapeXml(TITLE)}</title>`,
    `<desc id="tl-desc">${escapeXml(description(data))}</desc>`,
    card(height),
    header(data, figuresTop),
    drawPanel(workers, x, workerSeries(data, workers, x)),
    drawPanel(waiting, x, waitingSeries(data, waiting, x)),
    drawPanel(throughput, x, throughputSeries(data, throughput, x)),
    timeAxis(data.endMs, x, bottomOf(throughput)),
    ...callouts.map((callout, i) => marker(callout.x, callout.y, i + 1)),
    ...callouts.map((callout, i) =>
      noteLine(callout.note, i + 1, notesTop + NOTE_LINE * i)
    ),
    footer(data, height),
    "</svg>",
    "",
  ].join("\n");
}

/** The white rounded background, so that the chart reads on dark pages. */
function card(height: number): string {
  // Half-pixel insets keep the 1 px border crisp and inside the image.
  const border = ` rx="8" stroke="${COLOR.border}"`;
  return rect(0.5, 0.5, WIDTH - 1, height - 1, COLOR.page, border);
}

/** The whole chart in words, for screen readers. */
function description(data: TimelineData): string {
  return `${data.subtitle.join(" ")} Worker-seconds: ` +
    `${data.autoscaled.workerSeconds.toFixed(1)} autoscaled, ` +
    `${data.fixed.workerSeconds.toFixed(1)} for a fixed pool of ` +
    `${data.maxWorkers}. p99 latency: ` +
    `${data.autoscaled.p99Ms.toFixed(1)} ms autoscaled, ` +
    `${data.fixed.p99Ms.toFixed(1)} ms fixed.`;
}

/** The title, the subtitle lines and the two pools' figures. */
function header(data: TimelineData, figuresTop: number): string {
  const { autoscaled, fixed, maxWorkers } = data;
  return [
    text(MARGIN, TITLE_BASELINE, { size: 20, weight: 700 }, TITLE),
    ...data.subtitle.map((subtitle, i) =>
      text(MARGIN, SUBTITLE_BASELINE + SUBTITLE_LINE * i, {
        size: 13,
        color: COLOR.muted,
      }, subtitle)
    ),
    comparison(MARGIN, figuresTop, maxWorkers, {
      caption: "Worker-seconds (area under alive)",
      autoscaled: autoscaled.workerSeconds.toFixed(1),
      fixed: fixed.workerSeconds.toFixed(1),
      ratio: autoscaled.workerSeconds / fixed.workerSeconds,
    }),
    comparison(WIDTH / 2 + MARGIN, figuresTop, maxWorkers, {
      caption: "p99 latency (arrival to result)",
      autoscaled: `${autoscaled.p99Ms.toFixed(1)} ms`,
      fixed: `${fixed.p99Ms.toFixed(1)} ms`,
      ratio: autoscaled.p99Ms / fixed.p99Ms,
    }),
    line(MARGIN, figuresTop + 58, WIDTH - MARGIN, figuresTop + 58, {
      color: COLOR.grid,
      width: 1,
    }),
  ].join("\n");
}

/**
 * A caption over the two pools' figures, each a bold number followed by
 * the pool's name, the autoscaled pool's in its colour, then their ratio.
 */
function comparison(
  left: number,
  top: number,
  fixedWorkers: number,
  figures: Comparison,
): string {
  return [
    text(left, top + 14, {
      size: 11,
      weight: 600,
      color: COLOR.muted,
      spacing: 0.6,
    }, figures.caption.toUpperCase()),
    text(
      left,
      top + 40,
      { size: 13, color: COLOR.muted },
      [figures.autoscaled, { size: 20, weight: 700, color: COLOR.alive }],
      ["autoscaled", { dx: 6 }],
      ["vs", { dx: 10 }],
      [figures.fixed, { size: 20, weight: 700, color: COLOR.text, dx: 10 }],
      [`fixed ${fixedWorkers}`, { dx: 6 }],
      [`(${figures.ratio.toFixed(2)}×)`, { dx: 10 }],
    ),
  ].join("\n");
}

function workersPanel(data: TimelineData, top: number): Panel {
  const max = Math.max(data.maxWorkers, ...data.alive.map((p) => p.value));
  // Quarters of maxWorkers put a grid line on the fixed pool's size.
  const ticks = max === data.maxWorkers && max % 4 === 0
    ? [0, 1, 2, 3, 4].map((quarter) => quarter * max / 4)
    : evenTicks(max, 4);
  return {
    id: "tl-workers",
    left: PLOT_LEFT,
    right: PLOT_RIGHT,
    spans: data.bursts,
    spanColor: COLOR.burst,
    title: "Workers",
    note: `alive from "scale" events, busy sampled every ` +
      `${data.sampleIntervalMs} ms`,
    legend: [
      { label: "busy", color: COLOR.busy, mark: "area" },
      { label: "idle", color: COLOR.idle, mark: "area" },
      { label: "alive", color: COLOR.alive, mark: "line" },
      {
        label: `fixed pool (${data.maxWorkers})`,
        color: COLOR.fixed,
        mark: "dashed",
      },
    ],
    top,
    height: 150,
    ticks,
    // Headroom, so that a line along the top tick is not cut in half.
    yMax: ticks[ticks.length - 1] * 1.1,
  };
}

function waitingPanel(data: TimelineData, top: number): Panel {
  const ticks = evenTicks(
    Math.max(1, ...data.samples.map((s) => s.queued + s.held)),
    4,
  );
  return {
    id: "tl-waiting",
    left: PLOT_LEFT,
    right: PLOT_RIGHT,
    spans: data.bursts,
    spanColor: COLOR.burst,
    title: "Waiting jobs",
    note: `sampled every ${data.sampleIntervalMs} ms`,
    legend: [
      { label: "queued in the pool", color: COLOR.queued, mark: "area" },
      { label: "waiting at the source", color: COLOR.held, mark: "area" },
    ],
    top,
    height: 76,
    ticks,
    yMax: ticks[ticks.length - 1],
  };
}

function throughputPanel(data: TimelineData, top: number): Panel {
  const ticks = evenTicks(
    Math.max(
      1,
      ...data.completedPerSecond.map((p) => p.value),
      ...data.arrivalsPerSecond.map((p) => p.value),
    ),
    4,
  );
  return {
    id: "tl-throughput",
    left: PLOT_LEFT,
    right: PLOT_RIGHT,
    spans: data.bursts,
    spanColor: COLOR.burst,
    title: "Throughput",
    note: `jobs/s in ${data.binMs} ms bins`,
    legend: [
      { label: "completed", color: COLOR.throughput, mark: "line" },
      { label: "arriving", color: COLOR.arrivals, mark: "dashed" },
      { label: "burst", color: COLOR.burst, mark: "band" },
    ],
    top,
    height: 76,
    ticks,
    yMax: ticks[ticks.length - 1],
  };
}

function workerSeries(data: TimelineData, panel: Panel, x: Scale): string[] {
  const y = yScale(panel);
  const busy = data.samples.map(({ atMs, busy }) => ({ atMs, value: busy }));
  return [
    // Alive filled, busy over it: what shows of the fill is idle workers,
    // and the whole fill is the worker-seconds paid for.
    stepArea(data.alive, x, y, data.endMs, COLOR.idle),
    stepArea(busy, x, y, data.endMs, COLOR.busy),
    line(PLOT_LEFT, y(data.maxWorkers), PLOT_RIGHT, y(data.maxWorkers), {
      color: COLOR.fixed,
      width: 1.5,
      dash: "6 4",
    }),
    stepLine(data.alive, x, y, data.endMs, { color: COLOR.alive, width: 2 }),
  ];
}

function waitingSeries(data: TimelineData, panel: Panel, x: Scale): string[] {
  const y = yScale(panel);
  const waiting = data.samples.map(({ atMs, queued, held }) => ({
    atMs,
    value: queued + held,
  }));
  const queued = data.samples.map(({ atMs, queued }) => ({
    atMs,
    value: queued,
  }));
  return [
    stepArea(waiting, x, y, data.endMs, COLOR.held),
    stepArea(queued, x, y, data.endMs, COLOR.queued),
  ];
}

function throughputSeries(
  data: TimelineData,
  panel: Panel,
  x: Scale,
): string[] {
  const y = yScale(panel);
  return [
    stepLine(data.arrivalsPerSecond, x, y, data.endMs, {
      color: COLOR.arrivals,
      width: 1.25,
      dash: "4 3",
    }),
    stepLine(data.completedPerSecond, x, y, data.endMs, {
      color: COLOR.throughput,
      width: 1.75,
    }),
  ];
}

/**
 * Where the controller's three moves show on the second burst (the first
 * starts from a pool just made): the scale-up as it begins, the backlog
 * beyond `maxWorkers`, the retirement after `idleTimeout`.
 */
function calloutsOf(
  data: TimelineData,
  x: Scale,
  workers: Panel,
  waiting: Panel,
): Callout[] {
  const burst = data.bursts[Math.min(1, data.bursts.length - 1)];
  if (burst === undefined) return [];
  const nextStartMs = data.bursts.find((b) => b.startMs > burst.startMs)
    ?.startMs ?? data.endMs;
  const workersY = yScale(workers);
  const backlog = data.samples.filter(({ atMs, queued, held }) =>
    atMs >= burst.startMs && atMs < nextStartMs && queued + held > 0
  );
  const backlogEndMs = backlog.at(-1)?.atMs ?? burst.endMs;
  const retiredMs =
    data.alive.find(({ atMs, value }) =>
      atMs > burst.endMs && value < data.maxWorkers
    )?.atMs ?? burst.endMs;
  return [
    {
      x: x(burst.startMs) - 14,
      y: workersY(data.maxWorkers * 0.6),
      note: "Jobs wait and no worker is idle: a worker starts for each, " +
        `up to maxWorkers (${data.maxWorkers}).`,
    },
    {
      x: x(backlogEndMs) + 14,
      y: waiting.top + waiting.height * 0.45,
      note: `Arrivals outpace ${data.maxWorkers} workers: the pool queues ` +
        `up to highWaterMark (${data.highWaterMark}), backpressure keeps ` +
        "the rest at the source.",
    },
    {
      x: x(retiredMs) + 14,
      y: workersY(data.maxWorkers * 0.6),
      note: `Workers idle for idleTimeout (${data.idleTimeoutMs} ms) ` +
        `retire, down to minWorkers (${data.minWorkers}), until the next ` +
        "burst.",
    },
  ];
}

/** A dark disc with a number, drawn over the series. */
function marker(cx: number, cy: number, n: number): string {
  return `<circle cx="${round(cx)}" cy="${round(cy)}" r="9" ` +
    `fill="${COLOR.text}" stroke="${COLOR.page}" stroke-width="1.5"/>\n` +
    text(cx, cy + 4, {
      size: 11,
      weight: 700,
      color: COLOR.page,
      anchor: "middle",
    }, `${n}`);
}

/** One explained marker under the axis. */
function noteLine(note: string, n: number, top: number): string {
  return marker(MARGIN + 9, top, n) + "\n" +
    text(MARGIN + 26, top + 4, { size: 12.5 }, note);
}

/** Ticks every half second under the last panel, labelled in seconds. */
function timeAxis(endMs: number, x: Scale, axisY: number): string {
  const parts: string[] = [];
  for (let atMs = 0; atMs <= endMs; atMs += 500) {
    parts.push(
      line(x(atMs), axisY, x(atMs), axisY + 5, {
        color: COLOR.axis,
        width: 1,
      }),
      text(x(atMs), axisY + 19, {
        size: 11,
        color: COLOR.muted,
        anchor: "middle",
      }, `${atMs / 1000} s`),
    );
  }
  parts.push(text(PLOT_RIGHT, axisY + 36, {
    size: 12,
    color: COLOR.muted,
    anchor: "end",
  }, "time since the first job arrived"));
  return parts.join("\n");
}

function footer(data: TimelineData, height: number): string {
  const style = { size: 11, color: COLOR.muted };
  return [
    line(MARGIN, height - 30, WIDTH - MARGIN, height - 30, {
      color: COLOR.grid,
      width: 1,
    }),
    text(MARGIN, height - 12, style, data.footer),
    text(
      WIDTH - MARGIN,
      height - 12,
      { ...style, anchor: "end" },
      "regenerate: deno task chart",
    ),
  ].join("\n");
}
