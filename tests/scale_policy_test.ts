import assert from "node:assert/strict";
import fc from "fast-check";
import {
  idleCheckIntervalMs,
  outputRoom,
  planRetirement,
  type PoolSnapshot,
  rampAllowance,
  runnableJobs,
  type ScaleLimits,
  workersToStart,
} from "../src/scale_policy.ts";
import { test } from "./_harness.ts";

const limits: ScaleLimits = {
  minWorkers: 1,
  maxWorkers: 8,
  idleTimeoutMs: 100,
  rampIntervalMs: 0,
  retireStep: Infinity,
};

function snapshot(fields: Partial<PoolSnapshot>): PoolSnapshot {
  return {
    alive: 1,
    starting: 0,
    idle: 0,
    busy: 1,
    queued: 0,
    blockingJobs: 0,
    heldForOrder: 0,
    unread: 0,
    ...fields,
  };
}

test("workersToStart() starts one worker per waiting job when nobody is idle", () => {
  assert.equal(
    workersToStart(snapshot({ alive: 2, busy: 2, queued: 3 }), limits),
    3,
  );
});

test("workersToStart() never passes maxWorkers", () => {
  assert.equal(
    workersToStart(
      snapshot({ alive: 7, busy: 7, queued: 5, unread: 0 }),
      limits,
    ),
    1,
  );
  assert.equal(
    workersToStart(
      snapshot({ alive: 8, busy: 8, queued: 5, unread: 0 }),
      limits,
    ),
    0,
  );
});

test("workersToStart() starts nobody while a worker is idle", () => {
  assert.equal(
    workersToStart(snapshot({ alive: 2, idle: 1, busy: 1, queued: 4 }), limits),
    0,
  );
});

test("workersToStart() starts nobody while no job waits", () => {
  assert.equal(
    workersToStart(snapshot({ alive: 2, busy: 2, queued: 0 }), limits),
    0,
  );
});

test("workersToStart() starts nobody while the reader lags", () => {
  // Six unread results and two running jobs fill the output's budget of 8.
  const lagging = snapshot({
    alive: 2,
    busy: 2,
    queued: 10,
    unread: 6,
  });
  assert.equal(outputRoom(lagging, limits), 0);
  assert.equal(workersToStart(lagging, limits), 0);
});

test("workersToStart() counts results held for order against output room", () => {
  const held = snapshot({
    alive: 2,
    busy: 2,
    queued: 10,
    heldForOrder: 5,
    unread: 0,
  });
  assert.equal(outputRoom(held, limits), 1);
  assert.equal(workersToStart(held, limits), 1);
});

test("workersToStart() starts a worker for a blocking job even without room", () => {
  // The oldest job waits to retry while later results fill the budget.
  const blocked = snapshot({
    alive: 0,
    busy: 0,
    queued: 5,
    blockingJobs: 1,
    heldForOrder: 8,
    unread: 0,
  });
  assert.equal(outputRoom(blocked, limits), 0);
  assert.equal(runnableJobs(blocked, limits), 1);
  assert.equal(workersToStart(blocked, { ...limits, minWorkers: 0 }), 1);
});

test("workersToStart() refills the minimum whatever the pressure", () => {
  const bounds = { ...limits, minWorkers: 3 };
  assert.equal(
    workersToStart(snapshot({ alive: 1, busy: 0, idle: 1 }), bounds),
    2,
  );
  assert.equal(
    workersToStart(
      snapshot({ alive: 0, busy: 0, unread: 8 }),
      bounds,
    ),
    3,
  );
});

test("workersToStart() keeps the pool within bounds for any snapshot", () => {
  fc.assert(
    fc.property(
      fc.record({
        minWorkers: fc.integer({ min: 0, max: 10 }),
        extra: fc.integer({ min: 0, max: 10 }),
        alive: fc.integer({ min: 0, max: 20 }),
        idleShare: fc.integer({ min: 0, max: 20 }),
        queued: fc.integer({ min: 0, max: 50 }),
        heldForOrder: fc.integer({ min: 0, max: 20 }),
        unread: fc.integer({ min: 0, max: 20 }),
      }),
      (input) => {
        const maxWorkers = Math.max(1, input.minWorkers + input.extra);
        const bounds = {
          ...limits,
          minWorkers: input.minWorkers,
          maxWorkers,
          idleTimeoutMs: 10,
        };
        const alive = Math.min(input.alive, maxWorkers);
        const idle = Math.min(input.idleShare, alive);
        const s = snapshot({ ...input, alive, idle, busy: alive - idle });
        const start = workersToStart(s, bounds);
        assert.ok(start >= 0);
        assert.ok(alive + start <= maxWorkers, "never past maxWorkers");
        assert.ok(
          alive + start >= Math.min(input.minWorkers, maxWorkers),
          "refills to minWorkers",
        );
        if (alive >= input.minWorkers) {
          assert.ok(
            start <= s.queued,
            "never more new workers than waiting jobs",
          );
        }
      },
    ),
  );
});

