/** examples/sentinel, part 3: no sentinel; the loop ends when the queue is shut down and empty. */
import type { RemoteQueue } from "@baton/baton/worker";

export default async function consumer(
  jobs: RemoteQueue<number>,
  consumed: RemoteQueue<number>,
): Promise<void> {
  for await (const item of jobs) {
    await consumed.put(item);
    await jobs.taskDone();
  }
}
