/**
 * Runs the library in a real browser: bundles `browser/page.ts` (and the
 * library with it) for the browser into a temporary folder, serves it and
 * `browser/jobs.js` on 127.0.0.1, and drives headless Chromium through
 * playwright-core. Each check calls one of the page's scenarios on a fresh
 * page and checks what it reports; the thread checks also ask the browser
 * which worker threads the page still has. Prints one line per check, then
 * `N passed, M failed`, and exits non-zero on any failure.
 *
 * Needs Debian's Chromium at `/usr/bin/chromium` (CI installs it; by hand:
 * `apt-get update && apt-get install -y chromium`); it never downloads a
 * browser. `deno task test` runs it, and `deno task test:browser` alone.
 * It needs `--allow-all`: playwright-core probes /proc as it loads, which
 * Deno allows no scoped `--allow-read` to do.
 * @module
 */

import assert from "node:assert/strict";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type {
  Job,
  PlainRecord,
  RunScenario,
  Scenarios,
} from "../browser/page.ts";

/** One named check against a fresh page. */
interface Check {
  readonly name: string;
  /** The page to open; `/` unless named. */
  readonly path?: string;
  run(page: Page, threads: ThreadLog): Promise<void>;
}

/** The worker threads the browser reported for one page. */
interface ThreadLog {
  started: number;
}

const CHROMIUM = "/usr/bin/chromium";
// Without the network flags, Chromium reaches for Google's hosts at start,
// which a closed network refuses.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const RUN_DEADLINE_MS = 180_000;
const CHECK_DEADLINE_MS = 30_000;
const THREADS_GONE_DEADLINE_MS = 5_000;

const root = new URL("../", import.meta.url);
// What a strict site sends: workers only from its own origin, no blob:.
const STRICT_POLICY = "worker-src 'self'";
const denoBin = new URL("node_modules/.bin/deno", root).pathname;

