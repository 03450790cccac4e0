/**
 * W-15 on Deno's own `node:worker_threads`: the checks of
 * `tests/runtimes/node_threads.ts` (a Queue served to a `worker_threads`
 * Worker and on a Node `MessagePort`, a Lock released when its holder's
 * thread exits). `deno task test:runtimes` runs the same checks on Node and
 * Bun.
 *
 * @module
 */

import { checks } from "./runtimes/node_threads.ts";

const module = new URL("./runtimes/node_threads.ts", import.meta.url);

/**
 * Under `deno test --coverage` (which sets DENO_COVERAGE_DIR), a
 * `worker_threads` Worker whose module has run to its end never exits by
 * itself (measured with Deno 2.9.6: a one-line worker still runs after 60 s),
 * so the checks that wait for a thread's own exit cannot run there. They run
 * in `deno task test`, and on Node and Bun in `deno task test:runtimes`.
 */
const underCoverage = Deno.env.get("DENO_COVERAGE_DIR") !== undefined;

for (const check of checks) {
  // Ignored where Deno's compatibility layer differs from Node (the reason is in the check).
  Deno.test({
    name: `${check.name} (Deno's node:worker_threads)`,
    ignore: check.notOnDeno !== undefined || (underCoverage && check.waitsForExit === true),
    fn: () => check.run(module),
  });
}
