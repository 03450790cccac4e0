/**
 * semaphore: eight processes, one task each, share a `BoundedSemaphore(5)`
 * that lives in the main thread: at most five "connections" are open at
 * once, and the others wait their turn. Each task reports when
 * it opens and closes its connection through a `Queue`, and the main thread
 * prints the live count as it changes.
 *
 * Python: `threading.BoundedSemaphore(maxconnections)` limiting eight
 * threads to five concurrent connections (the program acquires before it
 * starts each thread and the thread releases; here each task holds its
 * permit for the length of its work, as `with sem: ...` does).
 *
 * Run: deno task example:semaphore
 */
import { BoundedSemaphore, Queue } from "@baton/baton";
import { Process } from "@baton/baton/worker";
import type { Change, default as showfun } from "./worker.ts";

const TASKS = 8;
const LIMIT = 5;

const connections = new BoundedSemaphore(LIMIT);
const changes = new Queue<Change>();
const tasks = Array.from(
  { length: TASKS },
  (_, i) =>
    new Process<typeof showfun>(new URL("./worker.ts", import.meta.url), {
      args: [connections, changes],
      name: `task-${i + 1}`,
    }),
);
for (const t of tasks) t.start();

let live = 0;
let maxLive = 0;
const counts: number[] = [];
for (let i = 0; i < 2 * TASKS; i++) { // every task opens and closes once
  const change = await changes.get();
  live += change.open ? 1 : -1;
  maxLive = Math.max(maxLive, live);
  counts.push(live);
}
const codes = await Promise.all(tasks.map((t) => t.join()));
const ran = codes.filter((code) => code === 0).length; // targets that returned

console.log(`${TASKS} tasks in ${TASKS} processes, at most ${LIMIT} connections at once`);
console.log(`live connections: ${counts.join(" ")}`);
console.log(
  `summary: tasks=${ran} max_live=${maxLive} limit=${LIMIT} free_at_end=${connections.value}`,
);
