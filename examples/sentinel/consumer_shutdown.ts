/// <reference lib="deno.worker" />
/** examples/sentinel, part 3: no sentinel; the loop ends when the queue is shut down and empty. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const remote = await connect<{ jobs: Queue<number> }>(self);
const consumed: number[] = [];
for await (const item of remote.jobs) {
  consumed.push(item);
  await remote.jobs.taskDone();
}
await remote.close();
self.postMessage({ finished: consumed });
self.close();
