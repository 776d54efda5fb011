import assert from "node:assert/strict";
import fc from "fast-check";
import { Deque } from "../src/deque.ts";
import { test } from "./_harness.ts";
import { seedFromEnv } from "./_helpers.ts";

test("Deque behaves like an array used at both ends", () => {
  const operation = fc.oneof(
    fc.record({ kind: fc.constant("push" as const), value: fc.integer() }),
    fc.record({ kind: fc.constant("shift" as const) }),
    fc.record({ kind: fc.constant("pop" as const) }),
    fc.record({
      kind: fc.constant("at" as const),
      index: fc.integer({ min: -2, max: 40 }),
    }),
    fc.record({ kind: fc.constant("drain" as const) }),
  );
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 300 }), (operations) => {
      const deque = new Deque<number>();
      const model: number[] = [];
      for (const op of operations) {
        switch (op.kind) {
          case "push":
            deque.push(op.value);
            model.push(op.value);
            break;
          case "shift":
            assert.equal(deque.shift(), model.shift());
            break;
          case "pop":
            assert.equal(deque.pop(), model.pop());
            break;
          case "at":
            assert.equal(
              deque.at(op.index),
              op.index < 0 ? undefined : model[op.index],
            );
            break;
          case "drain":
            assert.deepEqual(deque.drain(), model.splice(0));
            break;
        }
        assert.equal(deque.length, model.length);
      }
    }),
    { seed: seedFromEnv() },
  );
});

test("Deque keeps undefined items", () => {
  const deque = new Deque<undefined | number>();
  deque.push(undefined);
  deque.push(1);
  assert.deepEqual(deque.drain(), [undefined, 1]);
});