const checks: Check[] = [
  {
    name: "an in-thread pool scales up and doubles a stream in the page",
    async run(page) {
      const report = await scenario(page, "inThreadPool");
      assert.deepEqual(report.results, report.expected);
      // Jobs that wait a little build a queue: the pool grows, within bounds.
      assert.ok(
        report.peakWorkers >= 2 && report.peakWorkers <= 4,
        `peakWorkers outside 2..4: ${report.peakWorkers}`,
      );
      assert.equal(report.workersAfter, 0);
    },
  },
  {
    name:
      "a module URL runs CPU jobs in Web Worker threads, one per core at most",
    async run(page, threads) {
      const report = await scenario(page, "threadPool");
      // The last job asks where it ran: in a thread, not on the page.
      assert.deepEqual(
        report.results.slice(0, -1),
        report.expected.slice(0, -1),
      );
      assert.equal(report.results.at(-1), true);
      assert.equal(report.expected.at(-1), false);
      assert.ok(
        report.peakWorkers >= 1 &&
          report.peakWorkers <= report.hardwareConcurrency,
        `peakWorkers ${report.peakWorkers} outside 1..${report.hardwareConcurrency}`,
      );
      assert.ok(
        threads.started >= 1 && threads.started <= report.hardwareConcurrency,
        `the browser saw ${threads.started} worker threads`,
      );
      assert.equal(report.workersAfter, 0);
      await waitForNoThreads(page);
    },
  },
  {
    name: "with jobsPerThread 2, four workers share two Web Worker threads",
    async run(page, threads) {
      const report = await scenario(page, "sharedThreadPool");
      assert.deepEqual(
        report.results.slice(0, -1),
        report.expected.slice(0, -1),
      );
      assert.equal(report.results.at(-1), true, "the last job ran in a thread");
      assert.ok(
        report.peakWorkers >= 1 && report.peakWorkers <= 4,
        `peakWorkers ${report.peakWorkers} outside 1..4`,
      );
      assert.ok(
        threads.started >= 1 && threads.started <= 2,
        `the browser saw ${threads.started} worker threads`,
      );
      assert.equal(report.workersAfter, 0);
      await waitForNoThreads(page);
    },
  },
  {
    name: "aborting a thread pool mid-run closes the results and ends threads",
    async run(page, threads) {
      const report = await scenario(page, "abortThreadPool");
      assert.equal(report.busyAtAbort, 2);
      assert.equal(report.errored, false, "the results errored, not closed");
      assert.equal(report.delivered, 0);
      assert.equal(report.completed, 0);
      assert.ok(report.unfinished >= 2, `unfinished: ${report.unfinished}`);
      assert.equal(
        report.completed + report.failed + report.unfinished,
        report.accepted,
      );
      assert.equal(report.workersAfter, 0);
      assert.equal(report.busyAfter, 0);
      // Exact: Chromium holds a new thread until playwright has seen it.
      assert.equal(threads.started, 2);
      await waitForNoThreads(page);
    },
  },
  {
    name: "a job that throws in a thread arrives as a rejected settled record",
    async run(page) {
      const records = await scenario(page, "throwingThreadJob");
      const expected: PlainRecord[] = [
        { job: primes(100), status: "fulfilled", value: 25 },
        {
          job: { kind: "throw", message: "bad input" },
          status: "rejected",
          reason: { isError: true, name: "RangeError", message: "bad input" },
        },
        { job: primes(10), status: "fulfilled", value: 4 },
      ];
      assert.deepEqual(records, expected);
      await waitForNoThreads(page);
    },
  },
  {
    name:
      "a job or result that cannot be cloned fails that job alone with a DataCloneError",
    async run(page) {
      const outcomes = await scenario(page, "uncloneableThreadJobs");
      assert.equal(outcomes.length, 3);
      const [job, result, fine] = outcomes;
      assert.ok(job.status === "rejected", JSON.stringify(job));
      assert.ok(result.status === "rejected", JSON.stringify(result));
      assert.equal(job.reason.name, "DataCloneError");
      assert.match(job.reason.message, /^Cannot send the job to its worker/);
      assert.equal(result.reason.name, "DataCloneError");
      assert.match(result.reason.message, /^Cannot send the job's result/);
      assert.deepEqual(fine, { status: "fulfilled", value: 4 });
      await waitForNoThreads(page);
    },
  },
  {
    name:
      `under "${STRICT_POLICY}", threads start from a served threadHost where the built-in blob host is refused`,
    path: "/strict",
    async run(page) {
      const report = await scenario(page, "strictPageThreadPool");
      assert.match(report.refused, /^Cannot start worker 1: /);
      assert.match(report.refused, /Content-Security-Policy.*threadHost/);
      assert.deepEqual(report.results, report.expected);
      assert.equal(report.workersAfter, 0);
      await waitForNoThreads(page);
    },
  },
];

if (!await isFile(CHROMIUM)) {
  console.log(
    `FAIL Chromium is missing: no browser at ${CHROMIUM}. Install Debian's package with \`apt-get update && apt-get install -y chromium\` (.ci/run does this in CI); the browser checks never download a browser.`,
  );
  console.log("0 passed, 1 failed");
  Deno.exit(1);
}

const tmp = await Deno.makeTempDir({ prefix: "autoscale-browser-" });
let context: BrowserContext | undefined;
let server: Deno.HttpServer<Deno.NetAddr> | undefined;
const runDeadline = setTimeout(() => {
  console.log(`FAIL the browser checks ran past ${RUN_DEADLINE_MS} ms`);
  console.log("0 passed, 1 failed");
  // Cleaning up may hang too: give it a moment, then leave regardless.
  const exit = () => Deno.exit(1);
  setTimeout(exit, 5_000);
  cleanUp().finally(exit);
}, RUN_DEADLINE_MS);

let passed = 0;
let failed = 0;
try {
  const started = performance.now();
  await bundle(new URL("browser/page.ts", root).pathname, `${tmp}/page.js`);
  await bundle(new URL("thread_host.ts", root).pathname, `${tmp}/host.js`);
  const index = new URL("browser/index.html", root).pathname;
  server = serve({
    "/": { path: index, type: "text/html" },
    "/strict": { path: index, type: "text/html", policy: STRICT_POLICY },
    "/page.js": { path: `${tmp}/page.js`, type: "text/javascript" },
    "/host.js": { path: `${tmp}/host.js`, type: "text/javascript" },
    "/jobs.js": {
      path: new URL("browser/jobs.js", root).pathname,
      type: "text/javascript",
    },
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  context = await chromium.launchPersistentContext(`${tmp}/profile`, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  console.log(
    `Chromium ${context.browser()?.version() ?? ""} on ${origin}, ready in ${
      ms(started)
    }`,
  );
  for (const check of checks) {
    const ok = await runCheck(context, origin, check);
    if (ok) passed++;
    else failed++;
  }
} catch (error) {
  console.log(`FAIL the browser checks could not run: ${describe(error)}`);
  failed++;
} finally {
  await cleanUp();
  clearTimeout(runDeadline);
}
console.log(`${passed} passed, ${failed} failed`);
if (failed > 0) Deno.exit(1);

/**
 * Runs one check on a fresh page under its deadline and prints its line,
 * with the browser's own errors when it fails.
 */
async function runCheck(
  context: BrowserContext,
  origin: string,
  check: Check,
): Promise<boolean> {
  const started = performance.now();
  const page = await context.newPage();
  const browserErrors: string[] = [];
  const threads: ThreadLog = { started: 0 };
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      browserErrors.push(`console.${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => {
    browserErrors.push(`uncaught: ${error.stack ?? error.message}`);
  });
  page.on("worker", (worker) => {
    threads.started++;
    worker.on("console", (message) => {
      if (message.type() === "error") {
        browserErrors.push(`worker console.error: ${message.text()}`);
      }
    });
  });
  try {
    await withDeadline(
      (async () => {
        await page.goto(`${origin}${check.path ?? "/"}`);
        await page.waitForFunction(() => "runScenario" in globalThis);
        await check.run(page, threads);
      })(),
      CHECK_DEADLINE_MS,
    );
    console.log(`ok   ${check.name} (${ms(started)})`);
    return true;
  } catch (error) {
    console.log(`FAIL ${check.name} (${ms(started)})`);
    console.log(indent(describe(error)));
    for (const line of browserErrors) console.log(indent(`browser: ${line}`));
    return false;
  } finally {
    await page.close();
  }
}

/** Runs the page's scenario `name` and returns its report. */
async function scenario<K extends keyof Scenarios>(
  page: Page,
  name: K,
): Promise<Awaited<ReturnType<Scenarios[K]>>> {
  // This function runs in the page, where the bundle put `runScenario`.
  const report = await page.evaluate(
    (name) =>
      (globalThis as unknown as { runScenario: RunScenario }).runScenario(
        name,
      ),
    name,
  );
  return report as Awaited<ReturnType<Scenarios[K]>>;
}

/**
 * Waits until the browser reports no worker thread for `page`: the pool's
 * `workers === 0` is its own count, this is Chromium's.
 */
async function waitForNoThreads(page: Page): Promise<void> {
  const deadline = Date.now() + THREADS_GONE_DEADLINE_MS;
  while (page.workers().length > 0) {
    if (Date.now() > deadline) {
      throw new Error(
        `${page.workers().length} worker thread(s) still alive after the pool closed: ${
          page.workers().map((worker) => worker.url()).join(", ")
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Bundles `entry` for the browser, type-checked, into `output`. */
async function bundle(entry: string, output: string): Promise<void> {
  const { success, stderr } = await new Deno.Command(denoBin, {
    args: ["bundle", "--check", "--platform", "browser", entry, "-o", output],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `Cannot bundle ${entry}:\n${new TextDecoder().decode(stderr)}`,
    );
  }
}

/** A file to serve, and the Content-Security-Policy to send with it. */
interface Served {
  readonly path: string;
  readonly type: string;
  readonly policy?: string;
}

/** Serves each path's file as it says; anything else is 404. */
function serve(files: Record<string, Served>): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (
    request,
  ) => {
    const file = files[new URL(request.url).pathname];
    if (file === undefined) return new Response("Not found", { status: 404 });
    const headers = new Headers({
      "content-type": file.type,
      "cache-control": "no-store",
    });
    if (file.policy !== undefined) {
      headers.set("content-security-policy", file.policy);
    }
    return new Response(await Deno.readFile(file.path), { headers });
  });
}

/** Closes the browser and the server and removes the temporary folder. */
async function cleanUp(): Promise<void> {
  const closing = context;
  context = undefined;
  await closing?.close().catch((error) =>
    console.log(`closing Chromium failed: ${describe(error)}`)
  );
  const stopping = server;
  server = undefined;
  await stopping?.shutdown();
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
}

async function withDeadline<T>(work: Promise<T>, deadlineMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`ran past ${deadlineMs} ms`)),
      deadlineMs,
    );
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

function primes(below: number): Job {
  return { kind: "primes", below };
}

function ms(started: number): string {
  return `${Math.round(performance.now() - started)} ms`;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.stack ?? error.message : String(error);
}

function indent(text: string): string {
  return text.replace(/^/gm, "     ");
}
