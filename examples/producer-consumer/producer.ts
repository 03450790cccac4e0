/** examples/producer-consumer: puts `n` numbers (waiting while the queue is full), then shuts it down. */
import type { RemoteQueue } from "@baton/baton/worker";

export default async function producer(
  items: RemoteQueue<number>,
  n: number,
  produced: RemoteQueue<number>,
): Promise<void> {
  for (let i = 1; i <= n; i++) {
    await items.put(i); // waits while the queue is full
    await produced.put(i);
  }
  // No sentinel needed: the consumer gets what is left, then its loop ends.
  await items.shutdown();
}
