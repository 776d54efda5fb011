/**
 * The scenario runner behind the pipe-semantics tests: it runs one scenario
 * against a subject (an identity `TransformStream`, or `autoScale()` over
 * an identity job) and records what an observer sees, so two subjects can
 * be compared outcome for outcome. Reasons are sentinels, named by
 * identity, so a wrapped or copied reason shows up as a difference.
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  autoScale,
  type AutoScaleOptions,
  AutoScaleStream,
  type Work,
} from "../mod.ts";

import { range, seedFromEnv, sleep } from "./_helpers.ts";

export const SOURCE_ERROR = new Error("the source failed");
export const INPUT_ABORT = new Error("the input was aborted");
export const CONSUMER_CANCEL = new Error("the consumer cancelled");
export const DEST_ERROR = new Error("the destination failed");
export const POOL_ABORT = new Error("the pool's signal aborted");
export const CLEANUP = new Error("the scenario is over");

export const REASON_NAMES = new Map<unknown, string>([
  [SOURCE_ERROR, "SOURCE_ERROR"],
  [INPUT_ABORT, "INPUT_ABORT"],
  [CONSUMER_CANCEL, "CONSUMER_CANCEL"],
  [DEST_ERROR, "DEST_ERROR"],
  [POOL_ABORT, "POOL_ABORT"],
  [CLEANUP, "CLEANUP"],
]);

// Everything in a scenario settles through promise jobs, and one turn of
// the event loop runs them all; a few more turns leave a margin.
export const SETTLE_TURNS = 3;
// How long to wait for a scenario's ending moment before ending it anyway
// and letting the comparison show what was missing.
export const MOMENT_TURNS = 20;
// How many promise jobs sooner each job of `laterFinishesFirst` finishes
// than the job before it.
export const TICKS_PER_JOB = 40;

/** How jobs reach the pair: a pipe into its writable side, or a writer. */
export type Input = "pipeThrough" | "pipeTo" | "writer";

/** How results leave the pair: a reader, or a pipe to a destination. */
export type Output = "reader" | "pipeTo";

/**
 * How a scenario ends, once the consumer holds the input's `items` chunks:
 * - `close`: the input closes.
 * - `error`: the source errors with SOURCE_ERROR (a writer aborts with it).
 * - `abort`: the input pipe's signal aborts with INPUT_ABORT (a writer
 *   aborts with it).
 * - `abort-early`: the same, but before the input hands over anything.
 * - `cancel`: the reader cancels, or the output pipe's signal aborts, with
 *   CONSUMER_CANCEL.
 * - `dest-error`: the output pipe's destination throws DEST_ERROR on
 *   chunk number `items`; the input hands over one chunk more and waits.
 * - `pool-signal`: the pool's own signal aborts with POOL_ABORT.
 */
export type Ending =
  | "close"
  | "error"
  | "abort"
  | "abort-early"
  | "cancel"
  | "dest-error"
  | "pool-signal";

export interface PipeFlags {
  preventClose: boolean;
  preventAbort: boolean;
  preventCancel: boolean;
}

export interface Scenario {
  /** Chunks the input hands over before its ending. */
  items: number;
  input: Input;
  /** Options of the input pipe; a writer ignores them. */
  inputOptions: PipeFlags;
  output: Output;
  /** Options of the output pipe; a reader ignores them. */
  outputOptions: PipeFlags;
  ending: Ending;
}

/** What an observer saw at one moment, every reason named by identity. */
export interface Observation {
  /** Chunks the consumer received, or a count when their order is free. */
  chunks: number[] | string;
  /** The reader's or the destination's view of the output. */
  output: string;
  /** The output pipe's promise; "none" for a reader. */
  outputPipe: string;
  /** The source's cancel reason, or the writer's `closed` promise. */
  upstream: string;
  /** The input pipe's promise, or the writer's close or abort. */
  inputPipe: string;
  /** How the writer's writes settled; "none" for a pipe. */
  writes: string;
  /** The streams locked at that moment. */
  locked: string[];
}

