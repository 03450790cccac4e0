/** examples/isolation: writes to its own copy of state.ts, and sends the same values through the queue. */
import type { RemoteQueue } from "@baton/baton/worker";
import { notes } from "./state.ts";

export default async function work(
  mail: RemoteQueue<string>,
  report: RemoteQueue<{ seenAtStart: number; notes: string[] }>,
): Promise<void> {
  const seenAtStart = notes.length; // 0: main's note is not in this process's copy
  for (const fruit of ["apple", "banana", "cherry"]) {
    notes.push(fruit); // changes this process's copy only
    await mail.put(fruit); // this is what reaches the main thread
  }
  await report.put({ seenAtStart, notes }); // what this process saw, for the summary
}
