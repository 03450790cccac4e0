/// <reference lib="deno.worker" />
/** examples/priority: puts its four [priority, task] pairs; task names are `<producer><n>`. */
import type { PriorityQueue } from "@baton/baton";
import { connect } from "@baton/baton/worker";

const PRIORITIES: Record<string, number[]> = { A: [2, 1, 2, 3], B: [1, 3, 1, 2], C: [3, 2, 1, 1] };

const remote = await connect<{ tasks: PriorityQueue<[number, string]> }>(self);
const priorities = PRIORITIES[self.name] ?? [];
for (const [index, priority] of priorities.entries()) {
  await remote.tasks.put([priority, `${self.name}${index + 1}`]);
}
await remote.close();
self.postMessage({ finished: priorities.length });
self.close();
