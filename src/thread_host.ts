/**
 * The code that runs inside each worker thread. It is shipped as the
 * source of one self-contained function, turned into a blob URL, so that no
 * file has to be found next to the package once it is published, bundled
 * or loaded in a browser: the thread only imports the user's module, by its
 * absolute URL. Where a Content-Security-Policy forbids blob workers, the
 * package's `thread-host` module runs the same function from a file the
 * page serves (the `threadHost` option).
 *
 * Protocol, main to thread: `init` (the module URL), a job (its id, the
 * id of the pool's worker that runs it, since workers may share a thread,
 * and its attempt unless it is the first) and `abort` (a job's signal
 * aborted). Thread to main: `ready` or `init-failed`, a job's value or
 * error by its id, and `closing` when the job calls `self.close()`. Errors
 * cross as plain records, since not every runtime can clone an `Error`.
 * @module
 */

/**
 * A message from the calling thread to the host. A job's message carries
 * as few fields as it can, since each one costs time to clone, and for a
 * tiny job under Bun that is a fair share of the round trip: `attempt` is
 * left out when it is 1.
 */
export type HostMessage =
  | { init: string }
  | { id: number; job: unknown; workerId: number; attempt?: number }
  | { abort: number; reason: unknown };

/**
 * A message from the host to the calling thread: a job's value or error,
 * by the job's id, or news of the thread.
 */
export type ThreadMessage =
  | { id: number; value: unknown }
  | { id: number; error: unknown }
  | { type: "ready" }
  | { type: "init-failed"; error: unknown }
  | { type: "closing" };

/**
 * An error as it crosses between threads, since not every runtime can
 * clone an `Error`, and none keeps its own properties, such as `code`.
 */
export interface ErrorRecord {
  thrownError: true;
  name: string;
  message: string;
  stack?: string;
  /** The error's own enumerable properties but these, such as `code`. */
  properties?: Record<string, unknown>;
  /** The error's `cause`, if it has one, encoded the same way. */
  cause?: unknown;
}

/**
 * Runs in the thread. Must not refer to any value outside itself; types
 * are erased from its source, so it may use those.
 */
