/**
 * One set of test files for two runtimes: under Deno a test is a
 * `Deno.test` (run with the ops and resources sanitizers), under Bun a
 * `bun:test` test. Every test gets a deadline, so a hang fails the one
 * test instead of the whole run.
 * @module
 */

/** A test body. */
export type TestBody = () => void | Promise<void>;

/** Options for one test. */
export interface TestOptions {
  /** Fails the test if it runs longer, in milliseconds. */
  deadlineMs?: number;
}

const DEFAULT_DEADLINE_MS = 30_000;

type Register = (name: string, body: TestBody, options: TestOptions) => void;

const register: Register = await chooseRunner();

/** Declares a test whose name states the behaviour it checks. */
export function test(
  name: string,
  body: TestBody,
  options: TestOptions = {},
): void {
  register(name, body, options);
}

async function chooseRunner(): Promise<Register> {
  const deno = (globalThis as { Deno?: { test: DenoTest } }).Deno;
  if (deno !== undefined) {
    return (name, body, options) =>
      deno.test({ name, fn: withDeadline(name, body, options) });
  }
  // A computed specifier keeps Deno's type checker from resolving it.
  const bunTest = "bun:test";
  const { test: bun } = await import(bunTest) as { test: BunTest };
  return (name, body, options) => {
    const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    // Bun enforces its own timeout; ours, a little shorter, names the test.
    bun(name, withDeadline(name, body, options), deadlineMs + 5_000);
  };
}

type DenoTest = (definition: { name: string; fn: TestBody }) => void;
type BunTest = (name: string, fn: TestBody, timeoutMs: number) => void;

function withDeadline(
  name: string,
  body: TestBody,
  options: TestOptions,
): TestBody {
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  return async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`"${name}" ran past ${deadlineMs} ms`)),
        deadlineMs,
      );
    });
    try {
      await Promise.race([body(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  };
}
