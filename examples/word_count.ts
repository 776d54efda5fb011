/**
 * The tiny job of `examples/batches.ts`: counts the words of one line. A
 * module with a default export, so a pool can run it in worker threads.
 * @module
 */

/** The number of words in `line`, split on runs of whitespace. */
export default function wordCount(line: string): number {
  const words = line.trim().split(/\s+/);
  return words[0] === "" ? 0 : words.length;
}