/** Everything a scenario shows an observer. */
export interface Outcome {
  /** The streams locked once input and output are connected. */
  whilePiped: string[];
  /**
   * Whether the consumer held every chunk and the input waited for more,
   * for an ending that waits for that moment.
   */
  moment: "reached" | "never reached" | "not awaited";
  /** Once the scenario has ended and settled. */
  ended: Observation;
  /**
   * After closing the pair's writable side by hand, when the ending left it
   * unlocked (a pipe with a `prevent…` option).
   */
  afterHandClose: (Observation & { handClose: string }) | "writable locked";
}

/** Something to run a scenario against. */
export interface Subject {
  readonly name: string;
  /** Whether chunks come out in input order. */
  readonly ordered: boolean;
  make(poolSignal: AbortSignal): ReadableWritablePair<number, number>;
}

export const TRANSFORM_STREAM: Subject = {
  name: "new TransformStream()",
  ordered: true,
  make: () => new TransformStream<number, number>(),
};

export const identity = (job: number): number => job;

export const asyncIdentity = (job: number): Promise<number> =>
  Promise.resolve(job);

/**
 * Identity, but a later job finishes before the ones started earlier: job
 * `n` takes `TICKS_PER_JOB` promise jobs fewer than job `n - 1`, more than
 * a pipe needs to hand over the next chunk.
 */
export async function laterFinishesFirst(job: number): Promise<number> {
  for (let tick = job * TICKS_PER_JOB; tick < 8 * TICKS_PER_JOB; tick++) {
    await null;
  }
  return job;
}

export function pool(
  workName: string,
  work: Work<number, number>,
  options: AutoScaleOptions & { settled?: false },
): Subject {
  return {
    name: `autoScale(${workName}, ${JSON.stringify(options)})`,
    ordered: options.ordered ?? false,
    make: (signal) => autoScale(work, { ...options, signal }),
  };
}

export const POOLS: readonly Subject[] = [
  pool("identity", identity, { maxWorkers: 1 }),
  pool("asyncIdentity", asyncIdentity, {
    minWorkers: 0,
    maxWorkers: 4,
    highWaterMark: 0,
  }),
  pool("laterFinishesFirst", laterFinishesFirst, {
    minWorkers: 2,
    maxWorkers: 3,
    ordered: true,
  }),
  pool("laterFinishesFirst", laterFinishesFirst, {
    maxWorkers: 4,
    highWaterMark: 3,
    idleTimeout: 0,
  }),
];

export const PIPE: PipeFlags = {
  preventClose: false,
  preventAbort: false,
  preventCancel: false,
};

export function scenario(fields: Partial<Scenario>): Scenario {
  return {
    items: 4,
    input: "pipeThrough",
    inputOptions: PIPE,
    output: "reader",
    outputOptions: PIPE,
    ending: "close",
    ...fields,
  };
}

export async function assertLikeTransformStream(
  s: Scenario,
  subjects: readonly Subject[] = POOLS,
): Promise<void> {
  const reference = await run(s, TRANSFORM_STREAM);
  assert.notEqual(reference.outcome.moment, "never reached");
  for (const subject of subjects) {
    const outcome = await run(s, subject);
    const expected = comparable(reference.outcome, s, subject.ordered);
    const actual = comparable(outcome.outcome, s, subject.ordered);
    try {
      assert.deepEqual(actual, expected);
    } catch (error) {
      if (error instanceof Error) {
        error.message =
          `${subject.name} differs from ${TRANSFORM_STREAM.name} in ${
            JSON.stringify(s)
          }\n${error.message}`;
      }
      throw error;
    }
  }
}

