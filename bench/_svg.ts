/**
 * Small SVG drawing primitives for the bench charts: text with styled
 * runs, step series as lines and filled areas, round axis ticks. Each
 * returns markup as a string; nothing here knows what a chart shows.
 * @module
 */

/** A value that holds from `atMs` until the next point's `atMs`. */
export interface StepPoint {
  readonly atMs: number;
  readonly value: number;
}

/** Maps a value on one axis to a coordinate. */
export type Scale = (value: number) => number;

/** How a piece of text is set; unset fields inherit from the parent. */
export interface TextStyle {
  /** Font size in px. */
  readonly size?: number;
  readonly weight?: number;
  readonly color?: string;
  readonly anchor?: "start" | "middle" | "end";
  /** Extra space between letters, in px. */
  readonly spacing?: number;
  /** Horizontal shift from where the previous run ended, in px. */
  readonly dx?: number;
}

/** Stroke settings for a line. */
export interface StrokeStyle {
  readonly color: string;
  readonly width: number;
  /** An SVG dash pattern such as `"4 3"`; solid when absent. */
  readonly dash?: string;
}

// Average advance of a character as a fraction of the font size, taken
// from DejaVu Sans, the widest common fallback, so that estimates err on
// the roomy side.
const CHAR_EM = 0.58;

/**
 * A `<text>` element made of runs that follow each other on one line,
 * each with its own style over the element's.
 */
export function text(
  x: number,
  y: number,
  style: TextStyle,
  ...runs: readonly (string | readonly [string, TextStyle])[]
): string {
  const body = runs.map((run) =>
    typeof run === "string"
      ? escapeXml(run)
      : `<tspan${attributes(run[1])}>${escapeXml(run[0])}</tspan>`
  ).join("");
  return `<text x="${round(x)}" y="${round(y)}"${attributes(style)}>` +
    `${body}</text>`;
}

/** An estimate of how wide `content` sets at `size` px, in px. */
export function textWidth(content: string, size: number): number {
  return content.length * size * CHAR_EM;
}

/** A straight line from (x1, y1) to (x2, y2). */
export function line(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  stroke: StrokeStyle,
): string {
  return `<line x1="${round(x1)}" y1="${round(y1)}" x2="${round(x2)}" ` +
    `y2="${round(y2)}"${strokeAttributes(stroke)}/>`;
}

/** A filled rectangle. */
export function rect(
  x: number,
  y: number,
  width: number,
  height: number,
  fill: string,
  extra = "",
): string {
  return `<rect x="${round(x)}" y="${round(y)}" width="${round(width)}" ` +
    `height="${round(height)}" fill="${fill}"${extra}/>`;
}

/**
 * A step series as a line: each value held until the next point's time,
 * the last one until `endMs`.
 */
export function stepLine(
  points: readonly StepPoint[],
  x: Scale,
  y: Scale,
  endMs: number,
  stroke: StrokeStyle,
): string {
  if (points.length === 0) return "";
  return `<path d="M${round(x(points[0].atMs))} ` +
    `${round(y(points[0].value))}${steps(points, x, y, endMs)}" ` +
    `fill="none" stroke-linejoin="round"${strokeAttributes(stroke)}/>`;
}

/** A step series filled down to the value 0. */
export function stepArea(
  points: readonly StepPoint[],
  x: Scale,
  y: Scale,
  endMs: number,
  fill: string,
): string {
  if (points.length === 0) return "";
  const base = round(y(0));
  return `<path d="M${round(x(points[0].atMs))} ${base}` +
    `V${round(y(points[0].value))}${steps(points, x, y, endMs)}` +
    `V${base}Z" fill="${fill}"/>`;
}

/**
 * Round ticks from zero, the last one at or above `max`: about `count`
 * steps of 1, 2, 2.5 or 5 times a power of ten.
 */
export function evenTicks(max: number, count: number): number[] {
  const rough = Math.max(max, Number.MIN_VALUE) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((multiple) => multiple * power)
    .find((candidate) => candidate >= rough) ?? 10 * power;
  // The epsilon keeps a max that is a multiple of the step from growing
  // one more tick through rounding.
  const steps = Math.max(1, Math.ceil(max / step - 1e-9));
  return Array.from({ length: steps + 1 }, (_, i) => i * step);
}

/** Rounds a coordinate to a tenth of a pixel, which keeps files small. */
export function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Escapes text for use in element content and attribute values. */
export function escapeXml(content: string): string {
  return content.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** `H x V y` for each change of value after the first point. */
function steps(
  points: readonly StepPoint[],
  x: Scale,
  y: Scale,
  endMs: number,
): string {
  let path = "";
  let value = points[0].value;
  for (const point of points.slice(1)) {
    // A repeated value draws nothing new; skipping it keeps files small.
    if (point.value === value) continue;
    value = point.value;
    path += `H${round(x(point.atMs))}V${round(y(value))}`;
  }
  return `${path}H${round(x(endMs))}`;
}

function attributes(style: TextStyle): string {
  return [
    style.size === undefined ? "" : ` font-size="${style.size}"`,
    style.weight === undefined ? "" : ` font-weight="${style.weight}"`,
    style.color === undefined ? "" : ` fill="${style.color}"`,
    style.anchor === undefined ? "" : ` text-anchor="${style.anchor}"`,
    style.spacing === undefined ? "" : ` letter-spacing="${style.spacing}"`,
    style.dx === undefined ? "" : ` dx="${style.dx}"`,
  ].join("");
}

function strokeAttributes(stroke: StrokeStyle): string {
  return ` stroke="${stroke.color}" stroke-width="${stroke.width}"` +
    (stroke.dash === undefined ? "" : ` stroke-dasharray="${stroke.dash}"`);
}
