/**
 * The batched job of `examples/batches.ts`: counts the words of each line
 * of a batch, in order, with the same function as the one-line job.
 * @module
 */

import wordCount from "./word_count.ts";

/** The word count of each line of `lines`. */
export default function wordCounts(lines: readonly string[]): number[] {
  return lines.map(wordCount);
}
