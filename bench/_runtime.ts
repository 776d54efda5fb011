/**
 * What the bench scripts need from the runtime they run in, the same way
 * under Deno, Bun and Node.js: its name and version, a forced garbage
 * collection where one is exposed, and the heap and resident set sizes.
 * @module
 */

import process from "node:process";

/** Heap and resident set sizes at one instant, in bytes. */
export interface MemorySample {
  /** Bytes the JavaScript heap holds, live objects and uncollected garbage. */
  readonly heapUsedBytes: number;
  /** Bytes of the process resident in memory. */
  readonly rssBytes: number;
}

interface GcGlobals {
  // Deno exposes it with `--v8-flags=--expose-gc`.
  gc?: () => void;
  Bun?: { gc(force: boolean): void; revision: string };
  Deno?: { version: { v8: string } };
}

const runtime = globalThis as GcGlobals;

/**
 * The runtime and its engine, e.g. `Deno/2.9.6 (V8 15.0.245.2-rusty)`:
 * Deno and Bun name themselves in `navigator.userAgent`; Node.js 20 has no
 * `navigator`, so it is named from `process.versions`.
 */
export function runtimeName(): string {
  const [name, engine] = runtime.Deno !== undefined
    ? [navigator.userAgent, `V8 ${runtime.Deno.version.v8}`]
    : runtime.Bun !== undefined
    ? [
      navigator.userAgent,
      `JavaScriptCore, revision ${runtime.Bun.revision.slice(0, 9)}`,
    ]
    : [`Node.js/${process.versions.node}`, `V8 ${process.versions.v8}`];
  return `${name} (${engine}), ${process.platform}-${process.arch}`;
}

/** Whether {@linkcode collectGarbage} can force a collection here. */
export function canCollectGarbage(): boolean {
  return runtime.Bun !== undefined || typeof runtime.gc === "function";
}

/**
 * Forces a full, synchronous garbage collection where the runtime allows
 * it; otherwise does nothing.
 */
export function collectGarbage(): void {
  if (runtime.Bun !== undefined) runtime.Bun.gc(true);
  else runtime.gc?.();
}

/** The heap and resident set sizes now. */
export function sampleMemory(): MemorySample {
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsedBytes: heapUsed, rssBytes: rss };
}
