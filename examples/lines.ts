/**
 * A `pipeThrough` chain: bytes decoded with `TextDecoderStream`, split into
 * lines, parsed on up to four workers in input order, and summed. The pool
 * is one stage among standard ones, and backpressure runs through all of
 * them.
 *
 * Run it with `deno run examples/lines.ts`.
 * @module
 */

import { autoScale } from "../mod.ts";

/** Splits text into lines, however the chunks cut them. */
function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) controller.enqueue(line);
    },
    flush(controller) {
      if (rest !== "") controller.enqueue(rest);
    },
  });
}

// A CSV-like input, delivered in awkward 7-byte chunks.
const text = Array.from({ length: 1_000 }, (_, i) => `row ${i},${i * 3}`)
  .join("\n");
const bytes = new TextEncoder().encode(text);
const input = ReadableStream.from(
  Array.from(
    { length: Math.ceil(bytes.length / 7) },
    (_, i) => bytes.subarray(i * 7, i * 7 + 7),
  ),
);

const parse = autoScale(async (line: string) => {
  const [name, value] = line.split(",");
  await Promise.resolve(); // stands in for a lookup per row
  return { name, value: Number(value) };
}, { maxWorkers: 4, ordered: true });

let rows = 0;
let sum = 0;
let inOrder = true;
for await (
  const row of input
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(splitLines())
    .pipeThrough(parse)
) {
  inOrder &&= row.name === `row ${rows}`;
  rows++;
  sum += row.value;
}
await parse.closed;
console.log(`${rows} rows, sum ${sum}, in order: ${inOrder}`);
if (rows !== 1_000 || sum !== 3 * 999 * 1_000 / 2 || !inOrder) Deno.exit(1);
console.log("example ok");
