/**
 * The pool as a pipe stage. Towards pipes, `autoScale()` over an identity
 * job must be indistinguishable from an identity `TransformStream`: the
 * same chunks come out, the same ending reaches the readable side, the same
 * reason reaches the source, every pipe settles the same way, and the same
 * streams are locked. Each test runs one scenario against both and compares
 * what an observer saw. Reasons are sentinels, named by identity, so a
 * wrapped or copied reason shows up as a difference.
 *
 * A scenario ends only once the consumer holds every chunk the input handed
 * over and the input waits for more. Before that moment, how many chunks a
 * pair holds is its own business (the pool takes up to `highWaterMark`
 * jobs and `maxWorkers` results, a default `TransformStream` about one
 * chunk), and an ending would drop a different number of them.
 *
 * The pool's own `signal` is the one deliberate difference: it closes the
 * readable side instead of erroring it. Its tests state the expected
 * outcome directly.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { autoScale } from "../mod.ts";
import { test } from "./_harness.ts";
import {
  assertLikeTransformStream,
  assertPoolSignalOutcome,
  PIPE,
  pipeTwice,
  POOL_ABORT,
  poolArbitrary,
  POOLS,
  type Scenario,
  scenario,
  scenarioArbitrary,
  seedParameter,
  TRANSFORM_STREAM,
  tryLockedPipes,
} from "./_pipe_scenarios.ts";
import { countingSource, deferred, range, settle, turns } from "./_helpers.ts";

test("autoScale() closes its readable after the last result when the source closes, as a TransformStream does", async () => {
  await assertLikeTransformStream(scenario({ ending: "close" }));
  await assertLikeTransformStream(scenario({ items: 0, ending: "close" }));
});

test("autoScale() piped to a destination closes it after the last result, as a TransformStream does", async () => {
  await assertLikeTransformStream(
    scenario({ input: "pipeTo", output: "pipeTo", ending: "close" }),
  );
});

test("autoScale() stays open and unlocked after a pipe with preventClose ends, and closing it by hand closes the readable", async () => {
  await assertLikeTransformStream(
    scenario({
      input: "pipeTo",
      inputOptions: { ...PIPE, preventClose: true },
      ending: "close",
    }),
  );
});

test("autoScale() errors its readable with the source's own error object, as a TransformStream does", async () => {
  await assertLikeTransformStream(scenario({ ending: "error" }));
  await assertLikeTransformStream(
    scenario({ input: "pipeTo", output: "pipeTo", ending: "error" }),
  );
});

test("autoScale() stays open when the source errors through a pipe with preventAbort", async () => {
  await assertLikeTransformStream(
    scenario({
      input: "pipeTo",
      inputOptions: { ...PIPE, preventAbort: true },
      ending: "error",
    }),
  );
});

test("autoScale() cancels the source with the reader's own cancel reason, as a TransformStream does", async () => {
  await assertLikeTransformStream(scenario({ ending: "cancel" }));
  await assertLikeTransformStream(
    scenario({ input: "pipeTo", output: "pipeTo", ending: "cancel" }),
  );
});

test("autoScale() leaves the source alone when the reader cancels through a pipe with preventCancel", async () => {
  await assertLikeTransformStream(
    scenario({
      input: "pipeTo",
      inputOptions: { ...PIPE, preventCancel: true },
      ending: "cancel",
    }),
  );
});

test("autoScale() passes a downstream destination's error back to the original source", async () => {
  await assertLikeTransformStream(
    scenario({ input: "pipeTo", output: "pipeTo", ending: "dest-error" }),
  );
  await assertLikeTransformStream(
    scenario({ items: 0, output: "pipeTo", ending: "dest-error" }),
  );
});

test("autoScale() keeps running when a downstream destination errors through a pipe with preventCancel", async () => {
  await assertLikeTransformStream(
    scenario({
      input: "pipeTo",
      output: "pipeTo",
      outputOptions: { ...PIPE, preventCancel: true },
      ending: "dest-error",
    }),
  );
});

test("autoScale() errors its readable with the reason of an aborted pipe signal, which also cancels the source", async () => {
  await assertLikeTransformStream(scenario({ ending: "abort" }));
  await assertLikeTransformStream(
    scenario({ input: "pipeTo", output: "pipeTo", ending: "abort" }),
  );
});

test("autoScale() honours preventAbort and preventCancel when a pipe signal aborts", async () => {
  for (
    const inputOptions of [
      { ...PIPE, preventAbort: true },
      { ...PIPE, preventCancel: true },
      { ...PIPE, preventAbort: true, preventCancel: true },
    ]
  ) {
    await assertLikeTransformStream(
      scenario({ input: "pipeTo", inputOptions, ending: "abort" }),
    );
  }
});

test("autoScale() behaves like a TransformStream under a pipe whose signal was aborted before it started", async () => {
  await assertLikeTransformStream(
    scenario({ input: "pipeTo", ending: "abort-early" }),
  );
  await assertLikeTransformStream(
    scenario({
      input: "pipeTo",
      inputOptions: { ...PIPE, preventAbort: true, preventCancel: true },
      ending: "abort-early",
    }),
  );
});

test("autoScale() errors its readable with the reason given to writer.abort()", async () => {
  await assertLikeTransformStream(
    scenario({ input: "writer", ending: "abort" }),
  );
  await assertLikeTransformStream(
    scenario({ input: "writer", ending: "abort-early" }),
  );
});

test("autoScale() rejects its writer's closed promise with the reader's cancel reason", async () => {
  await assertLikeTransformStream(
    scenario({ input: "writer", ending: "cancel" }),
  );
});

test("pipeThrough() refuses a locked source or a locked writable with the same error for autoScale() as for a TransformStream", async () => {
  const expected = await tryLockedPipes(TRANSFORM_STREAM);
  assert.deepEqual(expected.lockedSource, "TypeError");
  for (const subject of POOLS) {
    assert.deepEqual(await tryLockedPipes(subject), expected, subject.name);
  }
});

test("autoScale() takes a second pipe after a first one with preventClose, as a TransformStream does", async () => {
  const expected = await pipeTwice(TRANSFORM_STREAM);
  assert.deepEqual(expected.chunks, [0, 1, 2, 10, 11]);
  for (const subject of POOLS) {
    const actual = await pipeTwice(subject);
    if (!subject.ordered) actual.chunks.sort((a, b) => a - b);
    assert.deepEqual(actual, expected, subject.name);
  }
});

test("autoScale() over an identity job behaves like a TransformStream in any pipe scenario", async () => {
  await fc.assert(
    fc.asyncProperty(
      scenarioArbitrary(),
      poolArbitrary(),
      (s, subject) => assertLikeTransformStream(s, [subject]),
    ),
    { numRuns: 80, ...seedParameter() },
  );
});

test("autoScale() closes its readable, cancels the source with the reason and resolves closed when its own signal aborts", async () => {
  for (const subject of POOLS) {
    await assertPoolSignalOutcome(scenario({ ending: "pool-signal" }), subject);
    await assertPoolSignalOutcome(
      scenario({ input: "pipeTo", output: "pipeTo", ending: "pool-signal" }),
      subject,
    );
    await assertPoolSignalOutcome(
      scenario({ items: 0, input: "writer", ending: "pool-signal" }),
      subject,
    );
  }
});

test("autoScale() with an already-aborted signal runs no job and closes its readable at once", async () => {
  let jobs = 0;
  let cancelReason: unknown;
  const source = new ReadableStream<number>({
    pull: (controller) => controller.enqueue(1),
    cancel: (reason) => {
      cancelReason = reason;
    },
  });
  const pool = autoScale((job: number) => {
    jobs++;
    return job;
  }, { signal: AbortSignal.abort(POOL_ABORT) });

  const reader = source.pipeThrough(pool).getReader();
  assert.deepEqual(await reader.read(), { done: true, value: undefined });

  await pool.closed;
  assert.equal(jobs, 0);
  assert.equal(cancelReason, POOL_ABORT);
  assert.equal(pool.stats().workers, 0);
});

test("autoScale() closes its readable once a running job settles when its signal aborts mid-job", async () => {
  const poolAbort = new AbortController();
  const started = deferred();
  const release = deferred<number>();
  let jobAbortReason: unknown;
  const pool = autoScale((_job: number, { signal }) => {
    signal.addEventListener("abort", () => {
      jobAbortReason = signal.reason;
    }, { once: true });
    started.resolve();
    return release.promise;
  }, { signal: poolAbort.signal });
  const source = countingSource(range(3), { close: false });
  const output = settle(source.stream.pipeThrough(pool));

  await started.promise;
  poolAbort.abort(POOL_ABORT);
  await turns();
  assert.equal(source.cancelReason, POOL_ABORT);
  assert.equal(jobAbortReason, POOL_ABORT);

  release.resolve(0);
  assert.deepEqual(await output, { items: [], errored: false });
  await pool.closed;
});

test("aborting autoScale()'s own signal at any moment closes the readable and passes the reason upstream", async () => {
  await fc.assert(
    fc.asyncProperty(
      scenarioArbitrary().map((s): Scenario => ({
        ...s,
        ending: "pool-signal",
      })),
      poolArbitrary(),
      assertPoolSignalOutcome,
    ),
    { numRuns: 40, ...seedParameter() },
  );
});

/**
 * Runs `s` against a `TransformStream` and against each subject, and
 * checks that every subject showed the same outcome.
 */
