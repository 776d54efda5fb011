/**
 * Runs the whole suite: the tests and the documentation examples under
 * Deno with its leak sanitizers, the same tests under Bun, the demo's
 * quick non-interactive run and the examples as smoke tests, and the
 * browser checks in
 * headless Chromium (`scripts/browser_test.ts`, which fails when Chromium
 * is missing rather than skip). Prints each runner's output as it comes,
 * and last a one-line total.
 *
 * Run it with `deno task test`.
 * @module
 */

interface RunResult {
  readonly passed: number;
  readonly failed: number;
  readonly ok: boolean;
}

const bin = new URL("../node_modules/.bin/", import.meta.url).pathname;

const runs: Array<[string, string[], (output: string) => RunResult]> = [
  [
    "deno",
    [
      "test",
      "--sanitize-ops",
      "--sanitize-resources",
      "--allow-read",
      "--allow-env",
      "--doc",
      "mod.ts",
      "src/",
      "tests/",
    ],
    parseDeno,
  ],
  ["bun", ["test", "tests/"], parseBun],
  ["deno", ["run", "demo/main.ts", "--quick", "--plain"], parseDemo],
  [
    "deno",
    ["run", "--allow-net=127.0.0.1", "examples/crawler.ts"],
    parseExample,
  ],
  ["deno", ["run", "--allow-read", "examples/threads.ts"], parseExample],
  ["deno", ["run", "--allow-read", "examples/batches.ts"], parseExample],
  ["deno", ["run", "examples/lines.ts"], parseExample],
  // All permissions: playwright-core probes /proc as it loads, and Deno
  // grants /proc and /etc to --allow-all only, never to a scoped
  // --allow-read. The runner itself only serves 127.0.0.1, runs the bundler
  // and Chromium, and writes in its temporary folder.
  ["deno", ["run", "--allow-all", "scripts/browser_test.ts"], parseBrowser],
];

let passed = 0;
let failed = 0;
let ok = true;
for (const [runtime, args, parse] of runs) {
  console.log(`\n=== ${runtime} ${args.join(" ")}`);
  const result = await run(`${bin}${runtime}`, args, parse);
  passed += result.passed;
  failed += result.failed;
  ok &&= result.ok;
}
console.log(`\ntotal: ${passed} passed, ${failed} failed`);
if (!ok || failed > 0) Deno.exit(1);

async function run(
  command: string,
  args: string[],
  parse: (output: string) => RunResult,
): Promise<RunResult> {
  const child = new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const [stdout, stderr] = await Promise.all([
    echo(child.stdout, Deno.stdout),
    echo(child.stderr, Deno.stderr),
  ]);
  const status = await child.status;
  const result = parse(stdout + "\n" + stderr);
  // A runner that crashed before its summary counts as one failure.
  if (!status.success && result.failed === 0) {
    return { passed: result.passed, failed: 1, ok: false };
  }
  return { ...result, ok: status.success };
}

async function echo(
  from: ReadableStream<Uint8Array>,
  to: { write(bytes: Uint8Array): Promise<number> },
): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const bytes of from) {
    await writeAll(to, bytes);
    text += decoder.decode(bytes, { stream: true });
  }
  return text + decoder.decode();
}

async function writeAll(
  to: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await to.write(bytes.subarray(written));
  }
}

function parseDeno(output: string): RunResult {
  // "ok | 12 passed (3 steps) | 0 failed (1s)"
  const match = /(\d+) passed[^|]*\| (\d+) failed/.exec(output);
  return {
    passed: Number(match?.[1] ?? 0),
    failed: Number(match?.[2] ?? 0),
    ok: match !== null,
  };
}

// The demo counts as one test: it passes when it runs to its summary.
function parseDemo(output: string): RunResult {
  const summarised = output.includes("Summary:");
  return { passed: summarised ? 1 : 0, failed: summarised ? 0 : 1, ok: true };
}

// An example counts as one test: it passes when it says it worked.
function parseExample(output: string): RunResult {
  const worked = output.includes("example ok");
  return { passed: worked ? 1 : 0, failed: worked ? 0 : 1, ok: true };
}

// "4 passed, 0 failed", the browser runner's last line.
function parseBrowser(output: string): RunResult {
  const match = /^(\d+) passed, (\d+) failed$/m.exec(output);
  return {
    passed: Number(match?.[1] ?? 0),
    failed: Number(match?.[2] ?? 0),
    ok: match !== null,
  };
}

function parseBun(output: string): RunResult {
  const passed = /^\s*(\d+) pass$/m.exec(output);
  const failed = /^\s*(\d+) fail$/m.exec(output);
  return {
    passed: Number(passed?.[1] ?? 0),
    failed: Number(failed?.[1] ?? 0),
    ok: passed !== null,
  };
}
