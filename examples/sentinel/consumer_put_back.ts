/// <reference lib="deno.worker" />
/** examples/sentinel, part 2: puts the sentinel back before stopping, so the other consumers see it. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const remote = await connect<{ jobs: Queue<number | null> }>(self);
const consumed: number[] = [];
while (true) {
  const item = await remote.jobs.get();
  await remote.jobs.taskDone();
  if (item === null) {
    await remote.jobs.put(null); // for the next consumer
    break;
  }
  consumed.push(item);
}
await remote.close();
self.postMessage({ finished: consumed });
self.close();
