/// <reference lib="deno.worker" />
/** examples/isolation: writes to its own copy of state.ts, and sends the same values through the queue. */
import type { Queue } from "@baton/baton";
import { connect } from "@baton/baton/worker";
import { notes } from "./state.ts";

const seenAtStart = notes.length; // 0: main's note is not in this thread's copy

const remote = await connect<{ mail: Queue<string> }>(self);
for (const fruit of ["apple", "banana", "cherry"]) {
  notes.push(fruit); // changes this worker's copy only
  await remote.mail.put(fruit); // this is what reaches the main thread
}
await remote.close();
self.postMessage({ finished: { seenAtStart, notes } });
self.close();
