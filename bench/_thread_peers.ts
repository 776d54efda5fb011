/**
 * The peers of `threads.ts`: tinypool, workerpool and piscina, each used
 * the way its documentation shows (a worker file, every job submitted,
 * then all awaited), adapted to the runtime the bench runs in. All three
 * are built on `node:worker_threads`, which Deno and Bun each implement in
 * part; where a peer needs a runtime-specific setting to run at all, its
 * row names it:
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
 * - piscina runs with its defaults in both runtimes, `atomics: "sync"`
 *   included. tinypool is a fork of it and its workers wait for jobs in
 *   the same `Atomics.wait` loop, yet under Deno piscina finished every
 *   time here: 20 fresh processes, each through 4 pools of 41,000 jobs
 *   (10 processes) or 60 (10 more), where tinypool hung in every one of
 *   6. It takes the worker file as a `file:` URL, turns it into a path and
 *   loads it with `require`, falling back to `import`; both runtimes load
 *   the TypeScript job either way, default export included.
 *
 * Under Deno they also need permissions the pools themselves do not:
 * workerpool reads the CPU count when it is imported; tinypool's and
 * piscina's workers read environment variables when they load (tinypool
 * kept piscina's `PISCINA_DISABLE_ATOMICS`; piscina also reads
 * `PISCINA_ENABLE_ASYNC_ATOMICS`), and under Deno a worker denied one
 * throws as it starts. A peer without them is left out, and
 * {@linkcode loadPeers} says which flag would bring it in.
 * @module
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RawJobKind } from "./_raw_threads.ts";

/** What one run of a peer's pool returns. */
export interface PeerRun {
  /** The results, in job order. */
  readonly results: number[];
  /** When the first result came in, on the `performance.now()` clock. */
  readonly firstResultAtMs: number;
}

/** A started pool of a peer, with its threads up. */
export interface PeerPool {
  /** Submits every job at once and resolves once all results are in. */
  run(jobs: readonly number[]): Promise<PeerRun>;
  /** Ends the pool and its threads. */
  close(): Promise<void>;
}

/** One peer library, ready to start pools. */
export interface Peer {
  /** Library, version and settings, as the report shows them. */
  readonly name: string;
  /** Starts a pool of exactly `threads` threads that runs `job`. */
  start(threads: number, job: RawJobKind): Promise<PeerPool>;
  /**
   * The same peer with up to `jobs` jobs in each thread at once
   * (`concurrentTasksPerWorker`), for a peer that can do that.
   */
  readonly withJobsPerThread?: (jobs: number) => Peer;
}

/** The peers that can run here, and why any other cannot. */
export interface PeerLookup {
  readonly peers: Peer[];
  /** One sentence per peer left out. */
  readonly leftOut: string[];
}

/** Each job's module, for the peers that load its default export. */
const JOB_URLS: Readonly<Record<RawJobKind, URL>> = {
  cpu: new URL("./cpu_job.ts", import.meta.url),
  tiny: new URL("./tiny_job.ts", import.meta.url),
};
/** Each job's workerpool script, and the name it registers the job by. */
const WORKERPOOL_SCRIPTS: Readonly<
  Record<RawJobKind, { readonly url: URL; readonly method: string }>
> = {
  cpu: {
    url: new URL("./_workerpool_cpu_worker.ts", import.meta.url),
    method: "cpuJob",
  },
  tiny: {
    url: new URL("./_workerpool_worker.ts", import.meta.url),
    method: "increment",
  },
};
const deno = (globalThis as { Deno?: typeof Deno }).Deno;
const isBun = "Bun" in globalThis;

/** Imports the peers this runtime and its permissions allow. */
export async function loadPeers(): Promise<PeerLookup> {
  const peers: Peer[] = [];
  const leftOut: string[] = [];
  const candidates = [
    {
      name: "tinypool",
      load: tinypool,
      needs: [envVariable("PISCINA_DISABLE_ATOMICS")],
      flag: "--allow-env=PISCINA_DISABLE_ATOMICS",
    },
    {
      name: "workerpool",
      load: workerpool,
      needs: [{ name: "sys", kind: "cpus" } as const],
      flag: "--allow-sys=cpus",
    },
    {
      name: "piscina",
      load: piscina,
      needs: [
        envVariable("PISCINA_DISABLE_ATOMICS"),
        envVariable("PISCINA_ENABLE_ASYNC_ATOMICS"),
      ],
      flag: "--allow-env=PISCINA_DISABLE_ATOMICS,PISCINA_ENABLE_ASYNC_ATOMICS",
    },
  ];
  for (const { name, load, needs, flag } of candidates) {
    if (isGranted(needs)) peers.push(await load());
    else leftOut.push(`${name} left out: run with ${flag}.`);
  }
  return { peers, leftOut };
}

