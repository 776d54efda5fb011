/**
 * Summaries for the bench scripts: the median of repeated measurements
 * with their spread, percentiles of one run's latencies, and the number
 * formats the tables use.
 * @module
 */

/** The middle value; the mean of the two middle ones for an even count. */
export function median(values: readonly number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The nearest-rank percentile: the smallest value that at least
 * `fraction` of the values do not exceed.
 *
 * @param sorted The values, in ascending order.
 * @param fraction Between 0 and 1, e.g. 0.99 for p99.
 */
export function percentile(
  sorted: ArrayLike<number>,
  fraction: number,
): number {
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The median of `values` and their min-max, as `median (min-max)`. */
export function medianWithSpread(
  values: readonly number[],
  format: (value: number) => string,
): string {
  return `${format(median(values))} (${format(Math.min(...values))}-${
    format(Math.max(...values))
  })`;
}

/** A whole number with thousands separators: `12,345`. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** A number with `digits` decimals. */
export function formatFixed(digits: number): (value: number) => string {
  return (value) => value.toFixed(digits);
}
