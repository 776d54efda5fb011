/**
 * Runs a bench script under Node.js, which (in version 20) cannot run
 * TypeScript: bundles the entry with `deno bundle` into
 * `bench/.build/<name>.mjs`, then runs the bundle with
 * `node --expose-gc`, passing the remaining arguments on, and exits with
 * Node.js's exit code. Run it with Deno, from the repository root:
 *
 *     deno task bench:peers:node [arguments]
 *     deno run --allow-run=node_modules/.bin/deno,node bench/node.ts \
 *       bench/peers.ts [arguments]
 *
 * The bundle imports `node:` modules as they are and carries the npm
 * packages inside it; it is rebuilt on every run, so it never lags the
 * sources. `deno bundle` fetches esbuild from the npm registry on first
 * use. The bench scripts find the packages' versions from the bundle's
 * place (see `peers.ts`), so run the bundle where it is built.
 * @module
 */

const DENO = "node_modules/.bin/deno";
const BUILD_DIR = "bench/.build";

const [entry, ...args] = Deno.args;
if (entry === undefined || !entry.endsWith(".ts")) {
  throw new TypeError(
    `Cannot run under Node.js: the first argument must be a bench script (.ts), received ${entry}`,
  );
}
const name = entry.slice(entry.lastIndexOf("/") + 1, -".ts".length);
const bundle = `${BUILD_DIR}/${name}.mjs`;

const built = await new Deno.Command(DENO, {
  args: ["bundle", "--quiet", "--platform", "deno", "--output", bundle, entry],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!built.success) {
  throw new Error(
    `Cannot run under Node.js: deno bundle failed with code ${built.code}`,
  );
}

const node = new Deno.Command("node", {
  args: ["--expose-gc", bundle, ...args],
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
// Ended by SIGTERM (the deadline of `all.ts`), pass it on: the bundle, and
// through it any process it started, end too.
const passOn = (): void => node.kill("SIGTERM");
Deno.addSignalListener("SIGTERM", passOn);
const ran = await node.status;
Deno.removeSignalListener("SIGTERM", passOn);
Deno.exit(ran.code);
