/**
 * The code that runs inside each worker thread. It is shipped as the
 * source of one self-contained function, turned into a blob URL, so that no
 * file has to be found next to the package once it is published, bundled
 * or loaded in a browser: the thread only imports the user's module, by its
 * absolute URL.
 *
 * Protocol, main to thread: `init` (the module URL), `run` (a job) and
 * `abort` (a job's signal aborted). Thread to main: `ready` or
 * `init-failed`, `done` or `failed` per job, and `closing` when the job
 * calls `self.close()`. Errors cross as plain records, since not every
 * runtime can clone an `Error`.
 * @module
 */

/** Runs in the thread. Must not refer to anything outside itself. */
function threadMain(): void {
  type Message =
    | { type: "init"; url: string }
    | {
      type: "run";
      id: number;
      job: unknown;
      workerId: number;
      attempt: number;
      transfer: boolean;
    }
    | { type: "abort"; id: number; reason: unknown };
  type Work = (job: unknown, context: unknown) => unknown;

  const scope = globalThis as unknown as {
    postMessage(message: unknown, transfer?: Transferable[]): void;
    addEventListener(
      type: "message",
      listener: (e: MessageEvent) => void,
    ): void;
    close(): void;
  };
  const running = new Map<number, AbortController>();
  let work: Work | undefined;

  const encode = (error: unknown): unknown => {
    if (error instanceof Error) {
      return {
        thrownError: true,
        name: error.name,
        message: error.message,
        stack: error.stack,
      };
    }
    return error;
  };
  const decode = (reason: unknown): unknown => {
    const record = reason as
      | { thrownError?: boolean; name: string; message: string; stack?: string }
      | null;
    if (typeof record !== "object" || record === null || !record.thrownError) {
      return reason;
    }
    const error = record.name === "TimeoutError" || record.name === "AbortError"
      ? new DOMException(record.message, record.name)
      : new Error(record.message);
    if (!(error instanceof DOMException)) error.name = record.name;
    return error;
  };
  const post = (message: Record<string, unknown>): void => {
    try {
      scope.postMessage(message);
    } catch (error) {
      // A result that cannot be cloned fails its job instead.
      scope.postMessage({
        type: "failed",
        id: message.id,
        error: encode(error),
      });
    }
  };

  // A job that closes the thread would leave its caller waiting: say so.
  // (Bun's threads have no close(); they end through process.exit(), which
  // the calling thread sees as a "close" event.)
  if (typeof scope.close === "function") {
    const close = scope.close.bind(scope);
    scope.close = () => {
      scope.postMessage({ type: "closing" });
      close();
    };
  }

  scope.addEventListener("message", async (event: MessageEvent) => {
    const message = event.data as Message;
    if (message.type === "init") {
      try {
        const module = await import(message.url);
        if (typeof module.default !== "function") {
          throw new TypeError(
            `Cannot run jobs: the module ${message.url} has no default export function`,
          );
        }
        work = module.default;
        scope.postMessage({ type: "ready" });
      } catch (error) {
        scope.postMessage({ type: "init-failed", error: encode(error) });
      }
      return;
    }
    if (message.type === "abort") {
      running.get(message.id)?.abort(decode(message.reason));
      return;
    }
    const controller = new AbortController();
    running.set(message.id, controller);
    try {
      const value = await (work as Work)(message.job, {
        signal: controller.signal,
        workerId: message.workerId,
        attempt: message.attempt,
        resource: undefined,
      });
      post({ type: "done", id: message.id, value });
    } catch (error) {
      post({ type: "failed", id: message.id, error: encode(error) });
    } finally {
      running.delete(message.id);
    }
  });
}

let hostUrl: string | undefined;

/**
 * The URL worker threads start from: a blob holding `threadMain`. Made
 * once per process and kept, since threads may start at any time.
 */
export function threadHostUrl(): string {
  hostUrl ??= URL.createObjectURL(
    new Blob([`(${threadMain.toString()})();`], {
      type: "text/javascript",
    }),
  );
  return hostUrl;
}
