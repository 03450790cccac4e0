/** examples/joinable: a daemon consumer. It never stops by itself; it ends with the program. */
import { currentProcess, type RemoteQueue } from "@baton/baton/worker";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export default async function consumer(
  jobs: RemoteQueue<string>,
  processed: RemoteQueue<{ item: string; by: string }>,
): Promise<void> {
  const by = currentProcess().name;
  for await (const item of jobs) {
    await sleep(5); // the work
    await processed.put({ item, by });
    await jobs.taskDone(); // after the result is out: join() then means "results are in"
  }
}
