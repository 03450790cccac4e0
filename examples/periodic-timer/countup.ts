/** examples/periodic-timer: counts up to `last`, one step per tick. */
import type { RemoteCondition, RemoteQueue } from "@baton/baton/worker";
import type { Line } from "./countdown.ts";

export default async function countup(
  tick: RemoteCondition,
  lines: RemoteQueue<Line>,
  last: number,
): Promise<void> {
  await tick.acquire();
  await lines.put({ who: "countup", value: 0 }); // ready; wait() below releases the lock
  let n = 0;
  while (n < last) {
    await tick.wait(); // one tick; holds the lock again afterwards
    n++;
    await lines.put({ who: "countup", value: n });
  }
  await tick.release();
}
