/**
 * A concurrent crawler: fetches every page of a small site with `fetch`,
 * on up to eight workers, giving up on any page slower than its timeout.
 * The site is served on 127.0.0.1 by the example itself, with one page that
 * never answers in time, so the run shows a timeout as a rejected record
 * instead of a failed crawl.
 *
 * Run it with `deno run --allow-net=127.0.0.1 examples/crawler.ts`.
 * @module
 */

import { autoScale } from "../mod.ts";

const PAGES = 40;
const SLOW_PAGE = 13;

const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  async (request) => {
    const page = Number(new URL(request.url).pathname.slice(1));
    // Every page takes a little while; one takes far too long.
    const delayMs = page === SLOW_PAGE ? 5_000 : 5 + (page % 7) * 3;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return new Response(`page ${page} `.repeat(page + 1));
  },
);
const base = `http://127.0.0.1:${server.addr.port}`;

try {
  const crawl = autoScale(async (url: string, { signal }) => {
    // The signal aborts at the timeout, which cancels the request.
    const response = await fetch(url, { signal });
    return (await response.text()).length;
  }, { maxWorkers: 8, timeout: 500, settled: true });

  const urls = ReadableStream.from(
    Array.from({ length: PAGES }, (_, page) => `${base}/${page}`),
  );
  let bytes = 0;
  const failed: string[] = [];
  for await (const outcome of urls.pipeThrough(crawl)) {
    if (outcome.status === "fulfilled") bytes += outcome.value;
    else failed.push(`${outcome.job}: ${(outcome.reason as Error).name}`);
  }
  await crawl.closed;
  const stats = crawl.stats();
  console.log(
    `crawled ${stats.completed} pages (${bytes} bytes) on up to ${stats.peakWorkers} workers`,
  );
  console.log(`gave up on ${failed.length}: ${failed.join(", ")}`);
  if (stats.completed !== PAGES - 1 || failed.length !== 1) Deno.exit(1);
  console.log("example ok");
} finally {
  await server.shutdown();
}
