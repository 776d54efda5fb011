import assert from "node:assert/strict";
import { autoScale, type AutoScaleOptions, autoScalePool } from "../mod.ts";
import { test } from "./_harness.ts";

const noop = (n: number) => n;

function rejects(
  options: unknown,
  type: typeof TypeError | typeof RangeError,
  message: string,
): void {
  assert.throws(
    () => autoScale(noop, options as AutoScaleOptions),
    (error: Error) => {
      assert.ok(error instanceof type, `${error.name}: ${error.message}`);
      assert.equal(error.message, message);
      return true;
    },
  );
}

test("autoScale() names a minWorkers that is not an integer >= 0", () => {
  rejects(
    { minWorkers: -1 },
    RangeError,
    'Cannot create pool: "minWorkers" must be an integer >= 0, received -1',
  );
  rejects(
    { minWorkers: 1.5 },
    RangeError,
    'Cannot create pool: "minWorkers" must be an integer >= 0, received 1.5',
  );
  rejects(
    { minWorkers: NaN },
    RangeError,
    'Cannot create pool: "minWorkers" must be an integer >= 0, received NaN',
  );
  rejects(
    { minWorkers: "2" },
    TypeError,
    'Cannot create pool: "minWorkers" must be a number, received "2"',
  );
});

test("autoScale() names a maxWorkers below 1", () => {
  rejects(
    { maxWorkers: 0 },
    RangeError,
    'Cannot create pool: "maxWorkers" must be an integer >= 1, received 0',
  );
  rejects(
    { maxWorkers: Infinity },
    RangeError,
    'Cannot create pool: "maxWorkers" must be an integer >= 1, received Infinity',
  );
});

test("autoScale() refuses a minWorkers above maxWorkers", () => {
  rejects(
    { minWorkers: 5, maxWorkers: 2 },
    RangeError,
    'Cannot create pool: "minWorkers" must be <= "maxWorkers" (2), received 5',
  );
});

test("autoScale() raises the default maxWorkers to a larger minWorkers", async () => {
  const pool = autoScale(noop, { minWorkers: 12 });
  assert.equal(pool.stats().workers, 12);
  await pool.writable.close();
  await pool.closed;
});

test("autoScale() names an idleTimeout that is negative or not finite", () => {
  rejects(
    { idleTimeout: -5 },
    RangeError,
    'Cannot create pool: "idleTimeout" must be a finite number >= 0, received -5',
  );
  rejects(
    { idleTimeout: Infinity },
    RangeError,
    'Cannot create pool: "idleTimeout" must be a finite number >= 0, received Infinity',
  );
  rejects(
    { idleTimeout: NaN },
    RangeError,
    'Cannot create pool: "idleTimeout" must be a finite number >= 0, received NaN',
  );
  rejects(
    { idleTimeout: "100" },
    TypeError,
    'Cannot create pool: "idleTimeout" must be a number of milliseconds, received "100"',
  );
});

test("autoScale() names a highWaterMark that is negative or not finite", () => {
  rejects(
    { highWaterMark: -1 },
    RangeError,
    'Cannot create pool: "highWaterMark" must be an integer >= 0, received -1',
  );
  rejects(
    { highWaterMark: Infinity },
    RangeError,
    'Cannot create pool: "highWaterMark" must be an integer >= 0, received Infinity',
  );
});

test("autoScale() names a signal that is not an AbortSignal", () => {
  rejects(
    { signal: new AbortController() },
    TypeError,
    'Cannot create pool: "signal" must be an AbortSignal, received an instance of AbortController',
  );
});

test("autoScale() names an ordered that is not a boolean", () => {
  rejects(
    { ordered: "yes" },
    TypeError,
    'Cannot create pool: "ordered" must be a boolean, received "yes"',
  );
});

test("autoScale() names options that are not an object", () => {
  rejects(
    42,
    TypeError,
    'Cannot create pool: "options" must be an object, received 42',
  );
  rejects(
    null,
    TypeError,
    'Cannot create pool: "options" must be an object, received null',
  );
});

test("autoScale() names a work that is not a function", () => {
  assert.throws(
    () => autoScale("double" as never),
    new TypeError(
      'Cannot create pool: "work" must be a function or an absolute module URL, received "double"',
    ),
  );
});

