/**
 * The code each worker thread of a thread pool runs, as a module of its
 * own. Thread pools start their threads from a `blob:` URL by default, so
 * that nothing has to be served beside the package; a page whose
 * Content-Security-Policy forbids `blob:` workers serves this module
 * instead, bundled for the browser, from its own origin, and names it in
 * the `threadHost` option. Importing it anywhere but in a worker thread
 * does nothing useful: it waits for the pool's messages.
 *
 * @example Thread pools under `worker-src 'self'`
 * ```ts ignore
 * import { autoScale } from "@autoscale/streams";
 *
 * // host.js: this module, bundled and served from the page's origin.
 * const square = new URL("./square.js", location.href);
 * const pool = autoScale<number, number>(square, {
 *   threadHost: new URL("./host.js", location.href),
 * });
 * ```
 * @module
 */

import { runThreadHost } from "./src/thread_host.ts";

runThreadHost();
