// Jobs declared async without awaiting anything are the point in these
// tests: they return promises, as real jobs do.
// deno-lint-ignore-file require-await
import assert from "node:assert/strict";
import { autoScale, type AutoScaleStream, type ScaleEvent } from "../mod.ts";
import { test } from "./_harness.ts";
import {
  collect,
  countingSource,
  deferred,
  gatedWork,
  range,
  releaseUntilDone,
  sleep,
  turns,
  waitFor,
} from "./_helpers.ts";

function recordEvents(pool: AutoScaleStream<unknown, unknown>): ScaleEvent[] {
  const events: ScaleEvent[] = [];
  pool.addEventListener("scale", (event) => events.push(event));
  return events;
}

/** Writes `jobs` without waiting, then closes the writable. */
async function writeAll<I>(pool: AutoScaleStream<I, unknown>, jobs: I[]) {
  const writer = pool.writable.getWriter();
  for (const job of jobs) writer.write(job).catch(() => {});
  await writer.close().catch(() => {});
}

test("autoScale() starts minWorkers workers at once", async () => {
  const pool = autoScale((n: number) => n, { minWorkers: 3, maxWorkers: 5 });
  assert.equal(pool.stats().workers, 3);
  await pool.writable.close();
  await pool.closed;
});

test("autoScale() reports the start as a ScaleEvent listeners added after it still see", async () => {
  const pool = autoScale((n: number) => n, { minWorkers: 2 });
  const events = recordEvents(pool);
  await turns(1);
  assert.deepEqual(
    events.map((e) => [e.type, e.from, e.to, e.reason]),
    [["scale", 0, 2, "start"]],
  );
  await pool.writable.close();
  await pool.closed;
});

test("autoScale() keeps minWorkers alive while idle", async () => {
  const pool = autoScale((n: number) => n, {
    minWorkers: 2,
    maxWorkers: 4,
    idleTimeout: 5,
  });
  await sleep(50);
  assert.equal(pool.stats().workers, 2);
  assert.equal(pool.stats().scaleDowns, 0);
  await pool.writable.close();
  await pool.closed;
});

test("autoScale() scales up while jobs wait and no worker is idle", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { minWorkers: 1, maxWorkers: 4 });
  const events = recordEvents(pool);
  const output = collect(pool.readable);
  writeAll(pool, range(3));
  await waitFor(() => gate.running.size === 3, () => pool.stats());
  assert.equal(pool.stats().workers, 3);
  assert.equal(pool.stats().scaleUps, 2);
  assert.ok(events.some((e) => e.reason === "pressure"));
  gate.releaseAll();
  assert.deepEqual((await output).sort(), [0, 1, 2]);
  await pool.closed;
});

test("autoScale() never runs more than maxWorkers workers", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { maxWorkers: 3, highWaterMark: 20 });
  const output = collect(pool.readable);
  writeAll(pool, range(10));
  await waitFor(() => gate.running.size === 3, () => pool.stats());
  await turns();
  assert.equal(pool.stats().workers, 3);
  assert.equal(pool.stats().queued, 7);
  await releaseUntilDone(gate, pool);
  assert.equal((await output).length, 10);
  assert.equal(pool.stats().peakWorkers, 3);
  await pool.closed;
});

test("autoScale() retires a worker idle past idleTimeout", async () => {
  const gate = gatedWork<number>();
  const idleTimeout = 40;
  const pool = autoScale(gate.work, {
    minWorkers: 1,
    maxWorkers: 4,
    idleTimeout,
  });
  const events = recordEvents(pool);
  const reader = pool.readable.getReader();
  const writer = pool.writable.getWriter();
  for (const job of range(4)) writer.write(job);
  await waitFor(() => gate.running.size === 4, () => pool.stats());
  gate.releaseAll();
  const releasedAt = Date.now();
  for (let i = 0; i < 4; i++) await reader.read();
  await waitFor(() => pool.stats().workers === 1, () => pool.stats());
  const retiredAfterMs = Date.now() - releasedAt;
  assert.ok(
    retiredAfterMs >= idleTimeout,
    `retired after ${retiredAfterMs} ms`,
  );
  assert.equal(pool.stats().scaleDowns, 3);
  assert.ok(events.some((e) => e.reason === "idle" && e.to < e.from));
  await writer.close();
  assert.equal((await reader.read()).done, true);
  await pool.closed;
});

