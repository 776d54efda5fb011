/**
 * What the demo does differently under Deno and under Bun or Node.js:
 * arguments, the terminal, writing, stop signals and exiting. The rest of the
 * demo sees only these functions, so it runs unchanged on each runtime and
 * `deno run` needs no permissions.
 * @module
 */

/** The signals that ask the demo to stop: Ctrl-C, and a service manager's. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** The few members of Node.js's `process` the demo uses; Bun has them too. */
interface NodeProcess {
  readonly argv: string[];
  readonly env: Record<string, string | undefined>;
  readonly stdout: {
    readonly isTTY?: boolean;
    readonly rows?: number;
    write(text: string): boolean;
  };
  on(event: StopSignal, listener: () => void): unknown;
  off(event: StopSignal, listener: () => void): unknown;
  exit(code: number): never;
}

// Deno 2 also defines `process`, so Deno is checked first everywhere.
const deno = (globalThis as { Deno?: typeof Deno }).Deno;
const node = (globalThis as { process?: NodeProcess }).process;

const encoder = new TextEncoder();

/** The arguments after the script name. */
export function commandLineArgs(): string[] {
  if (deno !== undefined) return deno.args;
  return node?.argv.slice(2) ?? [];
}

/** Whether stdout is a terminal, so the demo can redraw in place. */
export function isTerminal(): boolean {
  if (deno !== undefined) return deno.stdout.isTerminal();
  return node?.stdout.isTTY === true;
}

/** The terminal's height in rows, or `undefined` when it is unknown. */
export function terminalRows(): number | undefined {
  if (deno !== undefined) {
    // consoleSize throws when no standard stream is a terminal.
    try {
      return deno.consoleSize().rows;
    } catch {
      return undefined;
    }
  }
  return node?.stdout.rows;
}

/** Whether colors are welcome: `NO_COLOR` is unset. */
export function useColor(): boolean {
  // Deno.noColor reads NO_COLOR without asking for --allow-env.
  if (deno !== undefined) return !deno.noColor;
  return !node?.env.NO_COLOR;
}

/** Writes `text` to stdout as is, with no newline added. */
export function write(text: string): void {
  if (deno === undefined) {
    node?.stdout.write(text);
    return;
  }
  // writeSync may write part of the buffer, so write until all of it is out.
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += deno.stdout.writeSync(bytes.subarray(written));
  }
}

/**
 * Calls `onSignal` on each SIGINT (Ctrl-C) or SIGTERM instead of letting
 * the runtime exit.
 *
 * @returns A function that removes the listeners. Under Deno a signal
 * listener keeps the process alive, so the demo must call it to exit.
 */
export function listenForStopSignals(
  onSignal: (signal: StopSignal) => void,
): () => void {
  // Windows has no SIGTERM: Deno refuses a listener for it there, and
  // Node.js accepts one that never fires.
  const signals: StopSignal[] = deno?.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  const listeners = signals.map((signal) => {
    const listener = (): void => onSignal(signal);
    if (deno !== undefined) deno.addSignalListener(signal, listener);
    else node?.on(signal, listener);
    return { signal, listener };
  });
  return () => {
    for (const { signal, listener } of listeners) {
      if (deno !== undefined) deno.removeSignalListener(signal, listener);
      else node?.off(signal, listener);
    }
  };
}

/** Ends the process at once with `code`. */
export function exit(code: number): never {
  if (deno !== undefined) deno.exit(code);
  if (node !== undefined) node.exit(code);
  throw new Error(`Cannot exit: no Deno or process global, code ${code}`);
}
