/**
 * The portable Redis checks of `tests/runtimes/redis.ts` on Deno, each with
 * a fresh server. `deno task test:runtimes` runs the same checks, bundled
 * from `src/redis/mod.ts`, on Node and Bun.
 *
 * @module
 */

import { checks } from "./runtimes/redis.ts";
import { withRedisServer } from "./fixtures/redis_server.ts";

for (const check of checks) {
  Deno.test(`${check.name} (portable check)`, () =>
    withRedisServer((path) => check.run({ path, db: 0 })));
}
