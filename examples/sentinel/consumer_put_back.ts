/** examples/sentinel, part 2: puts the sentinel back before stopping, so the other consumers see it. */
import type { RemoteQueue } from "@baton/baton/worker";

export default async function consumer(
  jobs: RemoteQueue<number | null>,
  consumed: RemoteQueue<number>,
): Promise<void> {
  while (true) {
    const item = await jobs.get();
    await jobs.taskDone();
    if (item === null) {
      await jobs.put(null); // for the next consumer
      break;
    }
    await consumed.put(item);
  }
}
