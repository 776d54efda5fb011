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
  }
}
