/** examples/sentinel, part 1: stops at the first sentinel; each consumer needs its own. */
import type { RemoteQueue } from "@baton/baton/worker";

export default async function consumer(
  jobs: RemoteQueue<number | null>,
  consumed: RemoteQueue<number>,
): Promise<void> {
  while (true) {
    const item = await jobs.get();
    await jobs.taskDone();
    if (item === null) break; // the sentinel: stop
    await consumed.put(item);
  }
}