/** Runs a `pool-signal` scenario and checks the outcome the rule gives. */
export async function assertPoolSignalOutcome(
  s: Scenario,
  subject: Subject,
): Promise<void> {
  const { outcome, poolClosed } = await run(s, subject);
  const actual = comparable(outcome, s, subject.ordered);
  const ended: Observation = {
    chunks: range(s.items),
    output: s.output === "reader"
      ? "done"
      : s.outputOptions.preventClose
      ? "open"
      : "closed",
    outputPipe: s.output === "reader" ? "none" : "resolved",
    upstream: s.input === "writer"
      ? "writer.closed rejected with POOL_ABORT"
      : s.inputOptions.preventCancel
      ? "not cancelled"
      : "cancelled with POOL_ABORT",
    inputPipe: s.input === "pipeTo"
      ? "rejected with POOL_ABORT"
      : s.input === "pipeThrough"
      ? "not observable"
      : "none",
    writes: s.input === "writer" ? describeWrites(s.items, []) : "none",
    locked: [
      ...(s.input === "writer" ? ["writable"] : []),
      ...(s.output === "reader" ? ["readable"] : []),
    ],
  };
  const expected: Outcome = {
    whilePiped: s.input === "writer"
      ? ["writable", "readable"]
      : ["source", "writable", "readable"],
    moment: "reached",
    ended,
    afterHandClose: s.input === "writer"
      ? "writable locked"
      // Closing an errored stream rejects with a TypeError of its own.
      : { ...ended, handClose: "rejected with a different TypeError" },
  };
  try {
    assert.deepEqual(
      { outcome: actual, poolClosed },
      {
        outcome: comparable(expected, s, subject.ordered),
        poolClosed: "resolved",
      },
    );
  } catch (error) {
    if (error instanceof Error) {
      error.message = `${subject.name} in ${
        JSON.stringify(s)
      }\n${error.message}`;
    }
    throw error;
  }
}

/**
 * Runs one scenario against a fresh pair from `subject` and records what
 * an observer sees. The pool, if it is one, has ended when this returns.
 */
export async function run(
  s: Scenario,
  subject: Subject,
): Promise<{ outcome: Outcome; poolClosed: string | undefined }> {
  const poolAbort = new AbortController();
  const pair = subject.make(poolAbort.signal);
  const poolClosed = pair instanceof AutoScaleStream
    ? track(pair.closed)
    : undefined;

  const input = s.input === "writer" ? writeInput(pair, s) : pipeInput(pair, s);
  const consumer = s.output === "reader"
    ? readOutput(pair.readable)
    : pipeOutput(pair.readable, s);
  const locked = (): string[] => [
    ...(input.source?.locked ? ["source"] : []),
    ...(pair.writable.locked ? ["writable"] : []),
    ...(pair.readable.locked ? ["readable"] : []),
  ];
  const observe = (): Observation => ({
    chunks: [...consumer.chunks],
    output: consumer.state(),
    outputPipe: consumer.pipe(),
    upstream: input.upstream(),
    inputPipe: input.inputPipe(),
    writes: input.writes(),
    locked: locked(),
  });
  const whilePiped = locked();
  input.start();

  let moment: Outcome["moment"] = "not awaited";
  if (s.ending !== "close" && s.ending !== "dest-error") {
    const reached = await until(() =>
      input.isWaiting() && consumer.chunks.length >= input.count
    );
    moment = reached ? "reached" : "never reached";
    if (s.ending === "cancel") consumer.cancel();
    else if (s.ending === "pool-signal") poolAbort.abort(POOL_ABORT);
    else if (s.ending !== "abort-early") input.end();
  }
  await until(() => false, SETTLE_TURNS);
  const ended = observe();

  let afterHandClose: Outcome["afterHandClose"] = "writable locked";
  if (s.input !== "writer" && !pair.writable.locked) {
    const handClose = track(pair.writable.close());
    await until(() => false, SETTLE_TURNS);
    afterHandClose = { ...observe(), handClose: handClose() };
  }
  const outcome = { whilePiped, moment, ended, afterHandClose };

  await consumer.stop();
  if (pair instanceof AutoScaleStream) await pair.closed;
  return { outcome, poolClosed: poolClosed?.() };
}

