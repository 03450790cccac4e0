/// <reference lib="deno.worker" />
/** examples/odd-even, routed: its own queue holds only its numbers. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const remote = await connect<{ mine: Queue<number> }>(self);
const taken: number[] = [];
for await (const n of remote.mine) {
  taken.push(n);
  await remote.mine.taskDone();
}
await remote.close();
self.postMessage({ finished: { taken, putBack: 0 } });
self.close();
