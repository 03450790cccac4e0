/** examples/producer-consumer: takes items until the queue is shut down and drained. */
import type { RemoteQueue } from "@baton/baton/worker";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export default async function consumer(
  items: RemoteQueue<number>,
  consumed: RemoteQueue<number>,
): Promise<void> {
  for await (const item of items) {
    await sleep(2); // the consumer is the slower side
    await consumed.put(item);
    await items.taskDone();
  }
}
