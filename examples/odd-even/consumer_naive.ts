/// <reference lib="deno.worker" />
/** examples/odd-even, naive: takes from the shared queue and puts back what is not its own. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const wanted = self.name === "odd" ? 1 : 0;
// prefetch: 0, so this consumer does not hoard numbers that the other one needs.
const remote = await connect<{ numbers: Queue<number> }>(self, { prefetch: 0 });
const taken: number[] = [];
let putBack = 0;
for await (const n of remote.numbers) {
  if (n % 2 !== wanted) {
    await remote.numbers.put(n); // not mine: back to the end of the line
    putBack++;
    // Back off a random moment: without it, each consumer can keep getting back the
    // number it just put back while the other does the same (a livelock).
    await sleep(Math.random() * 3);
  } else {
    taken.push(n);
  }
  await remote.numbers.taskDone();
}
await remote.close();
self.postMessage({ finished: { taken, putBack } });
self.close();
