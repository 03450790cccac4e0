/** examples/handshake: sends each item with an Event made for it, then waits for that Event. */
import { Event } from "@baton/baton";
import type { RemoteQueue } from "@baton/baton/worker";

export default async function producer(
  jobs: RemoteQueue<unknown>,
  items: number,
  confirmed: RemoteQueue<number>,
): Promise<void> {
  for (let n = 1; n <= items; n++) {
    const evt = new Event();
    console.log(`producer: sent item ${n}, waiting for its Event`);
    await jobs.put([n, `payload ${n}`, evt]); // the Event travels inside the item
    await evt.wait(); // returns once the consumer has set it
    console.log(`producer: item ${n} was processed`);
    await confirmed.put(n);
  }
  await jobs.shutdown(); // ends the consumer's loop
}
