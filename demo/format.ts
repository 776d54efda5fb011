/**
 * Number formats shared by the views and the summary.
 * @module
 */

/** Milliseconds as seconds, e.g. `"5.21 s"`. */
export function seconds(ms: number, digits = 2): string {
  return `${(ms / 1000).toFixed(digits)} s`;
}

/** A change of count with its sign, e.g. `"+3"` or `"-2"`. */
export function signed(delta: number): string {
  return delta > 0 ? `+${delta}` : `${delta}`;
}

/** A whole number right-aligned in `width` columns. */
export function count(value: number, width: number): string {
  return Math.round(value).toString().padStart(width);
}
