/// <reference lib="deno.worker" />
/** examples/sentinel, part 1: stops at the first sentinel; each consumer needs its own. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const remote = await connect<{ jobs: Queue<number | null> }>(self);
const consumed: number[] = [];
while (true) {
  const item = await remote.jobs.get();
  await remote.jobs.taskDone();
  if (item === null) break; // the sentinel: stop
  consumed.push(item);
}
await remote.close();
self.postMessage({ finished: consumed });
self.close();
