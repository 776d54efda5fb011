/**
 * The {@linkcode JobContext} handed to each job. Its signal is made on first
 * use: most jobs never look at it, and an `AbortController` per job would
 * cost more than a no-op job itself.
 * @module
 */

import type { JobContext } from "./work.ts";

/** One job's context; only the pool can abort it. */
export class RunningJobContext implements JobContext {
  readonly workerId: number;
  readonly attempt: number;
  readonly resource: unknown;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #onAbort: ((reason: unknown) => void) | undefined;

  constructor(workerId: number, attempt: number, resource: unknown) {
    this.workerId = workerId;
    this.attempt = attempt;
    this.resource = resource;
  }

  /** Aborts when the pool wants the job to stop early. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /**
   * Aborts the context's signal, now or as soon as the job first reads it.
   * Static, so that the job itself cannot reach it through its context.
   */
  static abort(context: RunningJobContext, reason: unknown): void {
    if (context.#aborted) return;
    context.#aborted = true;
    context.#reason = reason;
    context.#controller?.abort(reason);
    context.#onAbort?.(reason);
  }

  /**
   * Calls `listener` once when `context` aborts, at once if it already has,
   * without making its signal: the thread backend forwards aborts to the
   * job's thread and has no use for a signal on this side. One listener
   * per context; a second call replaces the first.
   */
  static onAbort(
    context: RunningJobContext,
    listener: (reason: unknown) => void,
  ): void {
    if (context.#aborted) listener(context.#reason);
    else context.#onAbort = listener;
  }
}
