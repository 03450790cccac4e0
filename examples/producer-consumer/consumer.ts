/// <reference lib="deno.worker" />
/** examples/producer-consumer: takes items until the queue is shut down and empty. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const remote = await connect<{ items: Queue<number> }>(self);
const consumed: number[] = [];
for await (const item of remote.items) {
  await sleep(2); // the consumer is the slower side
  consumed.push(item);
  await remote.items.taskDone();
}
await remote.close();
self.postMessage({ finished: consumed });
self.close();
