/**
 * Every benchmark in one command: runs each bench script as a child
 * process under each runtime it supports, one at a time, and writes
 * `bench/RESULTS.md`: the date, the machine, the runtimes' versions, the
 * command, a table of every run's outcome, then one section per workload
 * with each runtime's output. Run it from the repository root:
 *
 *     deno task bench:all [--quick] [--only=name,...]
 *
 * Each script prints Markdown tables to stdout, which is captured into the
 * file, and its progress to stderr, which is passed through to this
 * terminal as it comes and whose last lines go into the file if the
 * script fails. Under Deno a script runs with the flags of its deno.json
 * task (`bench:<name>`; under Node.js, `bench:<name>:node`, which bundles
 * it with `node.ts`), so the flags live in one place; a script without a
 * task gets the flags listed in {@linkcode SCRIPTS}.
 *
 * - `--quick`, for development: passed on to the scripts that take it,
 *   and a single repetition for those that take a repetition count.
 *   `run.ts` and `memory.ts` take neither and run in full.
 * - `--only=threads,peers:node`: runs only the named scripts, each under
 *   every runtime or the one after the colon; the others show as not run.
 *
 * One run failing (an exit code other than 0, or no end before its
 * deadline) does not stop the others: its exit code and the tail of its
 * stderr go into the file, and this script exits with 1 once the file is
 * written. A script whose file does not exist is noted and skipped, not
 * failed. The machine is described with `node:os`, its load average
 * included: runs on a shared machine are only as quiet as its neighbours.
 * @module
 */

import os from "node:os";

/** A runtime a script runs under, as the report names it. */
type Runtime = "Deno" | "Bun" | "Node.js";

/** A bench script and how to run it. */
interface Script {
  /** Its file name without `.ts`: also its `--only` name and its task's. */
  readonly name: string;
  readonly runtimes: readonly Runtime[];
  /** The flags under Deno when deno.json has no `bench:<name>` task. */
  readonly denoFlags: readonly string[];
  /** What `--quick` adds to its arguments. */
  readonly quickArgs: readonly string[];
}

/** A section of the report: one workload, and the script that runs it. */
interface Section {
  readonly title: string;
  /** Why the section reads as it does, or where else it is measured. */
  readonly note: string;
  readonly script?: string;
}

/** How one run of one script under one runtime ended. */
interface Outcome {
  readonly script: Script;
  readonly runtime: Runtime;
  /** The command as typed in a shell. */
  readonly command: string;
  readonly status: "passed" | "failed" | "missing" | "not selected";
  readonly durationMs: number;
  readonly stdout: string;
  /** Why it failed: the exit code, or the deadline it missed. */
  readonly failure: string;
  readonly stderrTail: string;
}

const DENO = "node_modules/.bin/deno";
const BUN = "node_modules/.bin/bun";
const RESULTS_URL = new URL("./RESULTS.md", import.meta.url);
const DENO_JSON_URL = new URL("../deno.json", import.meta.url);
// Far beyond any script's full run here, so only a hung one reaches it.
const DEADLINE_MS = { full: 60 * 60_000, quick: 20 * 60_000 };
const STDERR_TAIL_LINES = 40;
// Holds far more than the tail's lines, so the tail starts at a line.
const STDERR_TAIL_BYTES = 32 * 1024;

// Node.js 20 runs every script but the threads, having no Web `Worker`.
const EVERY_RUNTIME: readonly Runtime[] = ["Deno", "Bun", "Node.js"];

/** The scripts, by name, in the order they run. */
const SCRIPTS: readonly Script[] = [
  {
    name: "run",
    runtimes: EVERY_RUNTIME,
    denoFlags: [],
    quickArgs: [],
  },
  {
    name: "bursty",
    runtimes: EVERY_RUNTIME,
    denoFlags: [],
    quickArgs: ["1"],
  },
  {
    name: "threads",
    runtimes: ["Deno", "Bun"],
    denoFlags: [
      "--allow-read",
      "--allow-sys=cpus",
      "--allow-env=PISCINA_DISABLE_ATOMICS,PISCINA_ENABLE_ASYNC_ATOMICS",
    ],
    quickArgs: ["1"],
  },
  {
    name: "memory",
    runtimes: EVERY_RUNTIME,
    denoFlags: ["--v8-flags=--expose-gc"],
    quickArgs: [],
  },
  {
    name: "keyed",
    runtimes: EVERY_RUNTIME,
    denoFlags: [],
    quickArgs: ["1"],
  },
  {
    name: "peers",
    runtimes: EVERY_RUNTIME,
    denoFlags: [
      "--allow-run",
      "--allow-read",
      "--allow-env",
      "--v8-flags=--expose-gc",
    ],
    quickArgs: ["--quick"],
  },
];

