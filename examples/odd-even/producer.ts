/// <reference lib="deno.worker" />
/** examples/odd-even: puts the numbers 1 to 20. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const remote = await connect<{ numbers: Queue<number> }>(self);
for (let n = 1; n <= 20; n++) await remote.numbers.put(n);
await remote.close();
self.postMessage({ finished: 20 });
self.close();