test("autoScale() does not retire a worker before it idled for idleTimeout", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, {
    minWorkers: 0,
    maxWorkers: 2,
    idleTimeout: 300,
  });
  const reader = pool.readable.getReader();
  const writer = pool.writable.getWriter();
  writer.write(1);
  writer.write(2);
  await waitFor(() => gate.running.size === 2, () => pool.stats());
  gate.releaseAll();
  await reader.read();
  await reader.read();
  await sleep(100);
  assert.equal(pool.stats().workers, 2);
  await writer.close();
  await pool.closed;
});

test("autoScale() scales down to minWorkers and no further", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, {
    minWorkers: 2,
    maxWorkers: 5,
    idleTimeout: 5,
  });
  const reader = pool.readable.getReader();
  const writer = pool.writable.getWriter();
  for (const job of range(5)) writer.write(job);
  await waitFor(() => gate.running.size === 5, () => pool.stats());
  gate.releaseAll();
  for (let i = 0; i < 5; i++) await reader.read();
  await waitFor(() => pool.stats().workers === 2, () => pool.stats());
  await sleep(40);
  assert.equal(pool.stats().workers, 2);
  await writer.close();
  await pool.closed;
});

test("autoScale() with minWorkers 0 starts from zero and scales back to zero", async () => {
  const pool = autoScale(async (n: number) => n + 1, {
    minWorkers: 0,
    maxWorkers: 3,
    idleTimeout: 5,
  });
  assert.equal(pool.stats().workers, 0);
  const reader = pool.readable.getReader();
  const writer = pool.writable.getWriter();
  writer.write(1);
  assert.deepEqual(await reader.read(), { done: false, value: 2 });
  await waitFor(() => pool.stats().workers === 0, () => pool.stats());
  await writer.close();
  await pool.closed;
});

test("autoScale() with maxWorkers 1 runs one job at a time", async () => {
  let running = 0;
  let most = 0;
  const pool = autoScale(async (n: number) => {
    most = Math.max(most, ++running);
    await sleep(1);
    running--;
    return n;
  }, { maxWorkers: 1 });
  const results = await collect(
    ReadableStream.from(range(20)).pipeThrough(pool),
  );
  assert.equal(most, 1);
  assert.deepEqual(results, range(20));
  await pool.closed;
});

test("autoScale() with idleTimeout 0 still finishes every job", async () => {
  const pool = autoScale(async (n: number) => {
    await sleep(n % 3);
    return n;
  }, { minWorkers: 0, maxWorkers: 4, idleTimeout: 0 });
  const results = await collect(
    ReadableStream.from(range(50)).pipeThrough(pool),
  );
  assert.deepEqual(results.sort((a, b) => a - b), range(50));
  await pool.closed;
});

test("autoScale() with highWaterMark 0 still makes progress", async () => {
  const pool = autoScale(async (n: number) => n * 2, {
    minWorkers: 0,
    maxWorkers: 2,
    highWaterMark: 0,
  });
  const results = await collect(
    ReadableStream.from(range(30)).pipeThrough(pool),
  );
  assert.deepEqual(results.sort((a, b) => a - b), range(30).map((n) => n * 2));
  await pool.closed;
});

test("autoScale() runs every job once and delivers every result once", async () => {
  const seen = new Map<number, number>();
  const pool = autoScale(async (n: number) => {
    seen.set(n, (seen.get(n) ?? 0) + 1);
    await sleep(n % 4);
    return n;
  }, { maxWorkers: 6 });
  const results = await collect(
    ReadableStream.from(range(200)).pipeThrough(pool),
  );
  assert.deepEqual(results.sort((a, b) => a - b), range(200));
  assert.ok([...seen.values()].every((count) => count === 1));
  assert.equal(pool.stats().completed, 200);
  await pool.closed;
});

test("autoScale() delivers results in completion order by default", async () => {
  const pool = autoScale(async (n: number) => {
    await sleep(n === 0 ? 60 : 0);
    return n;
  }, { maxWorkers: 4 });
  const results = await collect(
    ReadableStream.from([0, 1, 2]).pipeThrough(pool),
  );
  assert.equal(results.at(-1), 0);
  await pool.closed;
});

