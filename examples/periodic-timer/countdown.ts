/** examples/periodic-timer: counts down from `nticks`, one step per tick. */
import type { RemoteCondition, RemoteQueue } from "@baton/baton/worker";

/** A line for the main thread to print. */
export interface Line {
  who: "countdown" | "countup";
  value: number;
}

export default async function countdown(
  tick: RemoteCondition,
  lines: RemoteQueue<Line>,
  nticks: number,
): Promise<void> {
  await tick.acquire();
  await lines.put({ who: "countdown", value: 0 }); // ready; wait() below releases the lock
  while (nticks > 0) {
    await tick.wait(); // one tick; holds the lock again afterwards
    await lines.put({ who: "countdown", value: nticks });
    nticks--;
  }
  await tick.release();
}
