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

for (const check of checks) {
  // Ignored where Deno's compatibility layer differs from Node (the reason is in the check).
  Deno.test({
    name: `${check.name} (Deno's node:worker_threads)`,
    ignore: check.notOnDeno !== undefined,
    fn: () => check.run(module),
  });
}