test("autoScale() with ordered delivers results in input order", async () => {
  const pool = autoScale(async (n: number) => {
    await sleep((n * 7) % 5);
    return n;
  }, { maxWorkers: 5, ordered: true });
  const results = await collect(
    ReadableStream.from(range(60)).pipeThrough(pool),
  );
  assert.deepEqual(results, range(60));
  await pool.closed;
});

test("autoScale() with ordered runs at most maxWorkers jobs ahead of the oldest", async () => {
  const started: number[] = [];
  const oldest = deferred();
  const pool = autoScale(async (n: number) => {
    started.push(n);
    if (n === 0) await oldest.promise;
    return n;
  }, { maxWorkers: 4, ordered: true, highWaterMark: 2 });
  const source = countingSource(range(40));
  const output = collect(source.stream.pipeThrough(pool));
  await waitFor(() => started.length > 0, () => pool.stats());
  await turns(10);
  // Job 0 runs; three more finished behind it and wait for it.
  assert.deepEqual(started, [0, 1, 2, 3]);
  assert.equal(pool.stats().completed, 0);
  assert.ok(source.pulled <= 2 + 1 + 4, `pulled ${source.pulled}`);
  oldest.resolve();
  assert.deepEqual(await output, range(40));
  await pool.closed;
});

test("autoScale() closes the output only after every worker has exited", async () => {
  const pool = autoScale(async (n: number) => {
    await sleep(n);
    return n;
  }, { minWorkers: 2, maxWorkers: 4 });
  const reader = ReadableStream.from(range(8)).pipeThrough(pool).getReader();
  while (!(await reader.read()).done);
  assert.equal(pool.stats().workers, 0);
  assert.equal(pool.stats().busy, 0);
  await pool.closed;
});

test("autoScale() reports the shutdown of its workers as ScaleEvents", async () => {
  const pool = autoScale((n: number) => n, { minWorkers: 2 });
  const events = recordEvents(pool);
  await collect(ReadableStream.from([1, 2]).pipeThrough(pool));
  await pool.closed;
  assert.deepEqual(
    events.map((e) => `${e.from}->${e.to} ${e.reason}`),
    ["0->2 start", "2->0 shutdown"],
  );
});

test("autoScale() keeps workers = starts + scaleUps - scaleDowns while running", async () => {
  const pool = autoScale(async (n: number) => {
    await sleep(n % 5);
    return n;
  }, { minWorkers: 1, maxWorkers: 6, idleTimeout: 2 });
  pool.addEventListener("scale", () => {
    const stats = pool.stats();
    if (stats.workers === 0) return;
    assert.equal(stats.workers, 1 + stats.scaleUps - stats.scaleDowns);
  });
  await collect(ReadableStream.from(range(100)).pipeThrough(pool));
  await pool.closed;
});

test("autoScale() gives each worker its own id and each job that worker's id", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { minWorkers: 0, maxWorkers: 3 });
  const output = collect(pool.readable);
  writeAll(pool, range(3));
  await waitFor(() => gate.running.size === 3, () => pool.stats());
  const ids = [...gate.workerIds.values()];
  assert.equal(new Set(ids).size, 3);
  assert.ok(ids.every((id) => Number.isInteger(id) && id >= 1));
  gate.releaseAll();
  await output;
  await pool.closed;
});

test("autoScale() leaves the signal of a job that ends normally unaborted", async () => {
  const signals: AbortSignal[] = [];
  const pool = autoScale((n: number, { signal }) => {
    signals.push(signal);
    return n;
  });
  await collect(ReadableStream.from([1, 2, 3]).pipeThrough(pool));
  await pool.closed;
  assert.equal(signals.length, 3);
  assert.ok(signals.every((signal) => !signal.aborted));
  assert.equal(new Set(signals).size, 3, "each job has its own signal");
});

test("autoScale() runs a long input of synchronous jobs without deep recursion", async () => {
  const pool = autoScale((n: number) => n, {
    maxWorkers: 4,
    highWaterMark: 100_000,
  });
  const results = await collect(
    ReadableStream.from(range(50_000)).pipeThrough(pool),
  );
  assert.equal(results.length, 50_000);
  await pool.closed;
});

test("autoScale() accepts any thenable and delivers its value once", async () => {
  const pool = autoScale((n: number): PromiseLike<number> => ({
    then(onFulfilled) {
      // A broken thenable that reports twice.
      queueMicrotask(() => {
        onFulfilled?.(n);
        onFulfilled?.(n);
      });
      return Promise.resolve() as never;
    },
  }));
  const results = await collect(
    ReadableStream.from([1, 2, 3]).pipeThrough(pool),
  );
  assert.deepEqual(results.sort(), [1, 2, 3]);
  await pool.closed;
});

