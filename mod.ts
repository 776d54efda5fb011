/**
 * An autoscaling fan-out / fan-in pool on Web Streams. Jobs come in through
 * a stream, a controller scales workers (async functions, or `Worker`
 * threads given a module URL) between a minimum and a maximum from queue
 * pressure, and every result comes out of one `ReadableStream`. An
 * `AbortSignal` ends everything; no job is run twice and no result is
 * delivered twice.
 *
 * @example Resolve lengths on up to 8 workers
 * ```ts
 * import { autoScale } from "@autoscale/streams";
 * import assert from "node:assert/strict";
 *
 * const lengths = ReadableStream.from(["a", "bb", "ccc"]).pipeThrough(
 *   autoScale(async (word: string) => word.length, { maxWorkers: 8 }),
 * );
 * assert.deepEqual((await Array.fromAsync(lengths)).sort(), [1, 2, 3]);
 * ```
 * @module
 */

export {
  autoScale,
  AutoScaleStream,
  type AutoScaleStreamEventMap,
} from "./src/auto_scale.ts";
export { autoScalePool } from "./src/auto_scale_pool.ts";
export type { JobSource } from "./src/iterable_stream.ts";
export type {
  AutoScaleOptions,
  ResizeOptions,
  ScalingOptions,
} from "./src/options.ts";
export type { PoolStats } from "./src/pool_stats.ts";
export type { RetryOptions } from "./src/retry.ts";
export type { SettledResult } from "./src/settled.ts";
export {
  ScaleEvent,
  type ScaleEventInit,
  type ScaleReason,
} from "./src/scale_event.ts";
export type { JobContext, Work } from "./src/work.ts";
export {
  WorkerErrorEvent,
  type WorkerErrorEventInit,
} from "./src/worker_error_event.ts";