const PEERS_LINK = "[Peers](#peers)";
const SECTIONS: readonly Section[] = [
  {
    title: "1. Overhead",
    note: "No-op jobs through the pool against the identity " +
      "`TransformStream` floor (`run.ts`). Against p-queue, p-limit, " +
      `p-map, RxJS and fastq: the overhead workload under ${PEERS_LINK}.`,
    script: "run",
  },
  {
    title: "2. I/O",
    note: "Jobs that each await a 2 ms timer, measured by `peers.ts` " +
      `only: the I/O workload under ${PEERS_LINK}.`,
  },
  {
    title: "3. Bursty",
    note: "Bursts of jobs through autoscaling pools against a fixed pool " +
      "(`bursty.ts`).",
    script: "bursty",
  },
  {
    title: "4. CPU-bound threads",
    note: "The thread backend against the in-thread pool, bare workers, " +
      "tinypool, workerpool and piscina (`threads.ts`), under Deno and " +
      "Bun: Node.js 20 has no Web `Worker`.",
    script: "threads",
  },
  {
    title: "5. Memory",
    note: "The heap over 1,000,000 jobs (`memory.ts`). Against the peers: " +
      `the memory workload under ${PEERS_LINK}.`,
    script: "memory",
  },
  {
    title: "6. Keyed",
    note: "Per-key order against p-queue with per-key chains (`keyed.ts`).",
    script: "keyed",
  },
  {
    title: "Peers",
    note: "`peers.ts` prints its three workloads (overhead, I/O, memory) " +
      "in one output, so each runtime's output stays whole here.",
    script: "peers",
  },
];

const startedAt = new Date();
const startMs = performance.now();
const { isQuick, only } = parseArguments(Deno.args);
const tasks = (JSON.parse(await Deno.readTextFile(DENO_JSON_URL)) as {
  tasks?: Record<string, string>;
}).tasks ?? {};
const loadAtStart = os.loadavg();
const versions = await runtimeVersions();

const outcomes: Outcome[] = [];
const planned = SCRIPTS.flatMap((script) =>
  script.runtimes.map((runtime) => ({ script, runtime }))
);
for (const [index, { script, runtime }] of planned.entries()) {
  const command = commandFor(script, runtime);
  const label = `[${index + 1}/${planned.length}] bench/${script.name}.ts ` +
    `under ${runtime}`;
  const outcome = await runScript(script, runtime, command, label);
  if (outcome.status !== "not selected") {
    console.error(`${label}: ${describe(outcome)}`);
  }
  outcomes.push(outcome);
}

await Deno.writeTextFile(RESULTS_URL, report());
console.log(`Wrote ${decodeURIComponent(RESULTS_URL.pathname)}`);
if (outcomes.some(({ status }) => status === "failed")) Deno.exit(1);

function parseArguments(
  args: readonly string[],
): { isQuick: boolean; only: Set<string> | undefined } {
  let isQuick = false;
  let only: Set<string> | undefined;
  const names = new Set(
    SCRIPTS.flatMap(({ name, runtimes }) => [
      name,
      ...runtimes.map((runtime) => `${name}:${runtimeKey(runtime)}`),
    ]),
  );
  for (const arg of args) {
    if (arg === "--quick") {
      isQuick = true;
    } else if (arg.startsWith("--only=")) {
      only = new Set(arg.slice("--only=".length).split(","));
      const unknown = [...only].filter((name) => !names.has(name));
      if (unknown.length > 0) {
        throw new RangeError(
          `Cannot run benchmarks: "--only" must list scripts (${
            SCRIPTS.map(({ name }) => name).join(", ")
          }), each optionally with ":deno", ":bun" or ":node", received ${
            unknown.join(",")
          }`,
        );
      }
    } else {
      throw new RangeError(
        `Cannot run benchmarks: the arguments must be --quick and --only=<name,...>, received ${arg}`,
      );
    }
  }
  return { isQuick, only };
}

/** The runtime's name in `--only`. */
function runtimeKey(runtime: Runtime): string {
  return runtime === "Node.js" ? "node" : runtime.toLowerCase();
}

