/** examples/handshake: processes each item, then sets the item's Event. */
import type { RemoteEvent, RemoteQueue } from "@baton/baton/worker";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export default async function consumer(
  jobs: RemoteQueue<unknown>,
  processed: RemoteQueue<number>,
): Promise<void> {
  for await (const item of jobs) {
    const [n, data, evt] = item as [number, string, RemoteEvent];
    await sleep(20); // the work
    console.log(`consumer: processed item ${n} (${data}), setting its Event`);
    await processed.put(n);
    await evt.set(); // the producer's Event, through its proxy
    await jobs.taskDone();
  }
}