test("autoScale() validates before it starts any worker or timer", () => {
  const controller = new AbortController();
  let listeners = 0;
  controller.signal.addEventListener = () => listeners++;
  assert.throws(() =>
    autoScale(noop, {
      signal: controller.signal,
      minWorkers: 1,
      idleTimeout: -1,
    })
  );
  assert.equal(listeners, 0);
});

test("autoScale() accepts every edge value the rules allow", async () => {
  const pool = autoScale(noop, {
    minWorkers: 0,
    maxWorkers: 1,
    idleTimeout: 0,
    highWaterMark: 0,
    ordered: false,
  });
  await pool.writable.close();
  await pool.closed;
});

test("autoScalePool() names each bad argument", () => {
  const signal = new AbortController().signal;
  assert.throws(
    () => autoScalePool("no" as never, 1, 2, [], noop),
    new TypeError(
      'Cannot create pool: "signal" must be an AbortSignal, received "no"',
    ),
  );
  assert.throws(
    () => autoScalePool(signal, -1, 2, [], noop),
    new RangeError(
      'Cannot create pool: "minWorkers" must be an integer >= 0, received -1',
    ),
  );
  assert.throws(
    () => autoScalePool(signal, 0, 0, [], noop),
    new RangeError(
      'Cannot create pool: "maxWorkers" must be an integer >= 1, received 0',
    ),
  );
  assert.throws(
    () => autoScalePool(signal, 3, 2, [], noop),
    new RangeError(
      'Cannot create pool: "minWorkers" must be <= "maxWorkers" (2), received 3',
    ),
  );
  assert.throws(
    () => autoScalePool(signal, 1, 2, 7 as never, noop),
    new TypeError(
      'Cannot create pool: "jobs" must be a ReadableStream, an AsyncIterable or an Iterable, received 7',
    ),
  );
  assert.throws(
    () => autoScalePool(signal, 1, 2, [], null as never),
    new TypeError(
      'Cannot create pool: "work" must be a function, received null',
    ),
  );
});

test("autoScale() names a timeout that is not a positive finite number", () => {
  rejects(
    { timeout: 0 },
    RangeError,
    'Cannot create pool: "timeout" must be a finite number > 0, received 0',
  );
  rejects(
    { timeout: -10 },
    RangeError,
    'Cannot create pool: "timeout" must be a finite number > 0, received -10',
  );
  rejects(
    { timeout: Infinity },
    RangeError,
    'Cannot create pool: "timeout" must be a finite number > 0, received Infinity',
  );
  rejects(
    { timeout: "1s" },
    TypeError,
    'Cannot create pool: "timeout" must be a number of milliseconds, received "1s"',
  );
});

test("autoScale() names each bad retry field", () => {
  rejects(
    { retry: 3 },
    TypeError,
    'Cannot create pool: "retry" must be an object, received 3',
  );
  rejects(
    { retry: {} },
    TypeError,
    'Cannot create pool: "retry.attempts" must be a number, received undefined',
  );
  rejects(
    { retry: { attempts: 0 } },
    RangeError,
    'Cannot create pool: "retry.attempts" must be an integer >= 1, received 0',
  );
  rejects(
    { retry: { attempts: 2, delay: -1 } },
    RangeError,
    'Cannot create pool: "retry.delay" must be a finite number >= 0, received -1',
  );
  rejects(
    { retry: { attempts: 2, maxDelay: NaN } },
    RangeError,
    'Cannot create pool: "retry.maxDelay" must be a finite number >= 0, received NaN',
  );
  rejects(
    { retry: { attempts: 2, retryIf: true } },
    TypeError,
    'Cannot create pool: "retry.retryIf" must be a function, received true',
  );
});

test("autoScale() names a settled that is not a boolean", () => {
  rejects(
    { settled: 1 },
    TypeError,
    'Cannot create pool: "settled" must be a boolean, received 1',
  );
});

test("autoScale() names each bad scaling field", () => {
  rejects(
    { scaling: "fast" },
    TypeError,
    'Cannot create pool: "scaling" must be an object, received "fast"',
  );
  rejects(
    { scaling: { rampInterval: -1 } },
    RangeError,
    'Cannot create pool: "scaling.rampInterval" must be a finite number >= 0, received -1',
  );
  rejects(
    { scaling: { retireStep: 0 } },
    RangeError,
    'Cannot create pool: "scaling.retireStep" must be an integer >= 1, received 0',
  );
});

test("autoScale() names a key that is not a function", () => {
  rejects(
    { key: "id" },
    TypeError,
    'Cannot create pool: "key" must be a function, received "id"',
  );
});
