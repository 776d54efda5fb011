/**
 * One panel of a chart that stacks panels over a shared time axis: a
 * header with a title, a note and a legend; shaded spans of time behind
 * the series; grid lines with value ticks; the series clipped to the
 * plot. The chart decides where each panel goes and what it holds.
 * @module
 */

import { line, rect, type Scale, text, textWidth } from "./_svg.ts";

/** GitHub's neutral greys, for text, rules and the page behind. */
export const INK = {
  page: "#ffffff",
  border: "#d0d7de",
  text: "#1f2328",
  muted: "#59636e",
  grid: "#eaeef2",
  axis: "#8c959f",
} as const;

/** From a panel's header baseline down to its plot, in px. */
export const HEADER_GAP = 12;

/** How a series is drawn in a legend. */
export type LegendMark = "area" | "line" | "dashed" | "band";

/** One legend entry: a mark in the series' colour, then its label. */
export interface LegendItem {
  readonly label: string;
  readonly color: string;
  readonly mark: LegendMark;
}

/** An interval of time, in ms. */
export interface TimeSpan {
  readonly startMs: number;
  readonly endMs: number;
}

/** Where a panel sits, what its header says and how values map to y. */
export interface Panel {
  /** Unique within the chart: it names the panel's clip path. */
  readonly id: string;
  readonly title: string;
  /** Smaller words after the title: units, how the data was taken. */
  readonly note: string;
  /** Listed right-aligned on the header's baseline. */
  readonly legend: readonly LegendItem[];
  /** The plot's edges, in px; the header sits above `top`. */
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly height: number;
  /** Values with a grid line and a label, from the bottom up. */
  readonly ticks: readonly number[];
  /** The value at the top edge: the last tick or a little above it. */
  readonly yMax: number;
  /** Stretches of time shaded behind the series, such as bursts. */
  readonly spans: readonly TimeSpan[];
  readonly spanColor: string;
}

/**
 * The panel's frame around `series`: header, shaded spans, grid and ticks
 * under the series, the baseline over them.
 */
export function drawPanel(
  panel: Panel,
  x: Scale,
  series: readonly string[],
): string {
  const y = yScale(panel);
  const clipId = `clip-${panel.id}`;
  const headerY = panel.top - HEADER_GAP;
  const width = panel.right - panel.left;
  return [
    `<g>`,
    text(
      panel.left,
      headerY,
      { size: 14, weight: 700 },
      panel.title,
      [panel.note, { size: 11, weight: 400, color: INK.muted, dx: 8 }],
    ),
    legend(panel.legend, panel.right, headerY),
    // A little above the top, so that a line along it keeps its width.
    `<clipPath id="${clipId}">` +
    rect(panel.left, panel.top - 2, width, panel.height + 2, "#000") +
    `</clipPath>`,
    ...panel.spans.map(({ startMs, endMs }) =>
      rect(
        x(startMs),
        panel.top,
        x(endMs) - x(startMs),
        panel.height,
        panel.spanColor,
      )
    ),
    ...panel.ticks.flatMap((tick) => [
      line(panel.left, y(tick), panel.right, y(tick), {
        color: INK.grid,
        width: 1,
      }),
      text(panel.left - 8, y(tick) + 4, {
        size: 11,
        color: INK.muted,
        anchor: "end",
      }, formatTick(tick)),
    ]),
    `<g clip-path="url(#${clipId})">`,
    ...series,
    `</g>`,
    line(panel.left, bottomOf(panel), panel.right, bottomOf(panel), {
      color: INK.axis,
      width: 1,
    }),
    `</g>`,
  ].join("\n");
}

/** Maps a value to a y coordinate, `yMax` at the panel's top. */
export function yScale(panel: Panel): Scale {
  return (value) => panel.top + panel.height * (1 - value / panel.yMax);
}

/** The y coordinate of the panel's baseline. */
export function bottomOf(panel: Panel): number {
  return panel.top + panel.height;
}

/** Legend entries laid out leftwards from `right`, on one baseline. */
function legend(
  items: readonly LegendItem[],
  right: number,
  baseline: number,
): string {
  const size = 12;
  const markWidth = 16;
  const parts: string[] = [];
  let left = right;
  for (const item of items.toReversed()) {
    left -= textWidth(item.label, size);
    parts.push(text(left, baseline, { size }, item.label));
    left -= markWidth + 5;
    parts.push(legendMark(item, left, baseline - 4, markWidth));
    left -= 18;
  }
  return parts.join("\n");
}

function legendMark(
  item: LegendItem,
  left: number,
  middle: number,
  width: number,
): string {
  switch (item.mark) {
    case "area":
      return rect(left, middle - 5, width, 10, item.color, ` rx="2"`);
    case "band":
      return rect(
        left,
        middle - 7,
        width,
        14,
        item.color,
        ` stroke="${INK.border}" stroke-width="0.5"`,
      );
    case "line":
    case "dashed":
      return line(left, middle, left + width, middle, {
        color: item.color,
        width: 2,
        dash: item.mark === "dashed" ? "4 3" : undefined,
      });
  }
}

/** `2500` as `2.5k`, smaller values as they are. */
function formatTick(value: number): string {
  return value >= 1000 && value % 100 === 0 ? `${value / 1000}k` : `${value}`;
}
