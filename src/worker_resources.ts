/**
 * Per-worker resources: `setup` runs when a worker starts and its value
 * reaches every job that worker runs; `teardown` runs once when the worker
 * leaves, whatever the reason. Neither may hang the pool's accounting: a
 * failing teardown is reported, and the pool waits for every teardown
 * before it closes.
 * @module
 */

import { isPromiseLike } from "./promise_like.ts";

/** The user's setup and teardown, as the pool calls them. */
export interface ResourceHooks<R> {
  readonly setup: ((workerId: number) => R | PromiseLike<R>) | undefined;
  readonly teardown:
    | ((resource: R, workerId: number) => void | PromiseLike<void>)
    | undefined;
}

/** Runs setups and teardowns, and counts the teardowns still running. */
export class WorkerResources<R> {
  #hooks: ResourceHooks<R>;
  #onTeardownError: (error: unknown, workerId: number) => void;
  #onSettled: () => void;
  #pending = 0;

  /**
   * @param onTeardownError Called when a teardown throws or rejects.
   * @param onSettled Called after each teardown settles.
   */
  constructor(
    hooks: ResourceHooks<R>,
    onTeardownError: (error: unknown, workerId: number) => void,
    onSettled: () => void,
  ) {
    this.#hooks = hooks;
    this.#onTeardownError = onTeardownError;
    this.#onSettled = onSettled;
  }

  /** Whether workers need a setup before they take jobs. */
  get hasSetup(): boolean {
    return this.#hooks.setup !== undefined;
  }

  /** Teardowns started and not settled yet. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Sets a worker up. `ready` or `failed` is called once, synchronously
   * when the setup is synchronous.
   */
  setUp(
    workerId: number,
    ready: (resource: R) => void,
    failed: (error: unknown) => void,
  ): void {
    let result: R | PromiseLike<R>;
    try {
      result = (this.#hooks.setup as (workerId: number) => R | PromiseLike<R>)(
        workerId,
      );
      if (!isPromiseLike(result)) {
        ready(result);
        return;
      }
    } catch (error) {
      failed(error);
      return;
    }
    Promise.resolve(result).then(ready, failed);
  }

  /** Tears a worker's resource down, once; never throws. */
  tearDown(resource: R, workerId: number): void {
    const teardown = this.#hooks.teardown;
    if (teardown === undefined) return;
    this.#pending++;
    const settle = (): void => {
      this.#pending--;
      this.#onSettled();
    };
    const fail = (error: unknown): void => {
      this.#onTeardownError(error, workerId);
      settle();
    };
    let result: void | PromiseLike<void>;
    try {
      result = teardown(resource, workerId);
    } catch (error) {
      fail(error);
      return;
    }
    if (isPromiseLike(result)) Promise.resolve(result).then(settle, fail);
    else settle();
  }
}
