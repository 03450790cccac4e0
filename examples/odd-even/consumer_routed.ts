/** examples/odd-even, routed: its own queue holds only its numbers. */
import type { RemoteQueue } from "@baton/baton/worker";
import type { Taken } from "./consumer_naive.ts";

export default async function consumer(
  mine: RemoteQueue<number>,
  report: RemoteQueue<Taken>,
): Promise<void> {
  const taken: number[] = [];
  for await (const n of mine) {
    taken.push(n);
    await mine.taskDone();
  }
  await report.put({ taken, putBack: 0 });
}
