/** examples/flow-control: a slow consumer that checks a running flag between get({ timeout }) calls. */
import { QueueEmpty } from "@baton/baton";
import type { RemoteEvent, RemoteQueue } from "@baton/baton/worker";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export default async function consumer(
  jobs: RemoteQueue<number>,
  stop: RemoteEvent,
  consumed: RemoteQueue<number>,
): Promise<void> {
  while (!(await stop.isSet())) { // Python's `while running:`, with the flag shared by the main thread
    let item: number;
    try {
      item = await jobs.get({ timeout: 50 });
    } catch (error) {
      if (!(error instanceof QueueEmpty)) throw error;
      continue; // nothing came: check the flag again
    }
    await sleep(10); // slow work
    await consumed.put(item);
    await jobs.taskDone();
  }
}
