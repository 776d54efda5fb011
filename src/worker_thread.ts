/**
 * One worker thread running the user's module, and the calling side of the
 * protocol that `thread_host.ts` speaks inside it.
 * @module
 */

import { RunningJobContext } from "./job_context.ts";
import {
  type ErrorRecord,
  type HostMessage,
  threadHostUrl,
  type ThreadMessage,
} from "./thread_host.ts";

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Whose job it is, so that a job given up can be found. */
  context: RunningJobContext;
}

type Outgoing = [message: HostMessage, transfer: Transferable[] | undefined];

/**
 * One worker thread running the user's module. It may hold several jobs at
 * once. If it dies (an uncaught error, `self.close()`), the jobs it held
 * fail with an error that says so, and the next job starts a fresh thread.
 */
export class WorkerThread {
  #moduleUrl: string;
  #hostUrl: string | undefined;
  #onIdle: (thread: WorkerThread) => void;
  #worker: Worker | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Set while the thread loads the module. */
  #starting: Promise<void> | undefined;
  #ready: { resolve(): void; reject(error: unknown): void } | undefined;
  /** Messages that wait for the module to load. */
  #outbox: Outgoing[] = [];

  /**
   * Starts a thread and loads the module at `moduleUrl` in it.
   *
   * @param hostUrl The thread host module to start from; the built-in
   * blob if undefined.
   * @param onIdle Called each time the last job the thread held settles.
   */
  constructor(
    moduleUrl: string,
    hostUrl: string | undefined,
    onIdle: (thread: WorkerThread) => void,
  ) {
    this.#moduleUrl = moduleUrl;
    this.#hostUrl = hostUrl;
    this.#onIdle = onIdle;
    this.#spawn();
  }

  /**
   * Settles once the module has loaded, or rejects if it could not. Jobs
   * may be given before then: they wait.
   */
  get started(): Promise<void> {
    return this.#starting ?? Promise.resolve();
  }

  /** Jobs given and not settled, including the ones that wait for a start. */
  get load(): number {
    return this.#pending.size;
  }

  /** Whether the thread is loading the module. */
  get starting(): boolean {
    return this.#starting !== undefined;
  }

  /** Whether the thread died or was terminated and has not restarted. */
  get dead(): boolean {
    return this.#worker === undefined;
  }

  /** Whether the job whose context this is still runs here. */
  holds(context: RunningJobContext): boolean {
    for (const pending of this.#pending.values()) {
      if (pending.context === context) return true;
    }
    return false;
  }

