/// <reference lib="deno.worker" />
/** examples/joinable: puts five items, then waits in join() until they are processed. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const remote = await connect<{ jobs: Queue<string> }>(self);
const produced: string[] = [];
for (let n = 1; n <= 5; n++) {
  const item = `${self.name}/${n}`;
  await remote.jobs.put(item);
  produced.push(item);
}
await remote.jobs.join(); // returns once every item put so far is marked done
await remote.close();
self.postMessage({ finished: produced });
self.close();