/** The input side of a scenario. */
export interface Feed {
  /** The source, when a pipe feeds the pair. */
  readonly source: ReadableStream<number> | undefined;
  /** Chunks it hands over before waiting. */
  readonly count: number;
  start(): void;
  /** It has handed over every chunk and waits for more. */
  isWaiting(): boolean;
  /** Errors or aborts it, as the scenario says. */
  end(): void;
  upstream(): string;
  inputPipe(): string;
  writes(): string;
}

export function inputCount(s: Scenario): number {
  if (s.ending === "abort-early") return 0;
  return s.ending === "dest-error" ? s.items + 1 : s.items;
}

/**
 * A source that hands out `0, 1, …` one per pull, then closes or waits
 * with its pull pending, piped into the pair.
 */
export function pipeInput(
  pair: ReadableWritablePair<number, number>,
  s: Scenario,
): Feed {
  const count = inputCount(s);
  let sent = 0;
  let waiting = false;
  let upstream = "not cancelled";
  let controller!: ReadableStreamDefaultController<number>;
  const source = new ReadableStream<number>({
    start(c) {
      controller = c;
    },
    pull(c) {
      if (sent < count) {
        c.enqueue(sent++);
        return;
      }
      if (s.ending === "close") {
        c.close();
        return;
      }
      waiting = true;
      // A pull left pending: nothing more comes until the scenario ends.
      return new Promise<void>(() => {});
    },
    cancel(reason) {
      upstream = `cancelled with ${nameOf(reason)}`;
    },
  }, { highWaterMark: 0 });

  const pipeAbort = new AbortController();
  if (s.ending === "abort-early") pipeAbort.abort(INPUT_ABORT);
  const options = { ...s.inputOptions, signal: pipeAbort.signal };
  let inputPipe = (): string => "not observable";
  if (s.input === "pipeTo") {
    inputPipe = track(source.pipeTo(pair.writable, options));
  } else {
    const readable = source.pipeThrough(pair, options);
    assert.equal(readable, pair.readable);
  }

  return {
    source,
    count,
    start: () => {},
    isWaiting: () => waiting || s.ending === "abort-early",
    end: () => {
      if (s.ending === "error") controller.error(SOURCE_ERROR);
      else pipeAbort.abort(INPUT_ABORT);
    },
    upstream: () => upstream,
    inputPipe: () => inputPipe(),
    writes: () => "none",
  };
}

/** A writer that writes `0, 1, …`, waiting for `ready` before each. */
export function writeInput(
  pair: ReadableWritablePair<number, number>,
  s: Scenario,
): Feed {
  const count = inputCount(s);
  const writer = pair.writable.getWriter();
  const closed = track(writer.closed);
  const writes: Array<() => string> = [];
  let waiting = false;
  let inputPipe = (): string => "none";

  async function write(): Promise<void> {
    for (let i = 0; i < count; i++) {
      await writer.ready;
      writes.push(track(writer.write(i)));
    }
    if (s.ending === "close") inputPipe = track(writer.close());
    else waiting = true;
  }

  return {
    source: undefined,
    count,
    start: () => {
      if (s.ending === "abort-early") {
        inputPipe = track(writer.abort(INPUT_ABORT));
      }
      write().catch(() => {});
    },
    isWaiting: () => waiting,
    end: () => {
      const reason = s.ending === "error" ? SOURCE_ERROR : INPUT_ABORT;
      inputPipe = track(writer.abort(reason));
    },
    upstream: () => `writer.closed ${closed()}`,
    inputPipe: () => inputPipe(),
    writes: () =>
      describeWrites(
        writes.filter((w) => w() === "resolved").length,
        writes.map((w) => w()).filter((state) => state !== "resolved"),
      ),
  };
}

export function describeWrites(resolved: number, others: string[]): string {
  return [`${resolved} resolved`, ...others].join(", ");
}

/** The output side of a scenario. */
export interface Consumer {
  readonly chunks: number[];
  state(): string;
  pipe(): string;
  cancel(): void;
  /** Ends whatever still runs, so that the pair can end. */
  stop(): Promise<void>;
}