  /**
   * Runs one job in the thread, restarting the thread first if it died;
   * an abort of its context reaches the job there.
   *
   * Kept lean on purpose: for tiny jobs this is most of what the pool adds
   * to the message round trip, so it makes no promise of its own beyond
   * the one it returns, no signal, and no message but the job.
   */
  run(
    job: unknown,
    context: RunningJobContext,
    workerId: number,
    transfer: Transferable[] | undefined,
  ): Promise<unknown> {
    if (this.#worker === undefined) this.#spawn();
    const id = this.#nextId++;
    const promise = new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, context });
    });
    const { attempt } = context;
    this.#send(
      attempt === 1 ? { id, job, workerId } : { id, job, workerId, attempt },
      transfer === undefined || transfer.length === 0 ? undefined : transfer,
    );
    // A job that could not be cloned has failed already.
    if (!this.#pending.has(id)) return promise;
    RunningJobContext.onAbort(context, (reason) => {
      // The job may have settled already; the thread ignores stale ids.
      if (this.#worker !== undefined) {
        this.#send({ abort: id, reason: encode(reason) }, undefined);
      }
    });
    return promise;
  }

  /**
   * Ends the thread at once, whatever it is doing; the jobs it held fail
   * with `reason`. A later job starts a fresh one.
   */
  terminate(reason = "The worker thread was terminated"): void {
    this.#die(new Error(reason));
  }

  /** Posts now, or once the module has loaded: a job must not beat it. */
  #send(message: HostMessage, transfer: Transferable[] | undefined): void {
    if (this.#starting !== undefined) this.#outbox.push([message, transfer]);
    else this.#post(message, transfer);
  }

  #post(message: HostMessage, transfer: Transferable[] | undefined): void {
    const worker = this.#worker;
    // Ended while the message waited: the jobs it held have failed.
    if (worker === undefined) return;
    try {
      if (transfer === undefined) worker.postMessage(message);
      else worker.postMessage(message, transfer);
    } catch (error) {
      this.#onUnsendable(message, error);
    }
  }

  /**
   * A message that cannot be cloned (a function or a symbol in it, say) or
   * whose transfer list is wrong. Its job fails, like one that throws; an
   * abort still reaches the thread, with a reason it can read.
   */
  #onUnsendable(message: HostMessage, error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error);
    if ("job" in message) {
      this.#settle(
        message.id,
        false,
        new DOMException(
          `Cannot send the job to its worker thread: ${detail}`,
          "DataCloneError",
        ),
      );
    } else if ("abort" in message) {
      this.#post({
        abort: message.abort,
        reason: encode(
          new DOMException(
            `The job was aborted; its abort reason cannot be sent to a worker thread: ${detail}`,
            "AbortError",
          ),
        ),
      }, undefined);
    } else {
      // An init message holds only a URL string: this is a runtime fault.
      this.#die(new Error("Cannot start the worker thread", { cause: error }));
    }
  }

  #spawn(): void {
    const worker = new Worker(this.#hostUrl ?? threadHostUrl(), {
      type: "module",
    });
    this.#worker = worker;
    worker.addEventListener("message", (event: MessageEvent) => {
      this.#onMessage(event.data as ThreadMessage);
    });
    worker.addEventListener("error", (event: ErrorEvent) => {
      // Handled here: unhandled, it would end the whole process.
      event.preventDefault();
      // A browser that refuses to start the thread says nothing more; the
      // usual cause is a Content-Security-Policy without blob: workers.
      const detail = event.message ||
        (this.#hostUrl === undefined
          ? "no details (a Content-Security-Policy must allow blob: in worker-src, or the threadHost option name a host module it allows)"
          : `no details (is ${this.#hostUrl} served, and allowed by the Content-Security-Policy?)`);
      this.#die(new Error(`The worker thread died: ${detail}`));
    });
    // Bun fires this when a thread ends; one that ends unasked died.
    worker.addEventListener("close", () => {
      if (this.#worker === worker) {
        this.#die(new Error("The worker thread exited"));
      }
    });
    worker.addEventListener("messageerror", () => {
      this.#die(
        new Error("The worker thread sent a message that could not be read"),
      );
    });
    this.#starting = new Promise((resolve, reject) => {
      this.#ready = { resolve, reject };
    });
    // Whoever waits for the start sees a failure; nobody need.
    this.#starting.catch(() => {});
    this.#post({ init: this.#moduleUrl }, undefined);
  }

  #onMessage(message: ThreadMessage): void {
    if ("id" in message) {
      if ("value" in message) this.#settle(message.id, true, message.value);
      else this.#settle(message.id, false, decode(message.error));
      return;
    }
    switch (message.type) {
      case "ready":
        this.#started();
        return;
      case "init-failed":
        this.#die(
          new Error(`Cannot load the module ${this.#moduleUrl} in a worker`, {
            cause: decode(message.error),
          }),
        );
        return;
      case "closing":
        this.#die(new Error("The worker thread closed itself"));
        return;
    }
  }

  #started(): void {
    this.#ready?.resolve();
    this.#ready = undefined;
    this.#starting = undefined;
    const outbox = this.#outbox;
    this.#outbox = [];
    for (const [message, transfer] of outbox) this.#post(message, transfer);
  }

  /**
   * Settles the job `id`, if it is still pending (a job given up may
   * report late), and tells the group when the thread has none left.
   */
  #settle(id: number, fulfilled: boolean, outcome: unknown): void {
    const pending = this.#pending.get(id);
    if (pending !== undefined) {
      this.#pending.delete(id);
      if (fulfilled) pending.resolve(outcome);
      else pending.reject(outcome);
    }
    if (this.#pending.size === 0) this.#onIdle(this);
  }

  /** Terminates the thread and fails whatever waited on it. */
  #die(error: Error): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#ready?.reject(error);
    this.#ready = undefined;
    this.#starting = undefined;
    this.#outbox = [];
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of pending) reject(error);
  }
}

// Errors cross threads as records (`ErrorRecord`). The thread's side of
// this lives in `thread_host.ts`, which must be self-contained.
const DOM_EXCEPTION_NAMES = ["AbortError", "DataCloneError", "TimeoutError"];
/** The built-in error classes, so that `instanceof` holds across. */
const ERROR_TYPES = new Map<string, new (message: string) => Error>(
  [EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError]
    .map((type) => [type.name, type]),
);

/** An abort reason as it crosses: the thread needs no more of it. */
function encode(reason: unknown): unknown {
  if (!(reason instanceof Error)) return reason;
  const record: ErrorRecord = {
    thrownError: true,
    name: reason.name,
    message: reason.message,
    stack: reason.stack,
  };
  return record;
}

function decode(error: unknown): unknown {
  const record = error as ErrorRecord | null;
  if (typeof record !== "object" || record === null || !record.thrownError) {
    return error;
  }
  const decoded = DOM_EXCEPTION_NAMES.includes(record.name)
    ? new DOMException(record.message, record.name)
    : new (ERROR_TYPES.get(record.name) ?? Error)(record.message);
  if (decoded.name !== record.name) {
    // Not enumerable, as on the error's own class.
    Object.defineProperty(decoded, "name", {
      value: record.name,
      writable: true,
      configurable: true,
    });
  }
  if (record.stack !== undefined) {
    Object.defineProperty(decoded, "stack", {
      value: record.stack,
      writable: true,
      configurable: true,
    });
  }
  // Defined, not assigned: a prototype may have a getter by that name.
  for (const [key, value] of Object.entries(record.properties ?? {})) {
    Object.defineProperty(decoded, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
  if ("cause" in record) {
    Object.defineProperty(decoded, "cause", {
      value: decode(record.cause),
      writable: true,
      configurable: true,
    });
  }
  return decoded;
}
