/**
 * A bare worker for the floor of `threads.ts`: what threads reach with
 * nothing but `postMessage`. The first message names the job, `"cpu"` or
 * `"tiny"`, and is answered with `"ready"`; every message after it is a
 * number, answered with the job's result and nothing else, so no envelope
 * is cloned and no id is looked up.
 * @module
 */

import cpuJob from "./cpu_job.ts";
import increment from "./tiny_job.ts";

// Deno types this file as a window, whose postMessage takes a target
// origin; in a worker it takes the message alone.
const scope = globalThis as unknown as {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
};

scope.onmessage = (event: MessageEvent<"cpu" | "tiny">) => {
  const job = event.data === "cpu" ? cpuJob : increment;
  scope.onmessage = (event: MessageEvent<number>) => {
    scope.postMessage(job(event.data));
  };
  scope.postMessage("ready");
};
