/**
 * `_raw_worker.ts` for a `node:worker_threads` `Worker`: the same protocol
 * on `parentPort`. Under Bun, a parent's messages to such a thread reach
 * `parentPort` only, never the Web-style global `onmessage`.
 * @module
 */

import { parentPort } from "node:worker_threads";
import cpuJob from "./cpu_job.ts";
import increment from "./tiny_job.ts";

const port = parentPort;
if (port === null) {
  throw new Error("Cannot start a bare worker: there is no parent port");
}

port.once("message", (kind: "cpu" | "tiny") => {
  const job = kind === "cpu" ? cpuJob : increment;
  port.on("message", (n: number) => port.postMessage(job(n)));
  port.postMessage("ready");
});