/** A reader that reads until the output ends. */
export function readOutput(readable: ReadableStream<number>): Consumer {
  const chunks: number[] = [];
  let state = "open";
  let cancel = (): string => "none";
  const reader = readable.getReader();

  async function read(): Promise<void> {
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) {
          state = "done";
          return;
        }
        chunks.push(value);
      }
    } catch (error) {
      state = `errored with ${nameOf(error)}`;
    }
  }
  read();

  return {
    chunks,
    state: () => state,
    pipe: () => cancel() === "none" ? "none" : `reader.cancel() ${cancel()}`,
    cancel: () => {
      cancel = track(reader.cancel(CONSUMER_CANCEL));
    },
    stop: async () => {
      await reader.cancel(CLEANUP).catch(() => {});
    },
  };
}

/**
 * A pipe into a destination that records chunks, and throws DEST_ERROR on
 * chunk number `items` in a `dest-error` scenario.
 */
export function pipeOutput(
  readable: ReadableStream<number>,
  s: Scenario,
): Consumer {
  const chunks: number[] = [];
  let state = "open";
  const failAt = s.ending === "dest-error" ? s.items : -1;
  const destination = new WritableStream<number>({
    write(chunk) {
      if (chunks.length === failAt) {
        state = "errored with DEST_ERROR";
        throw DEST_ERROR;
      }
      chunks.push(chunk);
    },
    close() {
      state = "closed";
    },
    abort(reason) {
      state = `aborted with ${nameOf(reason)}`;
    },
  });
  const pipeAbort = new AbortController();
  const piping = readable.pipeTo(destination, {
    ...s.outputOptions,
    signal: pipeAbort.signal,
  });
  const pipe = track(piping);

  return {
    chunks,
    state: () => state,
    pipe,
    cancel: () => pipeAbort.abort(CONSUMER_CANCEL),
    stop: async () => {
      pipeAbort.abort(CLEANUP);
      await piping.catch(() => {});
      if (!readable.locked) await readable.cancel(CLEANUP).catch(() => {});
    },
  };
}

/**
 * The outcome with chunks made comparable: sorted when the subject's order
 * is free, and only counted when, besides, not every chunk came out (which
 * ones come first is then the subject's business too).
 */
export function comparable(
  outcome: Outcome,
  s: Scenario,
  ordered: boolean,
): Outcome {
  if (ordered) return outcome;
  const fix = <T extends Observation>(o: T): T => {
    const chunks = [...o.chunks as number[]].sort((a, b) => a - b);
    if (s.ending !== "dest-error") return { ...o, chunks };
    const distinct = new Set(chunks).size === chunks.length &&
      chunks.every((chunk) => chunk <= s.items);
    return {
      ...o,
      chunks: distinct
        ? `${chunks.length} distinct chunks of the input`
        : `not distinct chunks of the input: ${chunks}`,
    };
  };
  return {
    ...outcome,
    ended: fix(outcome.ended),
    afterHandClose: outcome.afterHandClose === "writable locked"
      ? outcome.afterHandClose
      : fix(outcome.afterHandClose),
  };
}

/** What `pipeThrough()` throws for a locked source and a locked writable. */
export async function tryLockedPipes(subject: Subject): Promise<{
  lockedSource: string;
  lockedWritable: string;
  unlockedAfter: boolean[];
}> {
  const pair = subject.make(new AbortController().signal);
  const lockedSource = new ReadableStream<number>();
  lockedSource.getReader();
  const fromLockedSource = errorName(() => lockedSource.pipeThrough(pair));

  const writer = pair.writable.getWriter();
  const source = new ReadableStream<number>();
  const intoLockedWritable = errorName(() => source.pipeThrough(pair));
  const unlockedAfter = [source.locked, pair.readable.locked];

  await writer.close();
  if (pair instanceof AutoScaleStream) await pair.closed;
  return {
    lockedSource: fromLockedSource,
    lockedWritable: intoLockedWritable,
    unlockedAfter,
  };
}

export function errorName(action: () => void): string {
  try {
    action();
  } catch (error) {
    return error instanceof Error ? error.constructor.name : String(error);
  }
  return "nothing thrown";
}

