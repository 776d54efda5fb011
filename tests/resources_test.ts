import assert from "node:assert/strict";
import fc from "fast-check";
import { autoScale, type JobContext, type WorkerErrorEvent } from "../mod.ts";
import { test } from "./_harness.ts";
import {
  collect,
  deferred,
  gatedWork,
  range,
  seedFromEnv,
  settle,
  sleep,
  waitFor,
} from "./_helpers.ts";

interface Connection {
  readonly workerId: number;
  closed: boolean;
}

test("setup gives each job its worker's resource", async () => {
  const pool = autoScale(
    (n: number, { resource, workerId }: JobContext<Connection>) => {
      assert.equal(resource.workerId, workerId);
      return n;
    },
    {
      maxWorkers: 3,
      setup: (workerId): Connection => ({ workerId, closed: false }),
    },
  );
  await collect(ReadableStream.from(range(20)).pipeThrough(pool));
  await pool.closed;
});

test("the resource's type comes from setup when setup's parameter is annotated", async () => {
  // No resource type is written here: that this file type-checks is the
  // test, since an unknown `context.resource` has no `workerId`.
  const pool = autoScale(
    (_job: number, context) => context.resource.workerId,
    {
      maxWorkers: 1,
      setup: (workerId: number) => ({ workerId, closed: false }),
      teardown: (connection) => {
        connection.closed = true;
      },
    },
  );
  const ids: number[] = await collect(
    ReadableStream.from([1, 2]).pipeThrough(pool),
  );
  await pool.closed;
  assert.deepEqual(ids, [1, 1]);
});

test("setup may be async, and its worker takes no job before it resolves", async () => {
  const ready = deferred<string>();
  const seen: string[] = [];
  const pool = autoScale((n: number, { resource }: JobContext<string>) => {
    seen.push(resource);
    return n;
  }, { minWorkers: 1, maxWorkers: 1, setup: () => ready.promise });
  const output = collect(ReadableStream.from([1, 2]).pipeThrough(pool));
  await sleep(10);
  assert.deepEqual(seen, []);
  assert.equal(pool.stats().starting, 1);
  ready.resolve("db");
  assert.deepEqual(await output, [1, 2]);
  assert.deepEqual(seen, ["db", "db"]);
  await pool.closed;
});

test("setup of a starting worker counts as capacity: no extra workers start", async () => {
  const ready = deferred<void>();
  const pool = autoScale((n: number) => n, {
    minWorkers: 0,
    maxWorkers: 8,
    highWaterMark: 2,
    setup: () => ready.promise,
  });
  const output = collect(ReadableStream.from([1, 2]).pipeThrough(pool));
  await waitFor(() => pool.stats().accepted === 2, () => pool.stats());
  await sleep(5);
  assert.equal(pool.stats().starting, 2);
  assert.equal(pool.stats().workers, 2, "one worker per runnable job");
  ready.resolve();
  await output;
  await pool.closed;
});

test("teardown runs once for every worker, when it retires and at shutdown", async () => {
  const tornDown: number[] = [];
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, {
    minWorkers: 1,
    maxWorkers: 3,
    idleTimeout: 5,
    setup: (workerId) => workerId,
    teardown: (resource, workerId) => {
      assert.equal(resource, workerId);
      tornDown.push(workerId);
    },
  });
  const reader = pool.readable.getReader();
  const writer = pool.writable.getWriter();
  for (const n of range(3)) writer.write(n);
  await waitFor(() => gate.running.size === 3, () => pool.stats());
  gate.releaseAll();
  for (let i = 0; i < 3; i++) await reader.read();
  await waitFor(() => tornDown.length === 2, () => pool.stats());
  await writer.close();
  await pool.closed;
  assert.equal(tornDown.length, 3);
  assert.equal(new Set(tornDown).size, 3);
});

test("the pool closes only after every teardown has settled", async () => {
  const released = deferred<void>();
  let closedEarly = false;
  const pool = autoScale((n: number) => n, {
    minWorkers: 2,
    teardown: () => released.promise,
  });
  let releasedYet = false;
  pool.closed.then(() => closedEarly = !releasedYet);
  // Not awaited: closing the input resolves only once the pool has ended.
  const closing = pool.writable.close();
  await sleep(10);
  releasedYet = true;
  released.resolve();
  await pool.closed;
  await closing;
  assert.equal(closedEarly, false);
});

