/// <reference lib="deno.worker" />
/** examples/producer-consumer: puts numbered items, then shuts the queue down. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const ITEMS = 20;

const remote = await connect<{ items: Queue<number> }>(self);
const produced: number[] = [];
for (let n = 1; n <= ITEMS; n++) {
  await remote.items.put(n); // waits while the queue is full
  produced.push(n);
}
// No sentinel needed: the consumer gets what is left, then its loop ends.
await remote.items.shutdown();
await remote.close();
self.postMessage({ finished: produced });
self.close();