/**
 * Pipes `[0, 1, 2]` with preventClose, then `[10, 11]`, into one pair, and
 * records what came out and how each pipe settled.
 */
export async function pipeTwice(subject: Subject): Promise<{
  chunks: number[];
  output: string;
  pipes: string[];
}> {
  const pair = subject.make(new AbortController().signal);
  const consumer = readOutput(pair.readable);
  const first = track(
    streamOf([0, 1, 2]).pipeTo(pair.writable, { preventClose: true }),
  );
  await until(() => first() !== "pending");
  const second = track(streamOf([10, 11]).pipeTo(pair.writable));
  await until(() => consumer.state() !== "open");

  const result = {
    chunks: [...consumer.chunks],
    output: consumer.state(),
    pipes: [first(), second()],
  };
  await consumer.stop();
  if (pair instanceof AutoScaleStream) await pair.closed;
  return result;
}

export function streamOf(items: number[]): ReadableStream<number> {
  return new ReadableStream<number>({
    pull(controller) {
      const next = items.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  }, { highWaterMark: 0 });
}

export function scenarioArbitrary(): fc.Arbitrary<Scenario> {
  const flags = fc.record({
    preventClose: fc.boolean(),
    preventAbort: fc.boolean(),
    preventCancel: fc.boolean(),
  });
  return fc.record({
    items: fc.integer({ min: 0, max: 6 }),
    input: fc.constantFrom<Input>("pipeThrough", "pipeTo", "writer"),
    inputOptions: flags,
    output: fc.constantFrom<Output>("reader", "pipeTo"),
    outputOptions: flags,
    ending: fc.constantFrom<Ending>(
      "close",
      "error",
      "abort",
      "abort-early",
      "cancel",
      "dest-error",
    ),
  }).map((s): Scenario =>
    // Only a pipe has a destination to fail.
    s.ending === "dest-error" ? { ...s, output: "pipeTo" } : s
  );
}

export function poolArbitrary(): fc.Arbitrary<Subject> {
  return fc.record({
    work: fc.constantFrom("identity", "asyncIdentity", "laterFinishesFirst"),
    minWorkers: fc.integer({ min: 0, max: 3 }),
    extraWorkers: fc.integer({ min: 0, max: 3 }),
    highWaterMark: fc.option(fc.integer({ min: 0, max: 4 }), {
      nil: undefined,
    }),
    ordered: fc.boolean(),
    idleTimeout: fc.constantFrom(0, 5, 100),
  }).map(({ work, minWorkers, extraWorkers, ...rest }) => {
    const options: AutoScaleOptions & { settled?: false } = {
      minWorkers,
      maxWorkers: Math.max(1, minWorkers + extraWorkers),
      ...rest,
    };
    if (options.highWaterMark === undefined) delete options.highWaterMark;
    const works = { identity, asyncIdentity, laterFinishesFirst };
    return pool(work, works[work], options);
  });
}

export function seedParameter(): { seed?: number } {
  const seed = seedFromEnv();
  return seed === undefined ? {} : { seed };
}

/** A reason by the name of its sentinel, so that only identity matches. */
export function nameOf(reason: unknown): string {
  const name = REASON_NAMES.get(reason);
  if (name !== undefined) return name;
  // The type alone: messages differ between runtimes.
  if (reason instanceof Error) return `a different ${reason.name}`;
  return `a different value (${String(reason)})`;
}

/** Follows a promise: "pending", "resolved" or "rejected with …". */
export function track(promise: Promise<unknown>): () => string {
  let state = "pending";
  promise.then(
    () => state = "resolved",
    (reason) => state = `rejected with ${nameOf(reason)}`,
  );
  return () => state;
}

/**
 * Lets the event loop turn until `condition` holds, at most `maxTurns`
 * times, and says whether it held.
 */
export async function until(
  condition: () => boolean,
  maxTurns = MOMENT_TURNS,
): Promise<boolean> {
  for (let i = 0; i < maxTurns && !condition(); i++) await sleep(0);
  return condition();
}
