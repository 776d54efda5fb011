/**
 * The peers of `threads.ts`: tinypool and workerpool, each used the way
 * its documentation shows (a worker file, every job submitted, then all
 * awaited), adapted to the runtime the bench runs in. Both are built on
 * `node:worker_threads`, which Deno and Bun each implement in part, so
 * each needs a runtime-specific setting to run at all, named in its row:
 *
 * - workerpool under Bun runs with `workerType: "web"`. Its worker script
 *   sees Web Worker globals (`self`, `postMessage`, `addEventListener`)
 *   and listens on them, but Bun delivers a `node:worker_threads`
 *   parent's messages only to `parentPort`, so with the default thread
 *   type no job ever reaches a worker and the first `exec` never settles.
 *   Its Web Worker mode uses Bun's `Worker` on both ends. Under Deno the
 *   default (`"auto"`, which picks worker threads) works.
 * - tinypool under Deno runs with `useAtomics: false`. With its default,
 *   a worker waits for the next job in `Atomics.wait`, and under Deno the
 *   pool often stops settling jobs for good: 20,000 jobs hung in 10 of 12
 *   fresh processes here, and even 20 jobs in 2 of 6. Without atomics it
 *   finished every time. Under Bun the default works and is kept, so
 *   there tinypool keeps its fast path.
 *
 * Under Deno they also need permissions the pool itself does not:
 * workerpool reads the CPU count when it is imported, tinypool's workers
 * read an environment variable. A peer without them is left out, and
 * {@linkcode loadPeers} says which flag would bring it in.
 * @module
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A started pool of a peer, with its threads up. */
export interface PeerPool {
  /** Submits every job at once and resolves with the results in order. */
  run(jobs: readonly number[]): Promise<number[]>;
  /** Ends the pool and its threads. */
  close(): Promise<void>;
}

/** One peer library, ready to start pools. */
export interface Peer {
  /** Library, version and settings, as the report shows them. */
  readonly name: string;
  /** Starts a pool of exactly `threads` threads. */
  start(threads: number): Promise<PeerPool>;
}

/** The peers that can run here, and why any other cannot. */
export interface PeerLookup {
  readonly peers: Peer[];
  /** One sentence per peer left out. */
  readonly leftOut: string[];
}

const TINY_JOB_URL = new URL("./tiny_job.ts", import.meta.url);
const WORKERPOOL_WORKER_URL = new URL(
  "./_workerpool_worker.ts",
  import.meta.url,
);
const deno = (globalThis as { Deno?: typeof Deno }).Deno;
const isBun = "Bun" in globalThis;

/** Imports the peers this runtime and its permissions allow. */
export async function loadPeers(): Promise<PeerLookup> {
  const peers: Peer[] = [];
  const leftOut: string[] = [];
  const tinypoolFlag = missingFlag(
    { name: "env", variable: "PISCINA_DISABLE_ATOMICS" },
    "--allow-env=PISCINA_DISABLE_ATOMICS",
  );
  if (tinypoolFlag === undefined) peers.push(await tinypool());
  else leftOut.push(`tinypool left out: run with ${tinypoolFlag}.`);
  const workerpoolFlag = missingFlag(
    { name: "sys", kind: "cpus" },
    "--allow-sys=cpus",
  );
  if (workerpoolFlag === undefined) peers.push(await workerpool());
  else leftOut.push(`workerpool left out: run with ${workerpoolFlag}.`);
  return { peers, leftOut };
}

async function tinypool(): Promise<Peer> {
  const { Tinypool } = await import("tinypool");
  const useAtomics = deno === undefined;
  return {
    name: `tinypool ${version("tinypool")} (\`run\`, worker file, ` +
      `minThreads = maxThreads${useAtomics ? "" : ", useAtomics: false"})`,
    start: (threads) => {
      const pool = new Tinypool({
        filename: TINY_JOB_URL.href,
        minThreads: threads,
        maxThreads: threads,
        useAtomics,
      });
      return Promise.resolve({
        run: (jobs) => Promise.all(jobs.map((job) => pool.run(job))),
        close: () => pool.destroy(),
      });
    },
  };
}

async function workerpool(): Promise<Peer> {
  const { pool: createPool } = await import("workerpool");
  const workerType = isBun ? "web" : "auto";
  return {
    name: `workerpool ${version("workerpool")} (\`exec\`, worker script, ` +
      `minWorkers = maxWorkers, workerType: "${workerType}")`,
    start: (threads) => {
      const pool = createPool(fileURLToPath(WORKERPOOL_WORKER_URL), {
        minWorkers: threads,
        maxWorkers: threads,
        workerType,
      });
      return Promise.resolve({
        run: (jobs) =>
          Promise.all(
            jobs.map((job) => pool.exec("increment", [job]) as Promise<number>),
          ),
        close: async () => {
          await pool.terminate();
        },
      });
    },
  };
}

/** The flag Deno needs for `descriptor`; none elsewhere or if granted. */
function missingFlag(
  descriptor: Deno.PermissionDescriptor,
  flag: string,
): string | undefined {
  if (deno === undefined) return undefined;
  return deno.permissions.querySync(descriptor).state === "granted"
    ? undefined
    : flag;
}

/** The installed version of a package, from its `package.json`. */
function version(name: string): string {
  const manifest = new URL(
    `../node_modules/${name}/package.json`,
    import.meta.url,
  );
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string })
    .version;
}