function threadMain(): void {
  interface JobContext {
    readonly workerId: number;
    readonly attempt: number;
    readonly resource: undefined;
    readonly signal: AbortSignal;
  }
  type Work = (job: unknown, context: JobContext) => unknown;

  const scope = globalThis as unknown as {
    postMessage(message: ThreadMessage, transfer?: Transferable[]): void;
    addEventListener(
      type: "message",
      listener: (e: MessageEvent) => void,
    ): void;
    close(): void;
  };

  let work: Work | undefined;

  /** What the thread knows of a running job, for its abort. */
  interface JobState {
    controller: AbortController | undefined;
    aborted: boolean;
    reason: unknown;
  }
  // Plain objects and closures, not a class with private fields: a bundler
  // that lowers those would reach for helpers outside this function.
  const running = new Map<number, JobState>();
  /**
   * A job's context in the thread. Its signal is made on first use, as on
   * the calling side: most jobs never read it, and an `AbortController`
   * per job would cost more than a tiny job.
   */
  const contextFor = (
    state: JobState,
    attempt: number,
    workerId: number,
  ): JobContext => ({
    workerId,
    attempt,
    resource: undefined,
    get signal(): AbortSignal {
      if (state.controller === undefined) {
        state.controller = new AbortController();
        if (state.aborted) state.controller.abort(state.reason);
      }
      return state.controller.signal;
    },
  });
  const abort = (state: JobState, reason: unknown): void => {
    if (state.aborted) return;
    state.aborted = true;
    state.reason = reason;
    state.controller?.abort(reason);
  };

  /** An error's name, message and stack, which always clone. */
  const bare = (error: Error): ErrorRecord => ({
    thrownError: true,
    name: String(error.name),
    message: String(error.message),
    stack: typeof error.stack === "string" ? error.stack : undefined,
  });
  // Deep enough for any real chain; a cause chain may loop on itself.
  const maxCauses = 16;
  const encode = (error: unknown, depth = 0): unknown => {
    if (!(error instanceof Error)) return error;
    const record = bare(error);
    const own = error as unknown as Record<string, unknown>;
    for (const key of Object.keys(error)) {
      if (key === "cause" || key in record) continue;
      record.properties ??= {};
      record.properties[key] = own[key];
    }
    if ("cause" in error && depth < maxCauses) {
      record.cause = encode(error.cause, depth + 1);
    }
    return record;
  };
  const decode = (reason: unknown): unknown => {
    const record = reason as ErrorRecord | null;
    if (typeof record !== "object" || record === null || !record.thrownError) {
      return reason;
    }
    const isDomException = record.name === "AbortError" ||
      record.name === "DataCloneError" || record.name === "TimeoutError";
    const error = isDomException
      ? new DOMException(record.message, record.name)
      : new Error(record.message);
    if (!(error instanceof DOMException)) error.name = record.name;
    return error;
  };
  const cannotSend = (
    id: number,
    what: string,
    error: unknown,
  ): ThreadMessage => ({
    id,
    error: {
      thrownError: true,
      name: "DataCloneError",
      message: `Cannot send the ${what} from its worker thread: ${
        error instanceof Error ? error.message : String(error)
      }`,
    } satisfies ErrorRecord,
  });
  const succeed = (id: number, value: unknown): void => {
    running.delete(id);
    try {
      scope.postMessage({ id, value });
    } catch (error) {
      // A result that cannot be cloned fails its job instead.
      scope.postMessage(cannotSend(id, "job's result", error));
    }
  };
  const fail = (id: number, error: unknown): void => {
    running.delete(id);
    try {
      scope.postMessage({ id, error: encode(error) });
      return;
    } catch (cloneError) {
      if (!(error instanceof Error)) {
        scope.postMessage(cannotSend(id, "job's error", cloneError));
        return;
      }
    }
    // Its own properties or its cause cannot be cloned; the rest can.
    scope.postMessage({ id, error: bare(error) });
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

  const init = async (url: string): Promise<void> => {
    try {
      const module = await import(url);
      if (typeof module.default !== "function") {
        throw new TypeError(
          `Cannot run jobs: the module ${url} has no default export function`,
        );
      }
      work = module.default;
      scope.postMessage({ type: "ready" });
    } catch (error) {
      scope.postMessage({ type: "init-failed", error: encode(error) });
    }
  };

  scope.addEventListener("message", (event: MessageEvent) => {
    const message = event.data as HostMessage;
    if ("job" in message) {
      const { id } = message;
      const state: JobState = {
        controller: undefined,
        aborted: false,
        reason: undefined,
      };
      running.set(id, state);
      let result: unknown;
      let isThenable: boolean;
      try {
        result = (work as Work)(
          message.job,
          contextFor(state, message.attempt ?? 1, message.workerId),
        );
        // Reading `then` may throw too: that fails the job like a throw.
        isThenable =
          (typeof result === "object" || typeof result === "function") &&
          result !== null &&
          typeof (result as { then?: unknown }).then === "function";
      } catch (error) {
        fail(id, error);
        return;
      }
      // A plain value is sent at once: no promise, no extra turn of the
      // event loop, which is much of the cost of a tiny job.
      if (!isThenable) succeed(id, result);
      else {
        Promise.resolve(result).then(
          (value) => succeed(id, value),
          (error) => fail(id, error),
        );
      }
      return;
    }
    if ("abort" in message) {
      const state = running.get(message.abort);
      if (state !== undefined) abort(state, decode(message.reason));
      return;
    }
    init(message.init);
  });
}

/**
 * Runs the thread host in the current thread: what a host module served
 * from the page's own origin does, in place of the blob.
 */
export function runThreadHost(): void {
  threadMain();
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