test("autoScale() holds the writable back once highWaterMark jobs wait", async () => {
  const gate = gatedWork<number>();
  const pool = autoScale(gate.work, { maxWorkers: 1, highWaterMark: 2 });
  const writer = pool.writable.getWriter();
  const output = collect(pool.readable);
  const writes = range(5).map((n) => writer.write(n));
  await waitFor(() => gate.running.size === 1, () => pool.stats());
  await turns();
  // One job runs, three wait: the third waiting one is held back.
  assert.equal(pool.stats().queued, 3);
  let fourthDone = false;
  writes[3].then(() => fourthDone = true);
  await turns();
  assert.equal(fourthDone, false);
  await releaseUntilDone(gate, pool);
  await Promise.all(writes);
  await writer.close();
  assert.equal((await output).length, 5);
  await pool.closed;
});

test("autoScale() pulls at most highWaterMark + maxWorkers + 1 jobs ahead of a reader that never reads", async () => {
  for (
    const options of [
      { maxWorkers: 4, highWaterMark: 0 },
      { maxWorkers: 4, highWaterMark: 10 },
      { maxWorkers: 1, highWaterMark: 3 },
      { maxWorkers: 8, highWaterMark: 8, ordered: true },
    ]
  ) {
    const source = countingSource(range(1000));
    const controller = new AbortController();
    const pool = autoScale(async (n: number) => n, {
      ...options,
      signal: controller.signal,
    });
    const output = source.stream.pipeThrough(pool);
    await sleep(30);
    const bound = options.highWaterMark + options.maxWorkers + 1;
    assert.ok(
      source.pulled <= bound,
      `pulled ${source.pulled} > ${bound} with ${JSON.stringify(options)}`,
    );
    assert.ok(source.pulled >= options.maxWorkers, "the pool did start");
    controller.abort();
    await pool.closed;
    await output.cancel();
  }
});

test("autoScale() keeps pulls within the bound while a slow reader reads", async () => {
  const source = countingSource(range(200));
  const pool = autoScale(async (n: number) => n, {
    maxWorkers: 4,
    highWaterMark: 4,
  });
  const reader = source.stream.pipeThrough(pool).getReader();
  let read = 0;
  let worst = 0;
  while (!(await reader.read()).done) {
    read++;
    worst = Math.max(worst, source.pulled - read);
    if (read % 20 === 0) await sleep(5);
  }
  assert.equal(read, 200);
  assert.ok(worst <= 4 + 4 + 1, `ran ${worst} jobs ahead of the reader`);
  await pool.closed;
});

test("autoScale() stays small while a slow reader lags behind fast jobs", async () => {
  const pool = autoScale(async (n: number) => {
    await sleep(1);
    return n;
  }, { minWorkers: 1, maxWorkers: 8, idleTimeout: 20 });
  const reader = ReadableStream.from(range(1000)).pipeThrough(pool)
    .getReader();
  // Past the first burst, the reader sets the pace: one result per 5 ms.
  for (let i = 0; i < 20; i++) {
    await reader.read();
    await sleep(5);
  }
  const scaleUpsBefore = pool.stats().scaleUps;
  let most = 0;
  for (let i = 0; i < 40; i++) {
    await reader.read();
    await sleep(5);
    most = Math.max(most, pool.stats().workers);
  }
  assert.ok(most <= 3, `${most} workers for a reader that lags`);
  assert.ok(pool.stats().scaleUps - scaleUpsBefore <= 2);
  await reader.cancel();
  await pool.closed;
});

test("autoScale() returns a fresh stats snapshot on every call", async () => {
  const pool = autoScale((n: number) => n, { minWorkers: 1 });
  const first = pool.stats();
  first.workers = 99;
  assert.equal(pool.stats().workers, 1);
  assert.notEqual(pool.stats(), pool.stats());
  await pool.writable.close();
  await pool.closed;
});

test("autoScale() resolves closed after a normal end", async () => {
  const pool = autoScale((n: number) => n);
  const done = deferred<boolean>();
  pool.closed.then(() => done.resolve(true));
  await collect(ReadableStream.from([1]).pipeThrough(pool));
  assert.equal(await done.promise, true);
});