/** The command that runs `script` under `runtime`, program first. */
function commandFor(script: Script, runtime: Runtime): string[] {
  const file = `bench/${script.name}.ts`;
  const args = isQuick ? script.quickArgs : [];
  switch (runtime) {
    case "Deno": {
      const flags = taskFlags(`bench:${script.name}`, file, script.denoFlags);
      return [DENO, "run", ...flags, file, ...args];
    }
    case "Bun":
      return [BUN, file, ...args];
    case "Node.js": {
      const flags = taskFlags(`bench:${script.name}:node`, "bench/node.ts", [
        "-A",
      ]);
      return [DENO, "run", ...flags, "bench/node.ts", file, ...args];
    }
  }
}

/**
 * The flags of a deno.json task of the form `<deno> run <flags> <entry>
 * ...`; `fallback` if there is no such task or it has another form.
 */
function taskFlags(
  task: string,
  entry: string,
  fallback: readonly string[],
): readonly string[] {
  const words = tasks[task]?.trim().split(/\s+/) ?? [];
  const entryAt = words.indexOf(entry);
  // A quoted word would need a shell to split it right.
  const isPlain = words.every((word) => !/["'\\$]/.test(word));
  return words[0] === DENO && words[1] === "run" && entryAt >= 2 && isPlain
    ? words.slice(2, entryAt)
    : fallback;
}

/**
 * Runs one script and collects its outcome; its stderr goes to this
 * process's stderr as it comes.
 */
async function runScript(
  script: Script,
  runtime: Runtime,
  command: string[],
  label: string,
): Promise<Outcome> {
  const outcome = {
    script,
    runtime,
    command: command.join(" "),
    durationMs: 0,
    stdout: "",
    failure: "",
    stderrTail: "",
  };
  const selected = only === undefined || only.has(script.name) ||
    only.has(`${script.name}:${runtimeKey(runtime)}`);
  if (!selected) return { ...outcome, status: "not selected" };
  if (!exists(`bench/${script.name}.ts`)) {
    return { ...outcome, status: "missing" };
  }

  console.error(`${label}: ${outcome.command}`);
  const startMs = performance.now();
  const deadline = AbortSignal.timeout(
    isQuick ? DEADLINE_MS.quick : DEADLINE_MS.full,
  );
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // Sends SIGTERM to the child, which passes it on to what it started
    // (`node.ts` to its bundle, `peers.ts` to its memory child).
    signal: deadline,
  }).spawn();
  const [toTerminal, toTail] = child.stderr.tee();
  const [stdout, stderrTail, status] = await Promise.all([
    new Response(child.stdout).text(),
    tail(toTail),
    child.status,
    toTerminal.pipeTo(Deno.stderr.writable, { preventClose: true }),
  ]);
  const durationMs = performance.now() - startMs;

  if (status.success) {
    return { ...outcome, status: "passed", durationMs, stdout };
  }
  const failure = deadline.aborted
    ? `no end within ${formatDuration(durationMs)}, ended with SIGTERM`
    : status.signal !== null
    ? `ended by ${status.signal}`
    : `exit code ${status.code}`;
  return {
    ...outcome,
    status: "failed",
    durationMs,
    stdout,
    failure,
    stderrTail,
  };
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * The last lines of `stream`, without terminal colours; only the last
 * bytes are kept while it flows.
 */
async function tail(stream: ReadableStream<Uint8Array>): Promise<string> {
  let kept = new Uint8Array(0);
  for await (const chunk of stream) {
    const joined = new Uint8Array(kept.length + chunk.length);
    joined.set(kept);
    joined.set(chunk, kept.length);
    kept = joined.slice(Math.max(0, joined.length - STDERR_TAIL_BYTES));
  }
  // deno-lint-ignore no-control-regex -- matches the escape character
  const colours = /\x1b\[[0-9;]*[A-Za-z]/g;
  return new TextDecoder().decode(kept).replace(colours, "")
    .split(/\r?\n|\r/).slice(-STDERR_TAIL_LINES).join("\n").trim();
}

/** Each runtime's version and engine, as the report lists them. */
async function runtimeVersions(): Promise<Record<Runtime, string>> {
  const [deno, bun, node] = await Promise.all([
    output(DENO, ["--version"]),
    output(BUN, [
      "-p",
      "[Bun.version, Bun.revision, process.versions.webkit].join(' ')",
    ]),
    output("node", [
      "-p",
      "[process.versions.node, process.versions.v8].join(' ')",
    ]),
  ]);
  // Lines of the form `deno 2.9.6 (stable, ...)`, `v8 15.0...`, ...
  const denoParts = deno?.split("\n").map((line) => line.split(" ")[1]) ?? [];
  const [bunVersion, bunRevision, webkit] = bun?.split(" ") ?? [];
  const [nodeVersion, nodeV8] = node?.split(" ") ?? [];
  return {
    Deno: deno === undefined
      ? `Deno: ${DENO} did not run`
      : `Deno ${denoParts[0]}: V8 ${denoParts[1]}, TypeScript ${denoParts[2]}`,
    Bun: bun === undefined
      ? `Bun: ${BUN} did not run`
      : `Bun ${bunVersion} (revision ${bunRevision.slice(0, 9)}): ` +
        `JavaScriptCore from WebKit ${webkit.slice(0, 12)}`,
    "Node.js": node === undefined
      ? "Node.js: node did not run"
      : `Node.js ${nodeVersion}: V8 ${nodeV8}`,
  };
}

/** What `program` prints, trimmed; undefined if it cannot run or fails. */
async function output(
  program: string,
  args: string[],
): Promise<string | undefined> {
  try {
    const { success, stdout } = await new Deno.Command(program, {
      args,
      stdin: "null",
      stderr: "null",
    }).output();
    return success ? new TextDecoder().decode(stdout).trim() : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function report(): string {
  const cpus = os.cpus();
  const load = (values: number[]): string =>
    values.map((value) => value.toFixed(2)).join(", ");
  const command = ["deno task bench:all", ...Deno.args].join(" ");
  const taskCommand = [tasks["bench:all"] ?? "", ...Deno.args].join(" ");
  const lines = [
    "# Benchmark results",
    "",
    `Written by \`bench/all.ts\` on ` +
    `${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC, in ` +
    `${formatDuration(performance.now() - startMs)}.`,
    "",
    `- Machine: ${cpus[0]?.model ?? "unknown CPU"}, ${cpus.length} cores, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB of memory; ` +
    `${os.type()} ${os.release()} (${os.arch()}).`,
    `- Load average (1, 5, 15 min): ${load(loadAtStart)} at the start, ` +
    `${load(os.loadavg())} at the end.`,
    ...Object.values(versions).map((version) => `- ${version}.`),
    `- Command: \`${command}\`, that is \`${taskCommand}\`` +
    (isQuick
      ? " (quick: fewer repetitions, for development; not for comparison)."
      : "."),
    "",
    "| workload | script | runtime | outcome |",
    "| --- | --- | --- | --- |",
    ...SECTIONS.flatMap((section) =>
      outcomesOf(section).map((outcome) =>
        `| ${section.title} | \`bench/${outcome.script.name}.ts\` | ` +
        `${outcome.runtime} | ${describe(outcome)} |`
      )
    ),
  ];
  for (const section of SECTIONS) {
    lines.push("", `## ${section.title}`, "", section.note);
    for (const outcome of outcomesOf(section)) {
      lines.push("", ...runBlock(outcome));
    }
  }
  return `${lines.join("\n")}\n`;
}

function outcomesOf(section: Section): Outcome[] {
  return outcomes.filter(({ script }) => script.name === section.script);
}

/** One run's part of its section: how it was run, then what it printed. */
function runBlock(outcome: Outcome): string[] {
  const heading = `**${outcome.runtime}**: \`${outcome.command}\``;
  switch (outcome.status) {
    case "missing":
    case "not selected":
      return [`${heading}: ${describe(outcome)}.`];
    case "passed":
      return [
        `${heading} (${formatDuration(outcome.durationMs)})`,
        "",
        outcome.stdout.trim(),
      ];
    case "failed":
      return [
        `${heading}: failed, ${outcome.failure}, after ` +
        `${formatDuration(outcome.durationMs)}. The last lines of its ` +
        "stderr:",
        "",
        ...fenced(outcome.stderrTail),
        ...(outcome.stdout.trim() === ""
          ? []
          : ["", "What it printed before:", "", outcome.stdout.trim()]),
      ];
  }
}

function describe(outcome: Outcome): string {
  switch (outcome.status) {
    case "passed":
      return `passed in ${formatDuration(outcome.durationMs)}`;
    case "failed":
      return `failed, ${outcome.failure}`;
    case "missing":
      return `not run: bench/${outcome.script.name}.ts does not exist`;
    case "not selected":
      return "not run: left out by --only";
  }
}

/** `text` in a code fence longer than any run of backticks inside it. */
function fenced(text: string): string[] {
  const longest = Math.max(
    2,
    ...(text.match(/`+/g) ?? []).map((run) => run.length),
  );
  const fence = "`".repeat(longest + 1);
  return [`${fence}text`, text === "" ? "(empty)" : text, fence];
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60
    ? `${seconds} s`
    : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
