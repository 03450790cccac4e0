/// <reference lib="deno.worker" />
/** examples/periodic-timer: counts up to 5, one step per tick. */
import type { Condition, Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const remote = await connect<{ tick: Condition; lines: Queue<{ who: string; value: number }> }>(
  self,
);
await remote.tick.acquire();
await remote.lines.put({ who: "countup", value: 0 }); // ready; wait() below releases the lock
for (let n = 1; n <= 5; n++) {
  await remote.tick.wait(); // one tick; holds the lock again afterwards
  await remote.lines.put({ who: "countup", value: n });
}
await remote.tick.release();
await remote.close();
self.postMessage({ finished: 5 });
self.close();