test("a failing setup fails the pool with a clear error that keeps the cause", async () => {
  const cause = new Error("connection refused");
  const pool = autoScale((n: number) => n, {
    minWorkers: 0,
    setup: () => Promise.reject(cause),
  });
  const result = await settle(ReadableStream.from([1, 2]).pipeThrough(pool));
  await pool.closed;
  assert.ok(result.error instanceof Error);
  assert.match((result.error as Error).message, /^Cannot start worker 1: /);
  assert.equal((result.error as Error).cause, cause);
  assert.equal(pool.stats().workers, 0);
  const { completed, failed, accepted } = pool.stats();
  assert.equal(completed + failed + pool.unfinished().length, accepted);
});

test("a failing teardown is reported as an error event and does not hang shutdown", async () => {
  const failure = new Error("already closed");
  const pool = autoScale((n: number) => n, {
    minWorkers: 2,
    setup: (workerId) => workerId,
    teardown: (workerId) => {
      if (workerId === 1) throw failure;
      return Promise.reject(failure);
    },
  });
  const errors: WorkerErrorEvent[] = [];
  pool.addEventListener("error", (event) => errors.push(event));
  await collect(ReadableStream.from([1]).pipeThrough(pool));
  await pool.closed;
  assert.equal(errors.length, 2);
  assert.ok(errors.every((e) => e.error === failure));
  assert.deepEqual(errors.map((e) => e.workerId).sort(), [1, 2]);
  assert.equal(pool.stats().teardownFailures, 2);
});

test("a worker given up at its timeout is torn down and replaced", async () => {
  const tornDown: number[] = [];
  const stuck = deferred<void>();
  const pool = autoScale(async (n: number, { attempt }) => {
    if (n === 0 && attempt === 1) await stuck.promise;
    return n;
  }, {
    maxWorkers: 1,
    timeout: 20,
    retry: { attempts: 2, delay: 0 },
    setup: (workerId) => workerId,
    teardown: (_, workerId) => {
      tornDown.push(workerId);
    },
  });
  assert.deepEqual(
    await collect(ReadableStream.from([0, 1]).pipeThrough(pool)),
    [1, 0],
  );
  await pool.closed;
  assert.equal(tornDown[0], 1, "the given-up worker went first");
  assert.equal(tornDown.length, 2);
  stuck.resolve();
});

test("setup and teardown pair up exactly, per worker, under any ending", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 30 }),
      fc.record({
        minWorkers: fc.integer({ min: 0, max: 3 }),
        maxWorkers: fc.integer({ min: 3, max: 6 }),
        idleTimeout: fc.constantFrom(0, 2, 20),
        asyncSetup: fc.boolean(),
      }),
      fc.oneof(
        fc.constant({ kind: "none" as const }),
        fc.record({
          kind: fc.constant("abort" as const),
          ms: fc.integer({ min: 0, max: 6 }),
        }),
        fc.record({
          kind: fc.constant("fail" as const),
          at: fc.nat(),
        }),
      ),
      async (delays, options, ending) => {
        const setUp = new Map<number, number>();
        const tornDown = new Map<number, number>();
        const controller = new AbortController();
        const failAt = ending.kind === "fail"
          ? ending.at % (delays.length + 1)
          : -1;
        const pool = autoScale(
          async (i: number, { signal, resource, workerId }) => {
            assert.equal(resource, workerId);
            if (i === failAt) throw new Error("fail");
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, delays[i]);
              signal.addEventListener("abort", () => {
                clearTimeout(timer);
                resolve();
              }, { once: true });
            });
            return i;
          },
          {
            ...options,
            signal: controller.signal,
            setup: (workerId) => {
              setUp.set(workerId, (setUp.get(workerId) ?? 0) + 1);
              return options.asyncSetup
                ? sleep(1).then(() => workerId)
                : workerId;
            },
            teardown: (resource, workerId) => {
              assert.equal(resource, workerId);
              tornDown.set(workerId, (tornDown.get(workerId) ?? 0) + 1);
            },
          },
        );
        let timer: ReturnType<typeof setTimeout> | undefined;
        if (ending.kind === "abort") {
          timer = setTimeout(() => controller.abort(), ending.ms);
        }
        await settle(
          ReadableStream.from(delays.map((_, i) => i)).pipeThrough(pool),
        );
        await pool.closed;
        clearTimeout(timer);
        assert.deepEqual(
          [...tornDown].sort(),
          [...setUp].sort(),
          "every worker set up is torn down once",
        );
        assert.ok([...setUp.values()].every((count) => count === 1));
      },
    ),
    { numRuns: 40, seed: seedFromEnv() },
  );
});