test("planRetirement() retires workers idle for at least idleTimeout", () => {
  assert.deepEqual(planRetirement([250, 120, 100, 40], 5, limits), {
    retire: 3,
    recheckInMs: 25,
  });
});

test("planRetirement() keeps minWorkers alive however long they idle", () => {
  assert.equal(
    planRetirement([500, 400, 300], 3, { ...limits, minWorkers: 2 }).retire,
    1,
  );
  assert.deepEqual(
    planRetirement([500, 400], 2, { ...limits, minWorkers: 2 }),
    {
      retire: 0,
      recheckInMs: undefined,
    },
  );
});

test("planRetirement() retires nobody idle for less than idleTimeout", () => {
  assert.deepEqual(planRetirement([99, 10], 4, limits), {
    retire: 0,
    recheckInMs: 1,
  });
});

test("planRetirement() checks again at least every quarter of idleTimeout", () => {
  assert.equal(planRetirement([0], 4, limits).recheckInMs, 25);
  assert.equal(idleCheckIntervalMs(limits), 25);
});

test("planRetirement() stops checking once nobody idles", () => {
  assert.deepEqual(planRetirement([], 4, limits), {
    retire: 0,
    recheckInMs: undefined,
  });
});

test("planRetirement() with idleTimeout 0 retires every surplus idle worker", () => {
  const eager = { ...limits, idleTimeoutMs: 0 };
  assert.deepEqual(planRetirement([0, 0, 0], 3, eager), {
    retire: 2,
    recheckInMs: undefined,
  });
});

test("planRetirement() never retires below minWorkers nor a worker idle too briefly", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 12 }),
      fc.integer({ min: 0, max: 12 }),
      fc.integer({ min: 0, max: 6 }),
      (durations, busy, minWorkers) => {
        const idleForMs = durations.sort((a, b) => b - a);
        const alive = idleForMs.length + busy;
        const bounds = { ...limits, minWorkers };
        const plan = planRetirement(idleForMs, alive, bounds);
        assert.ok(alive - plan.retire >= Math.min(minWorkers, alive));
        for (let i = 0; i < plan.retire; i++) assert.ok(idleForMs[i] >= 100);
        if (plan.recheckInMs !== undefined) {
          assert.ok(plan.recheckInMs >= 0 && plan.recheckInMs <= 25);
        }
      },
    ),
  );
});

test("planRetirement() retires no more than the allowance, then waits for it to renew", () => {
  const allowance = { count: 1, renewedInMs: 70 };
  assert.deepEqual(planRetirement([300, 200, 150], 5, limits, allowance), {
    retire: 1,
    recheckInMs: 70,
  });
  assert.deepEqual(
    planRetirement([300], 5, limits, { count: 0, renewedInMs: 40 }),
    { retire: 0, recheckInMs: 40 },
  );
});

test("rampAllowance() starts a burst with one worker and doubles the step each interval", () => {
  const ramping = { ...limits, maxWorkers: 64, rampIntervalMs: 10 };
  const first = rampAllowance(undefined, 1_000, ramping);
  assert.deepEqual(first, {
    allowed: 1,
    ramp: { step: 1, stepStartedMs: 1_000, startedInStep: 0 },
  });
  const spent = { ...first.ramp, startedInStep: 1 };
  assert.equal(rampAllowance(spent, 1_005, ramping).allowed, 0);
  assert.deepEqual(rampAllowance(spent, 1_010, ramping), {
    allowed: 2,
    ramp: { step: 2, stepStartedMs: 1_010, startedInStep: 0 },
  });
  assert.deepEqual(rampAllowance(spent, 1_035, ramping), {
    allowed: 8,
    ramp: { step: 8, stepStartedMs: 1_030, startedInStep: 0 },
  });
});

test("rampAllowance() never grows the step past maxWorkers", () => {
  const ramping = { ...limits, maxWorkers: 6, rampIntervalMs: 1 };
  const start = rampAllowance(undefined, 0, ramping).ramp;
  assert.equal(rampAllowance(start, 1_000, ramping).allowed, 6);
});

test("workersToStart() counts starting workers as capacity on its way", () => {
  const starting = snapshot({ alive: 4, starting: 3, busy: 1, queued: 5 });
  assert.equal(workersToStart(starting, limits), 2);
  const covered = snapshot({ alive: 4, starting: 3, busy: 1, queued: 3 });
  assert.equal(workersToStart(covered, limits), 0);
});