async function tinypool(): Promise<Peer> {
  const { Tinypool } = await import("tinypool");
  const useAtomics = deno === undefined;
  const peer = (jobsPerThread: number): Peer => ({
    name: `tinypool ${version("tinypool")} (\`run\`, worker file, ` +
      `minThreads = maxThreads${useAtomics ? "" : ", useAtomics: false"}` +
      `${tasksPerWorker(jobsPerThread)})`,
    start: (threads, job) => {
      const pool = new Tinypool({
        filename: JOB_URLS[job].href,
        minThreads: threads,
        maxThreads: threads,
        useAtomics,
        concurrentTasksPerWorker: jobsPerThread,
      });
      return Promise.resolve({
        run: (jobs) => submitAll(jobs, (input) => pool.run(input)),
        close: () => pool.destroy(),
      });
    },
    withJobsPerThread: peer,
  });
  return peer(1);
}

async function workerpool(): Promise<Peer> {
  const { pool: createPool } = await import("workerpool");
  const workerType = isBun ? "web" : "auto";
  return {
    name: `workerpool ${version("workerpool")} (\`exec\`, worker script, ` +
      `minWorkers = maxWorkers, workerType: "${workerType}")`,
    start: (threads, job) => {
      const { url, method } = WORKERPOOL_SCRIPTS[job];
      const pool = createPool(fileURLToPath(url), {
        minWorkers: threads,
        maxWorkers: threads,
        workerType,
      });
      return Promise.resolve({
        run: (jobs) =>
          submitAll(
            jobs,
            (input) => pool.exec(method, [input]) as Promise<number>,
          ),
        close: async () => {
          await pool.terminate();
        },
      });
    },
  };
}

async function piscina(): Promise<Peer> {
  const { Piscina } = await import("piscina");
  const peer = (jobsPerThread: number): Peer => ({
    name: `piscina ${version("piscina")} (\`run\`, worker file, ` +
      `minThreads = maxThreads${tasksPerWorker(jobsPerThread)})`,
    start: (threads, job) => {
      const pool = new Piscina<number, number>({
        filename: JOB_URLS[job].href,
        minThreads: threads,
        maxThreads: threads,
        concurrentTasksPerWorker: jobsPerThread,
      });
      return Promise.resolve({
        run: (jobs) => submitAll(jobs, (input) => pool.run(input)),
        // Waits for running jobs, none here, then ends every thread.
        close: () => pool.close(),
      });
    },
    withJobsPerThread: peer,
  });
  return peer(1);
}

/** The setting a row names when a peer holds more than its default. */
function tasksPerWorker(jobsPerThread: number): string {
  return jobsPerThread === 1
    ? ""
    : `, concurrentTasksPerWorker: ${jobsPerThread}`;
}

/**
 * Submits every job through `submit` at once and resolves with the results
 * in job order, noting when the first one came in.
 */
async function submitAll(
  jobs: readonly number[],
  submit: (job: number) => PromiseLike<number>,
): Promise<PeerRun> {
  let firstResultAtMs = NaN;
  const results = await Promise.all(
    jobs.map((job) =>
      submit(job).then((value) => {
        if (Number.isNaN(firstResultAtMs)) firstResultAtMs = performance.now();
        return value;
      })
    ),
  );
  return { results, firstResultAtMs };
}

function envVariable(variable: string): Deno.EnvPermissionDescriptor {
  return { name: "env", variable };
}

/** Whether Deno grants every one of `descriptors`; always elsewhere. */
function isGranted(descriptors: readonly Deno.PermissionDescriptor[]): boolean {
  return deno === undefined ||
    descriptors.every((descriptor) =>
      deno.permissions.querySync(descriptor).state === "granted"
    );
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
