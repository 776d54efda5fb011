/**
 * Turns what `autoScalePool` accepts as jobs into a `ReadableStream`.
 * `ReadableStream.from` would do, but not every browser has it.
 * @module
 */

/** Anything `autoScalePool` takes jobs from. */
export type JobSource<T> = ReadableStream<T> | AsyncIterable<T> | Iterable<T>;

/**
 * A stream over `source`, or `source` itself if it is already a stream.
 * Items are pulled one at a time, only when the stream is read, and
 * cancelling the stream calls the iterator's `return`.
 *
 * @throws {TypeError} `source` is not a stream or an iterable.
 */
export function toReadableStream<T>(
  source: JobSource<T>,
  describeError: (source: unknown) => TypeError,
): ReadableStream<T> {
  if (source instanceof ReadableStream) return source;
  const iterator = getIterator(source);
  if (iterator === undefined) throw describeError(source);
  return new ReadableStream<T>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value as T);
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  }, { highWaterMark: 0 });
}

function getIterator<T>(
  source: unknown,
): Iterator<T> | AsyncIterator<T> | undefined {
  if (typeof source !== "object" && typeof source !== "string") {
    return undefined;
  }
  if (source === null) return undefined;
  const iterable = source as Partial<AsyncIterable<T> & Iterable<T>>;
  const asyncIterate = iterable[Symbol.asyncIterator];
  if (typeof asyncIterate === "function") return asyncIterate.call(iterable);
  const iterate = iterable[Symbol.iterator];
  if (typeof iterate === "function") return iterate.call(iterable);
  return undefined;
}
